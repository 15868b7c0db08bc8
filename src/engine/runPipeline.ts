/**
 * `runPipeline`: the one generic orchestrator. It runs a pipeline definition as a DAG — whenever
 * steps are ready (dependencies succeeded) it starts them, each retrying by its own policy with
 * durable timers — then retries the whole run (only what did not succeed) and ends with `finishRun`.
 *
 * Orchestrator code is replayed from history on every wake-up, so everything here is a pure
 * function of the history: time comes from `context.df.currentUtcDateTime`, jitter from a hash.
 *
 * A ready step with nothing else in flight runs inline (cheapest history: the seed pipeline is a
 * chain). Otherwise steps run as `runPipelineStep` sub-orchestrations (batched beyond 10,
 * fanOut.ts) that raise `stepDone` to this run when they end; see runRound, and stepRoutine.ts for
 * why a running task is never put into a second `Task.any`. Every wait races a fresh `cancel` event waiter and, when the pipeline has a `timeout`, a fresh deadline timer.
 */
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import type { FailureInfo } from '../core/errors';
import type { JsonObject } from '../core/json';
import { formatDuration } from '../pipelines/duration';
import type { StepDefinition } from '../pipelines/schema';
import { ACTIVITY_NAMES, STEP_DONE_EVENT, type ReconcileRunAnswer } from '../steps/protocol';
import { dateAt, isoAt } from './clock';
import { admitWithinLimits, endAwaited, pendingIndex, readySteps, unreachableSteps } from './dag';
import { readTaskFailure } from './failure';
import { DEFAULT_POLLS_PER_EXECUTION } from './pollStep';
import { fanOutGroups, fanOutTasks, waveResults, waveStepInstanceId, type WaveRun, type WaveStep } from './fanOut';
import type { StepDoneEvent } from './stepDone';
import { fittedWhenSerialized, forCustomStatus } from './customStatus';
import { RunTracker } from './state';
import { cancelPolledJobs, cancelTimers, createStepEnv, drive, isDone, runStepRoutine, type StepEnv } from './stepRoutine';
import type { RunCarry, RunInput, RunState, StepState } from './types';
import { acquirePools, releasePools, runClaimId } from './pools';

/** Name of the external event that cancels a run (`raiseEvent(runId, CANCEL_EVENT, { reason })`). */
export const CANCEL_EVENT = 'cancel';

/**
 * Input of the `finishRun` activity. No alerts or title: the activity takes them from the deployed
 * definition, so a crafted run cannot send its summary to a webhook of its choosing.
 */
export interface FinishRunInput {
  readonly run: RunState;
  readonly trigger: RunInput['trigger'];
  readonly parameters: JsonObject;
}

type Stop = { readonly kind: 'cancelled'; readonly reason?: string } | { readonly kind: 'timedOut' };

interface Interrupts {
  /** Fresh waiters for one wait: the cancel event first, then the deadline timer if any. */
  make(): readonly Task[];
  /** What a fired interrupt means. */
  read(fired: Task): Stop;
}

function interruptsFor(context: OrchestrationContext, deadlineMs: number | undefined): Interrupts {
  const df = context.df;
  const cancels = new Set<Task>();
  return {
    make() {
      const cancel = df.waitForExternalEvent(CANCEL_EVENT);
      cancels.add(cancel);
      return deadlineMs === undefined ? [cancel] : [cancel, df.createTimer(dateAt(deadlineMs))];
    },
    read(fired) {
      return cancels.has(fired) ? { kind: 'cancelled', ...cancelReason(fired) } : { kind: 'timedOut' };
    },
  };
}

function cancelReason(event: Task): { reason?: string } {
  const payload = event.result;
  if (typeof payload === 'string' && payload !== '') return { reason: payload };
  if (typeof payload === 'object' && payload !== null && typeof (payload as { reason?: unknown }).reason === 'string') {
    return { reason: (payload as { reason: string }).reason };
  }
  return {};
}

// ── Waves of ready steps ─────────────────────────────────────────────────────────────────────────

/** Runs one ready step inline; returns the stop if an interrupt fired. */
function* runOne(env: StepEnv, step: StepDefinition, interrupts: Interrupts): Generator<Task, Stop | undefined, unknown> {
  const fired = yield* drive(env, runStepRoutine(env, step), () => interrupts.make());
  return fired ? interrupts.read(fired) : undefined;
}

/** Step id → instance id of the `runPipelineStep` running it, for the steps of a round in flight. */
type InFlight = Map<string, string>;

/** A sub-orchestration the run started, with the steps it runs and their instances. */
interface Started {
  readonly task: Task;
  readonly members: readonly { readonly id: string; readonly instanceId: string }[];
}

/**
 * How often a run with steps in flight wakes on its own to take results whose notice never came
 * (stepDone.ts): a quarter of an hour, on the clock, so every wait in one quarter shares the instant.
 */
export const CHECK_IN_MS = 15 * 60_000;

const nextCheckIn = (nowMs: number): number => (Math.floor(nowMs / CHECK_IN_MS) + 1) * CHECK_IN_MS;

/**
 * Starts steps as sub-orchestrations (batched beyond `FAN_OUT`, fanOut.ts). The ones this run
 * awaits directly send a `stepDone` notice when they end; a step inside a batch node sends its own
 * only when another step waits for its end (`endAwaited`), else its batch reports it.
 */
function startSteps(env: StepEnv, input: RunInput, steps: readonly StepDefinition[], inFlight: InFlight): Started[] {
  const { tracker } = env;
  const run: WaveRun = {
    runId: input.runId,
    pipelineName: input.pipeline.name,
    definitionVersion: input.definitionVersion,
    parameters: input.parameters,
    trigger: input.trigger,
    maxPollsPerExecution: env.maxPollsPerExecution,
    reportTo: env.context.df.instanceId,
  };
  const states = steps.map((step) => ({ step, state: tracker.step(step.id) }));
  for (const { step, state } of states) {
    inFlight.set(step.id, waveStepInstanceId(input.runId, { step, state }));
    tracker.running(step.id);
  }
  const pending = pendingIndex(input.pipeline.steps, (id) => tracker.status(id));
  // Each group is one task of this run: a step, or a batch node that reports its steps together.
  const groups: WaveStep[][] = fanOutGroups(states).map((group) => {
    const ids = group.map((w) => w.step.id);
    return group.map((w) => ({ ...w, notify: endAwaited(w.step, pending, input.pipeline, ids) }));
  });
  const tasks = fanOutTasks(env.context, run, groups.flat(), true);
  env.publish();
  env.log(`steps ${steps.map((s) => s.id).join(', ')} started`);
  return groups.map((group, i) => {
    const task = tasks[i];
    if (!task) throw new Error('fan-out returned fewer tasks than groups');
    return { task, members: group.map((w) => ({ id: w.step.id, instanceId: waveStepInstanceId(input.runId, w) })) };
  });
}

/** Takes a finished step's state, once: a second notice of the same step (or a stale one) is ignored. */
function settle(env: StepEnv, inFlight: InFlight, state: StepState, instanceId: string): void {
  if (inFlight.get(state.id) !== instanceId) return;
  inFlight.delete(state.id);
  env.tracker.replace(state);
}

/** Takes what a finished sub-orchestration returned (its notice may have come first, or never). */
function settleTask(env: StepEnv, inFlight: InFlight, { task, members }: Started): void {
  if (task.isFaulted) {
    // A step sub-orchestration never fails by design; if one crashed, its steps fail with the reason.
    const failure = readTaskFailure(task.result);
    for (const { id, instanceId } of members) {
      if (inFlight.get(id) !== instanceId) continue;
      inFlight.delete(id);
      env.tracker.stepFailed(id, failure);
    }
    return;
  }
  const states = waveResults([task.result]);
  members.forEach(({ instanceId }, i) => {
    const state = states[i];
    if (state) settle(env, inFlight, state, instanceId);
  });
}

/**
 * Waits `runPipeline` makes in one execution before it continues as new (an inline step counts as
 * one). Each wait adds a handful of history events (the sub-orchestrations it started and their completions, a notice, timers),
 * and every wake-up replays the execution's whole history: bounding the waits bounds what a
 * wake-up replays, so a run's replay work grows linearly with its steps, however many there are.
 */
export const WAITS_PER_EXECUTION = 40;

/** Waits made so far in this execution. */
interface Budget {
  waits: number;
}

const CONTINUE = { kind: 'continue' } as const;
type RoundEnd = Stop | typeof CONTINUE | undefined;

/**
 * Before continuing as new: takes every notice already delivered (durable-js hands a pending event
 * to the next waiter at once), until a timer due now wins. A notice or a cancel that lands in the
 * very episode that continues is dropped by the extension; `reconcile` finds those.
 */
function* drainNotices(env: StepEnv, inFlight: InFlight, interrupts: Interrupts): Generator<Task, Stop | undefined, unknown> {
  const df = env.context.df;
  for (;;) {
    const signal = df.waitForExternalEvent(STEP_DONE_EVENT);
    const settleTimer = df.createTimer(dateAt(env.nowMs()));
    const fresh = interrupts.make();
    yield df.Task.any([signal, settleTimer, ...fresh]);
    const fired = fresh.find(isDone);
    cancelTimers([settleTimer, ...fresh]);
    if (fired) return interrupts.read(fired);
    if (!isDone(signal)) return undefined;
    for (const { instanceId, state } of (signal.result as StepDoneEvent).results) settle(env, inFlight, state, instanceId);
  }
}

/**
 * Asks activity `reconcileRun` after steps started by an earlier execution (their sub-orchestrations
 * report their completion to it, and their notices may have been dropped) and after a cancel whose
 * event may have been dropped.
 */
const askReconcile = (env: StepEnv, input: RunInput, instanceIds: readonly string[]): Task =>
  env.context.df.callActivity(ACTIVITY_NAMES.reconcileRun, { runId: input.runId, instanceIds });

/** Takes what `reconcileRun` answered; returns the stop when a cancel was requested. */
function takeReconciled(env: StepEnv, inFlight: InFlight, task: Task): Stop | undefined {
  if (task.isFaulted) {
    env.log(`reading the steps of earlier executions failed (the next check-in asks again): ${readTaskFailure(task.result).message}`);
    return undefined;
  }
  const answer = task.result as ReconcileRunAnswer;
  for (const { instanceId, state } of answer.results) {
    if (isStepState(state)) settle(env, inFlight, state, instanceId);
  }
  for (const { instanceId, message } of answer.failed) {
    const id = [...inFlight].find(([, running]) => running === instanceId)?.[0];
    if (id === undefined) continue;
    inFlight.delete(id);
    env.tracker.stepFailed(id, { class: 'permanent', message });
  }
  return answer.cancelRequestedAt === null ? undefined : { kind: 'cancelled' };
}

/**
 * A continued execution's first question, before any `stepDone` waiter exists: a notice arriving
 * meanwhile is kept for the first waiter (durable-js `deferredTasks`). Later questions ride in a
 * wait of `runRound` beside a fresh waiter instead: while the run awaits anything else, a notice
 * would go to the newest *earlier* waiter — external-event waiters are a stack (`openEvents`) — and
 * be lost with it.
 */
function* reconcile(env: StepEnv, input: RunInput, inFlight: InFlight, instanceIds: readonly string[]): Generator<Task, Stop | undefined, unknown> {
  const task = askReconcile(env, input, instanceIds);
  try {
    yield task;
  } catch {
    // read from the task below
  }
  return takeReconciled(env, inFlight, task);
}

function isStepState(value: unknown): value is StepState {
  return typeof value === 'object' && value !== null && typeof (value as { id?: unknown }).id === 'string' && Array.isArray((value as { attempts?: unknown }).attempts);
}

/**
 * Runs the DAG until nothing more can start; returns the stop if an interrupt fired.
 *
 * A step starts the moment its own dependencies succeed: whenever one ends, everything it unblocked
 * starts, within `maxParallel` and the groups' limits. Alone (nothing else in flight) a step runs
 * inline; otherwise it runs in a sub-orchestration and the run learns its end from a `stepDone`
 * notice (stepDone.ts). Every wait is `Task.any` of fresh tasks only — the sub-orchestrations
 * started just now, a new `stepDone` waiter, a check-in timer, the interrupts — never a task
 * yielded before (Azure/azure-functions-durable-js#574, see stepRoutine.ts). Tasks yielded before
 * are still completed by their history events, so after every wake-up the run also reads the ones
 * that finished: a lost notice costs at most one check-in (`CHECK_IN_MS`), never a hung run.
 */
function* runRound(env: StepEnv, input: RunInput, interrupts: Interrupts, inFlight: InFlight, budget: Budget): Generator<Task, RoundEnd, unknown> {
  const { tracker } = env;
  const df = env.context.df;
  const steps = input.pipeline.steps;
  const byId = new Map(steps.map((s) => [s.id, s]));
  const status = (id: string) => tracker.status(id);
  let open: Started[] = [];
  /** A check-in found steps of earlier executions still running: ask after them at the next wait. */
  let askAfter: string[] = [];
  let asking: Task | undefined;
  for (;;) {
    for (const id of unreachableSteps(steps, status)) tracker.skip(id);
    const ready = readySteps(steps, status).flatMap((id) => byId.get(id) ?? []);
    const running = [...inFlight.keys()].flatMap((id) => byId.get(id) ?? []);
    // Steps in flight hold their slots; ready steps left out start when one frees.
    const admitted = admitWithinLimits([...running, ...ready], input.pipeline).filter((s) => !inFlight.has(s.id));
    const [only] = admitted;
    if (inFlight.size === 0 && !only) {
      env.publish();
      return undefined;
    }
    if (budget.waits >= WAITS_PER_EXECUTION) {
      // History bound reached: take the notices already delivered, then hand over (see above).
      const stop = inFlight.size > 0 ? yield* drainNotices(env, inFlight, interrupts) : undefined;
      return stop ?? CONTINUE;
    }
    if (inFlight.size === 0 && only && admitted.length === 1) {
      const stop = yield* runOne(env, only, interrupts);
      // An inline step writes about as much history as a wait of the loop below.
      budget.waits++;
      if (stop) return stop;
      continue;
    }
    const started = admitted.length > 0 ? startSteps(env, input, admitted, inFlight) : [];
    open = [...open, ...started];
    const signal = df.waitForExternalEvent(STEP_DONE_EVENT);
    const checkIn = df.createTimer(dateAt(nextCheckIn(env.nowMs())));
    const fresh = interrupts.make();
    const ask = askAfter.length > 0 ? askReconcile(env, input, askAfter) : undefined;
    if (ask) [asking, askAfter] = [ask, []];
    yield df.Task.any([...started.map((s) => s.task), ...(ask ? [ask] : []), signal, checkIn, ...fresh]);
    budget.waits++;
    const fired = fresh.find(isDone);
    cancelTimers([checkIn, ...fresh]);
    if (fired) return interrupts.read(fired);
    if (isDone(signal)) for (const { instanceId, state } of (signal.result as StepDoneEvent).results) settle(env, inFlight, state, instanceId);
    for (const entry of open) if (isDone(entry.task)) settleTask(env, inFlight, entry);
    open = open.filter((entry) => !isDone(entry.task));
    if (asking && isDone(asking)) {
      const stop = takeReconciled(env, inFlight, asking);
      asking = undefined;
      if (stop) return stop;
    }
    if (isDone(checkIn) && !asking) {
      // Steps started by an earlier execution have no task here: ask after them.
      const tracked = new Set(open.flatMap((entry) => entry.members.map((m) => m.instanceId)));
      askAfter = [...inFlight.values()].filter((instanceId) => !tracked.has(instanceId));
    }
    env.publish();
  }
}

/** Marks what was in flight as cancelled, skips the rest, and asks polled jobs to stop. */
function* stopRun(env: StepEnv, input: RunInput, stop: Stop): Generator<Task, void, unknown> {
  const { tracker } = env;
  const error: FailureInfo =
    stop.kind === 'cancelled' ? { class: 'cancelled', message: 'run cancelled' } : { class: 'timeout', message: 'run exceeded its timeout' };
  const now = env.nowMs();
  for (const step of input.pipeline.steps) {
    const s = tracker.status(step.id);
    if (s === 'running' || s === 'waiting') tracker.interrupt(step.id, now, error);
    else if (s === 'pending') tracker.skip(step.id);
  }
  env.publish();
  yield* cancelPolledJobs(env, stop.kind === 'cancelled' ? 'cancelled' : 'timeout');
}

// ── The orchestrator ─────────────────────────────────────────────────────────────────────────────

export interface RunPipelineOptions {
  /** Polls per execution of the polling sub-orchestration before it continues as new. */
  readonly maxPollsPerExecution?: number;
}

export function createRunPipeline(options: RunPipelineOptions = {}): OrchestrationHandler {
  const maxPollsPerExecution = options.maxPollsPerExecution ?? DEFAULT_POLLS_PER_EXECUTION;
  return function* runPipeline(context: OrchestrationContext): Generator<Task, RunState, unknown> {
    const df = context.df;
    const input = df.getInput<RunInput>();
    const { carry } = input;
    const startedMs = carry?.startedMs ?? df.currentUtcDateTime.getTime();
    const tracker = new RunTracker(input, startedMs);
    if (carry) {
      for (const state of carry.steps) tracker.replace(state);
      tracker.pipelineAttempt = carry.pipelineAttempt;
    }
    const env = createStepEnv(
      context,
      { runId: input.runId, pipelineName: input.pipeline.name, definitionVersion: input.definitionVersion, parameters: input.parameters, trigger: input.trigger },
      tracker,
      {
        maxPollsPerExecution,
        publish: () => {
          const snapshot = tracker.snapshot('running');
          df.setCustomStatus(fittedWhenSerialized(() => forCustomStatus(snapshot)));
        },
      },
    );
    env.publish();
    const timeout = input.pipeline.timeout;
    const interrupts = interruptsFor(context, timeout === undefined ? undefined : startedMs + timeout * 1000);

    let retriesLeft = carry?.retriesLeft ?? input.pipeline.pipelineRetry.retries;
    const budget: Budget = { waits: 0 };
    let inFlight: InFlight = new Map(Object.entries(carry?.inFlight ?? {}));
    // A continued execution first asks after what its predecessor could not hear (reconcile): its
    // steps in flight, and a cancel dropped with the last episode.
    let stop: Stop | undefined = carry ? yield* reconcile(env, input, inFlight, [...inFlight.values()]) : undefined;
    // Run-level pools (pools.ts): taken before the first step; a continued execution holds them already.
    const runPools = input.pipeline.pools ?? [];
    if (!carry && runPools.length > 0) {
      const fired = yield* drive(
        env,
        acquirePools(env, runPools, runClaimId(input.runId), (wait) => {
          tracker.poolWait = wait;
          env.publish();
        }),
        () => interrupts.make(),
      );
      tracker.poolWait = undefined;
      env.publish();
      if (fired) stop = interrupts.read(fired);
    }
    for (;;) {
      if (stop) break;
      const end = yield* runRound(env, input, interrupts, inFlight, budget);
      if (end?.kind === 'continue') {
        const next: RunCarry = {
          startedMs,
          pipelineAttempt: tracker.pipelineAttempt,
          retriesLeft,
          steps: tracker.snapshot('running').steps,
          inFlight: Object.fromEntries(inFlight),
          continued: (carry?.continued ?? 0) + 1,
        };
        env.log(`history bound reached: continuing as new (execution ${next.continued + 1}), ${inFlight.size} steps in flight`);
        df.continueAsNew({ ...input, carry: next } satisfies RunInput);
        return tracker.snapshot('running');
      }
      stop = end;
      inFlight = new Map();
      if (stop || !firstFailed(input, tracker) || retriesLeft <= 0) break;
      // A permanent failure (bad credentials, missing secret, SQL that does not compile) fails the
      // same way on every run: waiting `delay` for it only hides it, unless the definition says so.
      if (!input.pipeline.pipelineRetry.retryPermanent && onlyPermanentFailures(input, tracker)) break;
      retriesLeft--;
      const delay = input.pipeline.pipelineRetry.delay;
      env.log(`run failed; pipeline retry in ${delay}s (${retriesLeft} left after this one)`);
      const retryAtMs = env.nowMs() + delay * 1000;
      // The wait is part of the run's state, so every view can say "pipeline attempt 2 at 02:10".
      tracker.pipelineRetry = { attempt: tracker.pipelineAttempt + 1, at: isoAt(retryAtMs) };
      env.publish();
      const timer = df.createTimer(dateAt(retryAtMs));
      const fresh = interrupts.make();
      yield df.Task.any([timer, ...fresh]);
      const fired = fresh.find(isDone);
      cancelTimers(fresh);
      tracker.pipelineRetry = undefined;
      if (fired) {
        stop = interrupts.read(fired);
        break;
      }
      tracker.resetUnsucceeded();
      tracker.pipelineAttempt++;
    }
    if (stop) yield* stopRun(env, input, stop);
    // Every slot and place the run and its steps hold, whatever ended it (success, failure, cancel, timeout).
    yield* releasePools(env, poolsOf(input.pipeline));

    const final = finalState(input, tracker, stop, env.nowMs());
    df.setCustomStatus(fittedWhenSerialized(() => forCustomStatus(final)));
    env.log(`run ${final.status}${final.error ? `: ${final.error.message}` : ''}`);
    const finish: FinishRunInput = { run: final, trigger: input.trigger, parameters: input.parameters };
    try {
      yield df.callActivity(ACTIVITY_NAMES.finishRun, finish);
    } catch (error) {
      // The run's outcome stands even if recording it failed; the output still carries it.
      env.log(`finishRun failed (ignored): ${readTaskFailure(error).message}`);
    }
    return final;
  };
}

/** Every pool a pipeline names, run-level and step-level. */
function poolsOf(pipeline: RunInput['pipeline']): string[] {
  return [...new Set([...(pipeline.pools ?? []), ...pipeline.steps.flatMap((s) => s.pools ?? [])])];
}

function firstFailed(input: RunInput, tracker: RunTracker): { id: string; error?: FailureInfo } | undefined {
  for (const step of input.pipeline.steps) {
    const state = tracker.step(step.id);
    if (state.status === 'failed') return { id: step.id, ...(state.error ? { error: state.error } : {}) };
  }
  return undefined;
}

function onlyPermanentFailures(input: RunInput, tracker: RunTracker): boolean {
  const failed = input.pipeline.steps.map((s) => tracker.step(s.id)).filter((s) => s.status === 'failed');
  return failed.length > 0 && failed.every((s) => s.error?.class === 'permanent');
}

function finalState(input: RunInput, tracker: RunTracker, stop: Stop | undefined, nowMs: number): RunState {
  if (stop?.kind === 'cancelled') {
    return tracker.snapshot('cancelled', nowMs, { class: 'cancelled', message: stop.reason ? `run cancelled: ${stop.reason}` : 'run cancelled' });
  }
  if (stop?.kind === 'timedOut') {
    const limit = formatDuration(input.pipeline.timeout ?? 0);
    return tracker.snapshot('failed', nowMs, { class: 'timeout', message: `run exceeded its timeout of ${limit}` });
  }
  const failed = firstFailed(input, tracker);
  if (!failed) return tracker.snapshot('succeeded', nowMs);
  const error = failed.error ?? { class: 'permanent' as const, message: `step "${failed.id}" failed` };
  return tracker.snapshot('failed', nowMs, { ...error, stepId: failed.id });
}

export const runPipeline: OrchestrationHandler = createRunPipeline();
