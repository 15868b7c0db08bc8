/**
 * Runs a scenario on the real engine: the development host on its virtual clock, the app's
 * orchestrators and step activities (test/orchestration/engineHarness.ts), and
 *
 * - a step service scripted by the scenario (`ScenarioAdapter`): each start call answers at once or
 *   starts a job that really ends at its scripted instant (polls before it answer "running" with the
 *   time left), and every call is logged with its virtual instant — the truth the model is
 *   conditioned on;
 * - the app's `notifyStepDone` behind a gate that loses the notices the scenario drops (every retry
 *   of them fails, as when storage is unreachable);
 * - cancels sent the two ways the docs offer: the API's cancel route over the app's own cancel
 *   store (TableRunStore on Azurite — the store `reconcileRun` reads too, as src/functions wires
 *   it), or a raw Durable `cancel` event.
 *
 * Each scenario gets a fresh host, so it starts at the same instant however many ran before it.
 */
import type { DurableClient } from 'durable-functions';
import { createRoutes, type Route } from '../../../src/api/routes';
import type { ApiDeps } from '../../../src/api/ports';
import { cursorSigner, processCursorKey } from '../../../src/api/cursors';
import { KEY_CALLER } from '../../../src/auth/roles';
import { notifyStepDone } from '../../../src/activities/notifyStepDone';
import { PermanentError, RetryAfterError, TransientError } from '../../../src/core/errors';
import type { JsonObject } from '../../../src/core/json';
import type { RunState } from '../../../src/engine/types';
import { loadCatalog } from '../../../src/pipelines/catalog';
import type { StepDefinition } from '../../../src/pipelines/schema';
import type { AttemptRecord } from '../../../src/runs/recorder';
import { createRunStore, type TableRunStore } from '../../../src/runs/tableStore';
import { createRunStoreTables } from '../../../src/runs/tables';
import { startAzurite, type AzuriteInstance } from '../../../src/standins/azurite';
import type { StepAdapter, StepContext } from '../../../src/steps/adapter';
import type { StepOutcome } from '../../../src/steps/protocol';
import { START, startEngineHost, type EngineHost } from '../engineHarness';
import type { AttemptScript, Scenario } from './model';
import { parametersOf, pipelineOf } from './scenario';

/** Name of the cancel event the engine README documents (`raiseEvent(runId, 'cancel', { reason })`). */
const CANCEL_EVENT = 'cancel';
/** The notice event the engine README documents (`stepDone`, `{ results: [{ instanceId, state }] }`). */
const STEP_DONE_EVENT = 'stepDone';
/** After the run ends the clock keeps going this long, so attempts started after the end show up. */
export const AFTER_END_MS = 12 * 3600_000;

/** What really happened and what the engine reported, in ms from the run's start. */
export interface Actual {
  readonly runtimeStatus: string;
  readonly state?: RunState;
  /** The run store's attempts (what activities recorded). */
  readonly store: readonly AttemptRecord[];
  readonly starts: ReadonlyMap<string, readonly number[]>;
  /** `cancelStep` calls: the job's step, its call number (= attempt), when. */
  readonly stops: readonly { readonly stepId: string; readonly call: number; readonly at: number }[];
  readonly cancelAt?: number;
  readonly noticesDropped: number;
  readonly executions: number;
  /** The driver's own trouble: the run did not end, or the orchestration failed. */
  readonly problem?: string;
}

interface Job {
  readonly stepId: string;
  readonly call: number;
  readonly end: number;
  readonly script: AttemptScript;
  cancelled: boolean;
}

export interface RunLog {
  readonly scenario: Scenario;
  readonly origin: number;
  readonly calls: Map<string, number>;
  readonly starts: Map<string, number[]>;
  readonly stops: { stepId: string; call: number; at: number }[];
  readonly jobs: Map<string, Job>;
  noticesDropped: number;
  cancelAt?: number;
  cancelling?: Promise<void>;
}

/** The step service of every scenario run, by run id. */
export class ScenarioAdapter implements StepAdapter {
  readonly runs = new Map<string, RunLog>();
  /** Raises the scenario's cancel (set by the driver). */
  raiseCancel: (runId: string) => Promise<void> = () => Promise.resolve();

  constructor(private readonly now: () => Date) {}

  private run(ctx: StepContext): RunLog {
    const run = this.runs.get(ctx.runId);
    if (!run) throw new PermanentError(`no scenario for run ${ctx.runId}`);
    return run;
  }

  async start(step: StepDefinition, ctx: StepContext): Promise<StepOutcome> {
    const run = this.run(ctx);
    const spec = run.scenario.steps.find((s) => s.id === step.id);
    if (!spec) throw new PermanentError(`no step ${step.id} in the scenario`);
    const call = (run.calls.get(step.id) ?? 0) + 1;
    run.calls.set(step.id, call);
    const now = this.now().getTime();
    run.starts.set(step.id, [...(run.starts.get(step.id) ?? []), now - run.origin]);
    const plan = run.scenario.cancel?.at;
    if (plan?.kind === 'atStart' && plan.stepId === step.id && plan.call === call) await this.raiseCancel(ctx.runId);
    const script = spec.script[call - 1] ?? spec.after;
    if (script.seconds === 0) return answer(step.id, script);
    const job = `${ctx.runId}/${step.id}/${call}`;
    run.jobs.set(job, { stepId: step.id, call, end: now + script.seconds * 1000, script, cancelled: false });
    return { status: 'running', handle: { job }, pollAfterSeconds: script.seconds };
  }

  async poll(_step: StepDefinition, handle: JsonObject, ctx: StepContext): Promise<StepOutcome> {
    const run = this.run(ctx);
    const job = run.jobs.get(jobKey(handle));
    if (!job) throw new PermanentError(`unknown job ${JSON.stringify(handle)}`);
    if (job.cancelled) throw new PermanentError(`job ${jobKey(handle)} was cancelled`);
    const now = this.now().getTime();
    if (now < job.end) return { status: 'running', handle, pollAfterSeconds: Math.ceil((job.end - now) / 1000) };
    const plan = run.scenario.cancel?.at;
    if (plan?.kind === 'atPollEnd' && plan.stepId === job.stepId && plan.call === job.call) await this.raiseCancel(ctx.runId);
    return answer(job.stepId, job.script);
  }

  cancel(_step: StepDefinition, handle: JsonObject, ctx: StepContext): Promise<void> {
    const run = this.run(ctx);
    const job = run.jobs.get(jobKey(handle));
    if (job) {
      job.cancelled = true;
      run.stops.push({ stepId: job.stepId, call: job.call, at: this.now().getTime() - run.origin });
    }
    return Promise.resolve();
  }
}

function jobKey(handle: JsonObject): string {
  const job = handle['job'];
  return typeof job === 'string' ? job : JSON.stringify(job);
}

function answer(stepId: string, script: AttemptScript): Promise<StepOutcome> {
  if (script.outcome === 'succeeded') return Promise.resolve({ status: 'succeeded', output: { step: stepId } });
  if (script.outcome === 'permanent') return Promise.reject(new PermanentError(`${stepId}: HTTP 401 Unauthorized`));
  if (script.retryAfterSeconds !== undefined) return Promise.reject(new RetryAfterError(`${stepId}: HTTP 429 Too Many Requests`, script.retryAfterSeconds));
  return Promise.reject(new TransientError(`${stepId}: HTTP 503 Service Unavailable`));
}

/** The step ids a `stepDone` notice carries (`{ results: [{ instanceId, state: { id } }] }`). */
function stepsOf(data: unknown): string[] {
  const results = (data as { results?: unknown } | undefined)?.results;
  if (!Array.isArray(results)) return [];
  return results.flatMap((r: unknown) => {
    const id = (r as { state?: { id?: unknown } } | undefined)?.state?.id;
    return typeof id === 'string' ? [id] : [];
  });
}

/** The Durable client `notifyStepDone` gets: raising `stepDone` fails for dropped steps. */
function gatedClient(client: DurableClient, adapter: ScenarioAdapter): DurableClient {
  const gated = Object.create(client) as DurableClient;
  gated.raiseEvent = async (instanceId: string, eventName: string, eventData: unknown, options?: Parameters<DurableClient['raiseEvent']>[3]): Promise<void> => {
    const run = adapter.runs.get(instanceId);
    const ids = eventName === STEP_DONE_EVENT ? stepsOf(eventData) : [];
    const plan = run?.scenario.cancel?.at;
    if (run && plan?.kind === 'beforeNotice' && ids.includes(plan.stepId)) await adapter.raiseCancel(instanceId);
    const drops = run?.scenario.drops;
    if (run && drops && (drops.kind === 'all' || (drops.kind === 'steps' && ids.some((id) => drops.steps.includes(id))))) {
      run.noticesDropped++;
      throw new Error('storage unreachable (the differential scenario drops this notice)');
    }
    await client.raiseEvent(instanceId, eventName, eventData, options);
    if (run && plan?.kind === 'afterNotice' && ids.includes(plan.stepId)) await adapter.raiseCancel(instanceId);
  };
  return gated;
}

export interface DifferentialRig {
  readonly azurite: AzuriteInstance;
  readonly store: TableRunStore;
  stop(): Promise<void>;
}

/** Azurite and the app's run store, shared by every scenario (run ids never repeat). */
export async function startRig(): Promise<DifferentialRig> {
  const azurite = await startAzurite({ blob: false });
  const store = createRunStore({ tables: createRunStoreTables({ connectionString: azurite.connectionString }, `diff${process.pid}`) });
  return { azurite, store, stop: () => azurite.stop() };
}

let runCounter = 0;

/** Runs `scenario` on a fresh engine host; returns what happened and what the engine reported. */
export async function runOnEngine(rig: DifferentialRig, scenario: Scenario, options: { timeoutMs?: number } = {}): Promise<Actual> {
  let adapter: ScenarioAdapter | undefined;
  const engine: EngineHost = await startEngineHost({
    adapter: (now) => (adapter = new ScenarioAdapter(now)),
    notifyStepDone: (input, client) => notifyStepDone(input, gatedClient(client, adapter!)),
    store: rig.store,
    // The first question of a continued execution: an `atReconcile` cancel is raised once that
    // answer has read the cancel store, so it lands with the answer (Azure/durabletask#1399).
    afterReconcile: async (input, answer) => {
      if (adapter?.runs.get(input.runId)?.scenario.cancel?.at.kind === 'atReconcile') await adapter.raiseCancel(input.runId);
      return answer;
    },
  });
  try {
    const runId = `${scenario.name}-${process.pid}-${++runCounter}`;
    const origin = engine.host.now().getTime();
    if (origin !== START.getTime()) throw new Error('a fresh host starts at START');
    const log: RunLog = { scenario, origin, calls: new Map(), starts: new Map(), stops: [], jobs: new Map(), noticesDropped: 0 };
    const deps = apiDeps(rig.store, engine);
    const cancelRoute = createRoutes(deps).find((r) => r.name === 'cancelRun');
    if (!cancelRoute) throw new Error('no cancelRun route');
    const raise = async (): Promise<void> => {
      if (log.cancelAt !== undefined) return;
      log.cancelAt = engine.host.now().getTime() - origin;
      await sendCancel(scenario.cancel?.via ?? 'event', runId, engine, cancelRoute);
    };
    adapter!.runs.set(runId, log);
    // From inside an activity (tied cancels) a refused cancel must not fail the activity.
    adapter!.raiseCancel = (id) => (id === runId ? raise().catch(() => undefined) : Promise.resolve());

    const parameters = parametersOf(scenario);
    await engine.start(pipelineOf(scenario, runId), runId, Object.keys(parameters).length === 0 ? undefined : { parameters });
    const plan = scenario.cancel?.at;
    if (plan?.kind === 'instant') {
      await engine.host.advance(plan.seconds * 1000);
      // A run that already ended refuses the cancel (409 / no instance waiting): nothing to model.
      await raise().catch(() => undefined);
    }
    let problem: string | undefined;
    let runtimeStatus = 'unknown';
    let state: RunState | undefined;
    try {
      const status = await engine.host.waitFor(runId, { timeoutMs: options.timeoutMs ?? 120_000 });
      runtimeStatus = String(status.runtimeStatus);
      if (runtimeStatus === 'Completed') state = status.output as RunState;
      else problem = `orchestration ${runtimeStatus}: ${JSON.stringify(status.output).slice(0, 400)}`;
      // Anything still running after the end (a step retrying on its own) shows up in the log.
      await engine.host.advance(AFTER_END_MS);
    } catch (error) {
      problem = `the run did not end: ${(error as Error).message}`;
    }
    const store = [...engine.recorder.attempts.values()].filter((a) => a.runId === runId);
    return {
      runtimeStatus,
      ...(state ? { state } : {}),
      store,
      starts: log.starts,
      stops: log.stops,
      ...(log.cancelAt === undefined ? {} : { cancelAt: log.cancelAt }),
      noticesDropped: log.noticesDropped,
      executions: engine.host.executions(runId).length,
      ...(problem === undefined ? {} : { problem }),
    };
  } finally {
    await engine.stop();
  }
}

export async function sendCancel(via: 'api' | 'event', runId: string, engine: EngineHost, route: Route): Promise<void> {
  if (via === 'event') {
    await engine.host.client.raiseEvent(runId, CANCEL_EVENT, { reason: 'differential check' });
    return;
  }
  const response = await route.handle(
    { method: 'POST', url: `http://localhost/api/runs/${runId}/cancel`, headers: new Headers(), query: new URLSearchParams(), params: { runId }, text: () => Promise.resolve('') },
    KEY_CALLER,
  );
  if (response.status !== 202) throw new Error(`cancel answered ${response.status}: ${JSON.stringify(response.jsonBody ?? response.body)}`);
}

/** The API's dependencies as the app builds them (src/api/fromServices.ts), over the Azurite store. */
export function apiDeps(store: TableRunStore, engine: EngineHost): ApiDeps {
  return {
    catalog: loadCatalog([]),
    runs: store,
    starts: store,
    schedules: store,
    idempotency: store,
    cancels: store,
    cursors: cursorSigner(processCursorKey()),
    durable: engine.host.client,
    health: [],
    now: () => engine.host.now(),
    randomSuffix: () => 'abcdef',
  };
}
