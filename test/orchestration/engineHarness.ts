/**
 * A development host serving the engine's orchestrators and the step activities over scriptable
 * fake adapters, on a virtual clock. Registrations are built here (not through src/functions/*), so
 * each test gets its own adapters and recorder.
 *
 * Runs start and are cancelled the way the API does it, against the store the app uses (the Table
 * run store on Azurite): `startRunOnce` writes the run's record before the orchestration starts,
 * a cancel is recorded (`claimCancel`) before its event is raised, and `reconcileRun`, `stopSteps`
 * and every activity read that same store.
 */
import { resolveParameters, runFactsAt } from '../../src/pipelines/parameters';
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { OrchestrationContext, OrchestrationHandler } from 'durable-functions';
import { clientActivityRegistration, type ClientActivityHandler, type Registration } from '../../src/app/registry';
import { startRunOnce } from '../../src/app/durableStarter';
import { collectRunState } from '../../src/activities/collectRunState';
import { notifyStepDone } from '../../src/activities/notifyStepDone';
import { reconcileRun } from '../../src/activities/reconcileRun';
import { stopSteps } from '../../src/activities/stopSteps';
import { acquirePoolSlot, releasePoolSlots, type PoolActivityDeps } from '../../src/pools/activities';
import { createStepActivities, type UserStepHandler } from '../../src/activities';
import { callerOf, stopPollingWith } from '../../src/functions/activities';
import type { RunEvent } from '../../src/notify/event';
import { DevHost } from '../../src/devhost';
import { CANCEL_EVENT, engineOrchestrators, type RunInput, type RunPipelineOptions, type RunState } from '../../src/engine';
import { createLogger } from '../../src/logging/logger';
import { loadCatalog } from '../../src/pipelines/catalog';
import { pipelineInputs } from '../../src/pipelines/definitions';
import { pipelineSchema, type PipelineDefinition, type PipelineInput } from '../../src/pipelines/schema';
import { definitionVersion } from '../../src/pipelines/version';
import { abandonedOver, answerOver, recordStepByStep, type AttemptRecord, type LogLine, type RunRecord, type RunRecorder, type RunWrite } from '../../src/runs/recorder';
import { createRunStore, type TableRunStore } from '../../src/runs/tableStore';
import { createRunStoreTables } from '../../src/runs/tables';
import { startAzurite } from '../../src/standins/azurite';
import { ACTIVITY_NAMES, type ReconcileRunAnswer, type ReconcileRunInput } from '../../src/steps/protocol';
import type { StepAdapter } from '../../src/steps/adapter';
import { FakeAdapter } from '../support/fakeAdapters';
import { createPipelineAdapter } from '../../src/steps/pipeline/adapter';
import { wakeParentAfterFinish } from '../../src/steps/pipeline/wakeParent';

export const START = new Date('2026-03-02T01:00:00.000Z');

export class MemoryRecorder implements RunRecorder {
  readonly runs = new Map<string, Partial<RunRecord>>();
  readonly attempts = new Map<string, AttemptRecord>();
  readonly logs: LogLine[] = [];
  upsertRun(run: Partial<RunRecord> & Pick<RunRecord, 'runId' | 'pipeline'>): Promise<void> {
    this.runs.set(run.runId, { ...this.runs.get(run.runId), ...run });
    return Promise.resolve();
  }
  recordAttempt(attempt: AttemptRecord): Promise<void> {
    // As the Table store: a `running` attempt is inserted only, never over one that ended.
    const key = `${attempt.runId}/${attempt.stepId}/${attempt.attempt}`;
    if (attempt.status !== 'running' || !this.attempts.has(key)) this.attempts.set(key, attempt);
    return Promise.resolve();
  }
  recordAbandoned(attempt: AttemptRecord): Promise<void> {
    const key = `${attempt.runId}/${attempt.stepId}/${attempt.attempt}`;
    this.attempts.set(key, abandonedOver(this.attempts.get(key), attempt));
    return Promise.resolve();
  }
  recordAnswer(attempt: AttemptRecord): Promise<void> {
    const key = `${attempt.runId}/${attempt.stepId}/${attempt.attempt}`;
    this.attempts.set(key, answerOver(this.attempts.get(key), attempt));
    return Promise.resolve();
  }
  appendLogs(_runId: string, lines: readonly LogLine[]): Promise<void> {
    this.logs.push(...lines);
    return Promise.resolve();
  }
  record(write: RunWrite): Promise<void> {
    return recordStepByStep(this, write);
  }
}

/** Writes to the app's store and keeps a copy in memory, for tests to read without a round trip. */
function teeRecorder(store: TableRunStore, memory: MemoryRecorder): RunRecorder {
  return {
    upsertRun: async (run) => {
      await store.upsertRun(run);
      await memory.upsertRun(run);
    },
    recordAttempt: async (attempt) => {
      await store.recordAttempt(attempt);
      await memory.recordAttempt(attempt);
    },
    recordAbandoned: async (attempt) => {
      await store.recordAbandoned(attempt);
      await memory.recordAbandoned(attempt);
    },
    recordAnswer: async (attempt) => {
      await store.recordAnswer(attempt);
      await memory.recordAnswer(attempt);
    },
    appendLogs: async (runId, lines) => {
      await store.appendLogs(runId, lines);
      await memory.appendLogs(runId, lines);
    },
    record: async (write) => {
      await store.record(write);
      await memory.record(write);
    },
  };
}

export interface EngineHost {
  readonly host: DevHost;
  readonly fake: FakeAdapter;
  /** What activities recorded, in memory (the same writes went to `store`). */
  readonly recorder: MemoryRecorder;
  /** The app's run store (Table Storage on Azurite): run records, cancel requests, attempts. */
  readonly store: TableRunStore;
  readonly alerts: RunEvent[];
  readonly registrations: readonly Registration[];
  /** Adds pipelines to the host's deployed catalog without starting them (children of `pipeline` steps). */
  deploy(...pipelines: PipelineDefinition[]): void;
  /** Starts a run of `pipeline` with instance id `runId`, as the API does (its record first). */
  start(pipeline: PipelineDefinition, runId: string, extra?: Partial<Pick<RunInput, 'trigger' | 'parameters' | 'resumeFrom'>>): Promise<void>;
  /** Starts a run and waits for it to finish; returns the final run state (the output). */
  run(pipeline: PipelineDefinition, runId: string, extra?: Partial<Pick<RunInput, 'trigger' | 'parameters' | 'resumeFrom'>>): Promise<RunState>;
  /** Cancels a run the way the API does. */
  cancel(runId: string, reason: string): Promise<void>;
  stop(): Promise<void>;
}

export interface EngineHostOptions extends Omit<RunPipelineOptions, 'definitions'> {
  readonly hostJson?: unknown;
  /** User activities for `kind: 'activity'` steps, by registered name. */
  readonly userActivities?: Readonly<Record<string, UserStepHandler>>;
  /** Loses every wake a child run raises to its parent's pipeline step (src/steps/pipeline/wakeParent.ts). */
  readonly dropWakes?: boolean;
  /** Stands in for the `notifyStepDone` activity (to lose notices); the app's by default. */
  readonly notifyStepDone?: ClientActivityHandler;
  /**
   * Runs after each `reconcileRun` computed its answer, before it is returned: to land events in
   * the same batch as it, or to answer as a read that raced with a step's end would have.
   */
  readonly afterReconcile?: (input: ReconcileRunInput, answer: ReconcileRunAnswer) => Promise<ReconcileRunAnswer>;
  /** Development host options passed through (e.g. `continueAsNewEvents`). */
  readonly devHost?: Partial<Parameters<typeof DevHost.start>[0]>;
  /** The step service for every kind, given the host's clock; the scriptable `fake` by default. */
  readonly adapter?: (now: () => Date) => StepAdapter;
  /**
   * The app's run store to use (records, cancels, attempts) — shared by many hosts; by default each
   * host starts Azurite and a store of its own.
   */
  readonly store?: TableRunStore;
  /** The shared pools' ledger and definitions: registers acquirePoolSlot / releasePoolSlots. */
  readonly pools?: Omit<PoolActivityDeps, 'now'>;
}

export function seedPipeline(): PipelineDefinition {
  const seed = loadCatalog(pipelineInputs).get('data-pipeline');
  if (!seed) throw new Error('seed pipeline missing from the catalog');
  return seed;
}

/** A Snowflake connection block for test pipelines (secret names only). */
export const snowflakeConnection = {
  account: { secret: 'snowflake-account' },
  user: { secret: 'snowflake-user' },
  auth: { type: 'keyPair' as const, privateKey: { secret: 'snowflake-private-key' } },
  warehouse: 'WH',
  database: 'DB',
  schema: 'RAW',
};

/** A validated pipeline from a short definition (test-only shapes). */
export function pipeline(input: PipelineInput): PipelineDefinition {
  return pipelineSchema.parse(input);
}

/**
 * Wraps an orchestrator so that yielding a task that was already yielded inside a *new*
 * `Task.any`/`Task.all` throws. The Durable extension's out-of-proc shim would schedule such a task
 * a second time (Azure/azure-functions-durable-js#574); the development host does not show it.
 */
export function guardFreshCompounds(handler: OrchestrationHandler): OrchestrationHandler {
  return function* guarded(context: OrchestrationContext) {
    const yielded = new WeakSet<object>();
    const leaves = (task: object): object[] => {
      const children = (task as { children?: unknown }).children;
      return Array.isArray(children) ? (children as unknown[]).flatMap((c) => (typeof c === 'object' && c !== null ? leaves(c) : [])) : [task];
    };
    const gen = handler(context);
    let next = gen.next();
    while (!next.done) {
      const task = next.value as object;
      const parts = leaves(task);
      if (parts.length > 1 || parts[0] !== task) {
        if (parts.some((leaf) => yielded.has(leaf))) throw new Error('a running task was yielded again inside a new Task.any/Task.all (durable-js#574)');
      }
      for (const leaf of parts) yielded.add(leaf);
      let result: unknown;
      try {
        result = yield next.value;
      } catch (error) {
        next = gen.throw(error);
        continue;
      }
      next = gen.next(result);
    }
    return next.value;
  };
}

export async function startEngineHost(options: EngineHostOptions = {}): Promise<EngineHost> {
  const clock: { now: () => Date } = { now: () => START };
  const fake = new FakeAdapter(() => clock.now());
  const adapter = options.adapter?.(() => clock.now()) ?? fake;
  const recorder = new MemoryRecorder();
  const azurite = options.store ? undefined : await startAzurite({ blob: false });
  const store = options.store ?? createRunStore({ tables: createRunStoreTables({ connectionString: azurite?.connectionString ?? '' }, 'engine'), now: () => clock.now() });
  const alerts: RunEvent[] = [];
  // The pipelines this host has started, as its "deployed catalog": activities look steps up here,
  // the orchestrators find definitions by version.
  const deployed = new Map<string, PipelineDefinition>();
  const byVersion = new Map<string, PipelineDefinition>();
  const quiet = createLogger({ level: 'silent' });
  const activities = createStepActivities({
    catalog: { get: (name) => deployed.get(name) },
    // `pipeline` steps start real child runs in this host, through the activity's Durable client.
    adapters: { azureFunction: adapter, snowflake: adapter, dbt: adapter, pipeline: createPipelineAdapter({ catalog: { get: (name) => deployed.get(name) }, store, now: () => clock.now() }) },
    secrets: { get: (name) => Promise.resolve(`value-of-${name}`), invalidate: () => undefined },
    settings: (name) => `setting-${name}`,
    recorder: teeRecorder(store, recorder),
    records: store,
    notifier: {
      notify: (event) => {
        alerts.push(event);
        return Promise.resolve();
      },
    },
    logger: quiet,
    clock: () => clock.now(),
  });
  const registrations: Registration[] = [
    ...engineOrchestrators({ ...options, definitions: { get: (version) => byVersion.get(version) } }).map((o) => ({ kind: 'orchestration' as const, name: o.name, handler: guardFreshCompounds(o.handler) })),
    clientActivityRegistration(ACTIVITY_NAMES.startStep, (input, client, context) => activities.startStep(input, callerOf(context), client)),
    clientActivityRegistration(ACTIVITY_NAMES.pollStep, (input, client, context) => activities.pollStep(input, callerOf(context), client)),
    clientActivityRegistration(ACTIVITY_NAMES.cancelStep, (input, client, context) => activities.cancelStep(input, callerOf(context), stopPollingWith(client), client)),
    // As the app registers it (src/functions/activities.ts): the end recorded, then a child run wakes its parent's step.
    clientActivityRegistration(ACTIVITY_NAMES.finishRun, async (input, client, context) => {
      await activities.finishRun(input, callerOf(context));
      if (!options.dropWakes) await wakeParentAfterFinish(input, client, quiet);
    }),
    clientActivityRegistration(ACTIVITY_NAMES.notifyStepDone, options.notifyStepDone ?? ((input, client, context) => notifyStepDone(input, client, callerOf(context)))),
    clientActivityRegistration(ACTIVITY_NAMES.reconcileRun, async (input, client, context) => {
      const answer = await reconcileRun(input, client, store, callerOf(context));
      return options.afterReconcile ? options.afterReconcile(input as ReconcileRunInput, answer) : answer;
    }),
    clientActivityRegistration(ACTIVITY_NAMES.stopSteps, (input, client, context) => stopSteps(input, client, store, callerOf(context))),
    clientActivityRegistration(ACTIVITY_NAMES.collectRunState, (input, client, context) => collectRunState(input, client, callerOf(context))),
    ...(options.pools
      ? [
          clientActivityRegistration(ACTIVITY_NAMES.acquirePool, (input, client, context) => acquirePoolSlot(input, client, { ...options.pools!, now: () => clock.now() }, callerOf(context))),
          clientActivityRegistration(ACTIVITY_NAMES.releasePools, (input, client, context) => releasePoolSlots(input, client, { ...options.pools!, now: () => clock.now() }, callerOf(context))),
        ]
      : []),
    ...Object.entries(options.userActivities ?? {}).map(([name, handler]) => ({
      kind: 'activity' as const,
      name,
      handler: (input: unknown, context: Parameters<typeof callerOf>[0]) => activities.wrapUserActivity(name, handler)(input, callerOf(context)),
    })),
  ];
  let host: DevHost;
  try {
    host = await DevHost.start({
      registrations,
      clock: 'virtual',
      startTime: START,
      httpPort: false,
      ...(options.hostJson === undefined ? {} : { hostJson: options.hostJson }),
      ...options.devHost,
    });
  } catch (error) {
    await azurite?.stop();
    throw error;
  }
  clock.now = () => host.now();

  const deploy = (...pipelines: PipelineDefinition[]): void => {
    for (const p of pipelines) {
      deployed.set(p.name, p);
      byVersion.set(definitionVersion(p), p);
    }
  };
  const start = async (p: PipelineDefinition, runId: string, extra: Partial<Pick<RunInput, 'trigger' | 'parameters' | 'resumeFrom'>> = {}): Promise<void> => {
    deploy(p);
    // Parameters filled as the API fills them at start (defaults, the logical date of a manual run).
    const filled = resolveParameters(p, {}, {}, runFactsAt(host.now()));
    const parameters = extra.parameters ?? (filled.ok ? filled.parameters : {});
    await startRunOnce(host.client, { pipeline: p, runId, trigger: extra.trigger ?? { kind: 'manual' }, parameters, ...(extra.resumeFrom ? { resumeFrom: extra.resumeFrom } : {}) }, store);
  };
  return {
    host,
    fake,
    recorder,
    store,
    alerts,
    registrations,
    deploy,
    start,
    async run(p, runId, extra) {
      await start(p, runId, extra);
      // Virtual time runs as fast as the machine lets it: a shared machine may need minutes of wall time.
      const status = await host.waitFor(runId, { timeoutMs: 300_000 });
      if (String(status.runtimeStatus) !== 'Completed') throw new Error(`run ${runId} ended ${status.runtimeStatus}: ${JSON.stringify(status.output)}`);
      return status.output as RunState;
    },
    async cancel(runId, reason) {
      // The API's order (src/api/routes.ts cancelRun): the request is recorded, then raised.
      const claim = await store.claimCancel(runId, host.now().toISOString());
      if (claim.first) await host.client.raiseEvent(runId, CANCEL_EVENT, { reason, requestedAt: claim.requestedAt });
    },
    async stop() {
      try {
        await host.stop();
      } finally {
        await azurite?.stop();
      }
    },
  };
}

/** Seconds between two ISO instants or Dates. */
export function secondsBetween(a: Date | string, b: Date | string): number {
  return (new Date(b).getTime() - new Date(a).getTime()) / 1000;
}

/**
 * The determinism check: replays every finished execution of every instance the host ran from
 * scratch, wake-up by wake-up, and returns the differences between what the orchestrator asks for
 * now and what the history recorded.
 */
export async function replayMismatches(engine: EngineHost): Promise<string[]> {
  const { replayFromScratch } = await import('../../src/devhost');
  const handlers = new Map(engine.registrations.flatMap((r) => (r.kind === 'orchestration' ? [[r.name, r] as const] : [])));
  const problems: string[] = [];
  for (const id of engine.host.instanceIds()) {
    const status: string | undefined = engine.host.status(id)?.runtimeStatus;
    if (status !== 'Completed' && status !== 'Failed') continue;
    const registration = handlers.get(engine.host.orchestratorName(id));
    if (!registration) continue;
    for (const [n, execution] of engine.host.executions(id).entries()) {
      const report = await replayFromScratch(registration, execution, id);
      for (const m of report.mismatches) problems.push(`${id} execution ${n}: ${m}`);
    }
  }
  return problems;
}

/**
 * An engine host for the enclosing suite: started before its tests, and when they end every
 * finished run must replay from scratch to the same actions (the determinism guard).
 */
export function engineHostForSuite(options: EngineHostOptions = {}): () => EngineHost {
  let engine: EngineHost | undefined;
  before(async () => {
    engine = await startEngineHost(options);
  });
  after(async () => {
    if (!engine) return;
    try {
      assert.deepEqual(await replayMismatches(engine), []);
    } finally {
      await engine.stop();
    }
  });
  return () => {
    if (!engine) throw new Error('the engine host has not started');
    return engine;
  };
}
