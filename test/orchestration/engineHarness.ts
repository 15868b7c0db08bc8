/**
 * A development host serving the engine's orchestrators and the step activities over scriptable
 * fake adapters, on a virtual clock. Registrations are built here (not through src/functions/*), so
 * each test gets its own adapters and recorder.
 */
import { resolveParameters, runFactsAt } from '../../src/pipelines/parameters';
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { OrchestrationContext, OrchestrationHandler } from 'durable-functions';
import { clientActivityRegistration, type ClientActivityHandler, type Registration } from '../../src/app/registry';
import { notifyStepDone } from '../../src/activities/notifyStepDone';
import { reconcileRun } from '../../src/activities/reconcileRun';
import { acquirePoolSlot, releasePoolSlots, type PoolActivityDeps } from '../../src/pools/activities';
import { createStepActivities, type UserStepHandler } from '../../src/activities';
import type { RunEvent } from '../../src/notify/event';
import { DevHost } from '../../src/devhost';
import { engineOrchestrators, ORCHESTRATOR_NAMES, type RunInput, type RunPipelineOptions, type RunState } from '../../src/engine';
import { createLogger } from '../../src/logging/logger';
import { loadCatalog } from '../../src/pipelines/catalog';
import { pipelineInputs } from '../../src/pipelines/definitions';
import { pipelineSchema, type PipelineDefinition, type PipelineInput } from '../../src/pipelines/schema';
import { definitionVersion } from '../../src/pipelines/version';
import { recordStepByStep, type AttemptRecord, type LogLine, type RunRecord, type RunRecorder, type RunWrite } from '../../src/runs/recorder';
import { ACTIVITY_NAMES } from '../../src/steps/protocol';
import { FakeAdapter } from '../support/fakeAdapters';

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
    this.attempts.set(`${attempt.runId}/${attempt.stepId}/${attempt.attempt}`, attempt);
    return Promise.resolve();
  }
  appendLogs(_runId: string, lines: readonly LogLine[]): Promise<void> {
    this.logs.push(...lines);
    return Promise.resolve();
  }  record(write: RunWrite): Promise<void> {
    return recordStepByStep(this, write);
  }

}

export interface EngineHost {
  readonly host: DevHost;
  readonly fake: FakeAdapter;
  readonly recorder: MemoryRecorder;
  readonly alerts: RunEvent[];
  readonly registrations: readonly Registration[];
  /** Starts a run of `pipeline` with instance id `runId`. */
  start(pipeline: PipelineDefinition, runId: string, extra?: Partial<RunInput>): Promise<void>;
  /** Starts a run and waits for it to finish; returns the final run state (the output). */
  run(pipeline: PipelineDefinition, runId: string, extra?: Partial<RunInput>): Promise<RunState>;
  stop(): Promise<void>;
}

export interface EngineHostOptions extends RunPipelineOptions {
  readonly hostJson?: unknown;
  /** User activities for `kind: 'activity'` steps, by registered name. */
  readonly userActivities?: Readonly<Record<string, UserStepHandler>>;
  /** Stands in for the `notifyStepDone` activity (to lose notices); the app's by default. */
  readonly notifyStepDone?: ClientActivityHandler;
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
  const recorder = new MemoryRecorder();
  const alerts: RunEvent[] = [];
  // The pipelines this host has started, as its "deployed catalog": activities look steps up here.
  const deployed = new Map<string, PipelineDefinition>();
  const activities = createStepActivities({
    catalog: { get: (name) => deployed.get(name) },
    adapters: { azureFunction: fake, snowflake: fake, dbt: fake },
    secrets: { get: (name) => Promise.resolve(`value-of-${name}`), invalidate: () => undefined },
    settings: (name) => `setting-${name}`,
    recorder,
    notifier: {
      notify: (event) => {
        alerts.push(event);
        return Promise.resolve();
      },
    },
    logger: createLogger({ level: 'silent' }),
    clock: () => clock.now(),
  });
  const registrations: Registration[] = [
    ...engineOrchestrators(options).map((o) => ({ kind: 'orchestration' as const, name: o.name, handler: guardFreshCompounds(o.handler) })),
    { kind: 'activity', name: ACTIVITY_NAMES.startStep, handler: (input: unknown) => activities.startStep(input) },
    { kind: 'activity', name: ACTIVITY_NAMES.pollStep, handler: (input: unknown) => activities.pollStep(input) },
    { kind: 'activity', name: ACTIVITY_NAMES.cancelStep, handler: (input: unknown) => activities.cancelStep(input) },
    { kind: 'activity', name: ACTIVITY_NAMES.finishRun, handler: (input: unknown) => activities.finishRun(input) },
    clientActivityRegistration(ACTIVITY_NAMES.notifyStepDone, options.notifyStepDone ?? ((input, client) => notifyStepDone(input, client))),
    clientActivityRegistration(ACTIVITY_NAMES.reconcileRun, (input, client) => reconcileRun(input, client)),
    ...(options.pools
      ? [
          clientActivityRegistration(ACTIVITY_NAMES.acquirePool, (input, client) => acquirePoolSlot(input, client, { ...options.pools!, now: () => clock.now() })),
          clientActivityRegistration(ACTIVITY_NAMES.releasePools, (input, client) => releasePoolSlots(input, client, { ...options.pools!, now: () => clock.now() })),
        ]
      : []),
    ...Object.entries(options.userActivities ?? {}).map(([name, handler]) => ({ kind: 'activity' as const, name, handler: activities.wrapUserActivity(name, handler) })),
  ];
  const host = await DevHost.start({
    registrations,
    clock: 'virtual',
    startTime: START,
    httpPort: false,
    ...(options.hostJson === undefined ? {} : { hostJson: options.hostJson }),
  });
  clock.now = () => host.now();

  const start = async (p: PipelineDefinition, runId: string, extra: Partial<RunInput> = {}): Promise<void> => {
    deployed.set(p.name, p);
    // Parameters filled as the API fills them at start (defaults, the logical date of a manual run).
    const filled = resolveParameters(p, {}, {}, runFactsAt(host.now()));
    const input: RunInput = { pipeline: p, definitionVersion: definitionVersion(p), runId, trigger: { kind: 'manual' }, parameters: filled.ok ? filled.parameters : {}, ...extra };
    await host.client.startNew(ORCHESTRATOR_NAMES.runPipeline, { instanceId: runId, input });
  };
  return {
    host,
    fake,
    recorder,
    alerts,
    registrations,
    start,
    async run(p, runId, extra) {
      await start(p, runId, extra);
      const status = await host.waitFor(runId);
      if (String(status.runtimeStatus) !== 'Completed') throw new Error(`run ${runId} ended ${status.runtimeStatus}: ${JSON.stringify(status.output)}`);
      return status.output as RunState;
    },
    stop: () => host.stop(),
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
