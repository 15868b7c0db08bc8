/**
 * One step with its retries, written as a coroutine: it yields what it waits for (`Wait`) and a
 * driver turns each wait into a task to yield. The same coroutine runs inline in `runPipeline`
 * (one step at a time) and inside the `runPipelineStep` sub-orchestration (several at once).
 *
 * The driver builds every yielded `Task.any` from brand-new tasks only. The Durable extension's
 * out-of-process protocol (durable-functions 3.x) has no task ids: each child of a `Task.any` is
 * scheduled as new work, so re-yielding a task that is already running inside a new `Task.any`
 * would start the activity a second time (Azure/azure-functions-durable-js#574). A coroutine never
 * waits twice on the same task, and the driver asks for fresh interrupt tasks (cancel event, run
 * deadline timer) at every wait, which the extension's event stack and timers support.
 */
import type { OrchestrationContext, Task } from 'durable-functions';
import { RUN_ENDED_CODE, TimeoutError, type FailureInfo } from '../core/errors';
import type { Json, JsonObject } from '../core/json';
import { formatDuration } from '../pipelines/duration';
import type { StepDefinition } from '../pipelines/schema';
import { ACTIVITY_NAMES, type CancelActivityInput, type CancelStepAnswer, type RunTrigger, type StepActivityInput, type StepOutcome } from '../steps/protocol';
import { dateAt } from './clock';
import { readTaskFailure } from './failure';
import type { Interrupts } from './interrupts';
import { DEFAULT_POLLS_PER_EXECUTION, type PollOrchestratorInput } from './pollStep';
import { retryDelaySeconds, shouldRetry } from './retry';
import type { RunTracker } from './state';
import { ORCHESTRATOR_NAMES, type Stop } from './types';
import { acquirePools, PoolClosedError, releaseStepPools, stepClaimId } from './pools';

/** What a step coroutine waits for: one task (resumed with its value or its error) or a race (resumed with the winner). */
export type Wait = { readonly one: Task } | { readonly race: readonly Task[] };
/** Returns the stop when the run ended before the step did (a deadline passed, an activity refused). */
export type StepRoutine = Generator<Wait, Stop | undefined, unknown>;

export interface PolledJob {
  readonly input: StepActivityInput;
  readonly handle: JsonObject;
}

export interface StepEnv {
  readonly context: OrchestrationContext;
  readonly runId: string;
  readonly pipelineName: string;
  readonly definitionVersion: string;
  readonly parameters: JsonObject;
  readonly trigger: RunTrigger;
  readonly tracker: RunTracker;
  /** Steps currently following a polled job, so a cancel can stop the job. */
  readonly polling: Map<string, PolledJob>;
  /** The start call of the attempt in progress, until it answers (a job it starts must be stopped too). */
  starting: { readonly task: Task; readonly input: StepActivityInput } | undefined;
  readonly maxPollsPerExecution: number;
  /** The upstream values a step refers to, for its activity input (referenced.ts). */
  upstream(stepId: string): JsonObject | undefined;
  /** The item an item of a forEach step runs (items.ts). */
  item(stepId: string): Json | undefined;
  nowMs(): number;
  publish(): void;
  log(message: string): void;
}

export function isDone(task: Task): boolean {
  return task.isCompleted || task.isFaulted;
}

/** Instance id of a step attempt's polling sub-orchestration: unique per run, step and attempt. */
export function pollInstanceId(runId: string, stepId: string, attempt: number): string {
  return `${runId}:${stepId}:${attempt}`;
}

export function stepActivityName(step: StepDefinition): string {
  return step.kind === 'activity' ? step.activity : ACTIVITY_NAMES.startStep;
}

export function createStepEnv(
  context: OrchestrationContext,
  run: { runId: string; pipelineName: string; definitionVersion: string; parameters: JsonObject; trigger: RunTrigger },
  tracker: RunTracker,
  options: { maxPollsPerExecution?: number; publish?: () => void; upstream?: (stepId: string) => JsonObject | undefined; item?: (stepId: string) => Json | undefined },
): StepEnv {
  const df = context.df;
  return {
    context,
    ...run,
    tracker,
    polling: new Map(),
    starting: undefined,
    maxPollsPerExecution: options.maxPollsPerExecution ?? DEFAULT_POLLS_PER_EXECUTION,
    upstream: options.upstream ?? (() => undefined),
    item: options.item ?? (() => undefined),
    nowMs: () => df.currentUtcDateTime.getTime(),
    publish: options.publish ?? (() => undefined),
    log: (message) => {
      if (!df.isReplaying) context.log(`[${run.runId}] ${message}`);
    },
  };
}

// ── One attempt ──────────────────────────────────────────────────────────────────────────────────

/** `progress.started`: the start activity answered (the attempt began, whatever happens next). */
function* runAttempt(env: StepEnv, step: StepDefinition, input: StepActivityInput, startedMs: number, progress: { started: boolean }): Generator<Wait, StepOutcome, unknown> {
  const df = env.context.df;
  const deadlineMs = step.timeout === undefined ? undefined : startedMs + step.timeout * 1000;
  const call = df.callActivity(stepActivityName(step), input);
  let outcome: StepOutcome;
  env.starting = { task: call, input };
  try {
    if (deadlineMs === undefined) {
      outcome = (yield { one: call }) as StepOutcome;
    } else {
      const timer = df.createTimer(dateAt(deadlineMs));
      const winner = yield { race: [call, timer] };
      if (winner !== call) {
        // The activity keeps running somewhere; its late answer is ignored.
        throw new TimeoutError(`step "${step.id}" did not answer within its timeout of ${formatDuration(step.timeout ?? 0)}`);
      }
      if (!isDone(timer)) timer.cancel();
      if (call.isFaulted) throw call.result;
      outcome = call.result as StepOutcome;
    }
  } finally {
    env.starting = undefined;
  }
  progress.started = true;
  if (outcome.status === 'succeeded') return outcome;

  const pollInput: PollOrchestratorInput = {
    step: input,
    pollIntervalSeconds: step.pollInterval,
    ...(step.timeout === undefined ? {} : { timeoutSeconds: step.timeout }),
    handle: outcome.handle,
    pollAfterSeconds: outcome.pollAfterSeconds > 0 ? outcome.pollAfterSeconds : step.pollInterval,
    attemptStartedMs: startedMs,
    ...(deadlineMs === undefined ? {} : { deadlineMs }),
    polls: 0,
    maxPollsPerExecution: env.maxPollsPerExecution,
  };
  env.polling.set(step.id, { input, handle: outcome.handle });
  env.log(`step ${step.id} attempt ${input.attempt} started a long job; polling every ${pollInput.pollAfterSeconds}s`);
  try {
    const sub = df.callSubOrchestrator(ORCHESTRATOR_NAMES.pollStep, pollInput, pollInstanceId(input.runId, step.id, input.attempt));
    const done = (yield { one: sub }) as StepOutcome;
    env.polling.delete(step.id);
    return done;
  } catch (error) {
    env.polling.delete(step.id);
    throw error;
  }
}

// ── One step, with its retries ───────────────────────────────────────────────────────────────────

/** `count.used`: attempts made in this pipeline attempt so far (what the retry policy counts). */
export function* runStepRoutine(env: StepEnv, step: StepDefinition, due: () => Stop | undefined, count: { used: number } = { used: 0 }): StepRoutine {
  const { tracker } = env;
  for (let used = 1; ; used++) {
    count.used = used;
    // No attempt starts once the run's deadline has passed (a retry timer due at the same instant).
    const late = due();
    if (late) return late;
    const attempt = tracker.attemptCount(step.id) + 1;
    // Shared pools (src/engine/pools.ts): the attempt starts once it holds a slot of each; its
    // time in the queue is not part of its duration or its timeout.
    const pools = step.pools ?? [];
    const claimId = stepClaimId(env.runId, step.id, attempt);
    if (pools.length > 0) {
      try {
        yield* acquirePools(
          env,
          pools,
          claimId,
          (wait) => {
            tracker.waitingForPool(step.id, wait);
            env.publish();
          },
          step.id,
        );
      } catch (error) {
        const refused: FailureInfo = error instanceof PoolClosedError ? { class: 'cancelled', message: error.message } : readTaskFailure(error);
        yield* releaseStepPools(env, pools, claimId);
        tracker.stepFailed(step.id, refused);
        env.publish();
        env.log(`step ${step.id} did not get its pool slots: ${refused.message}`);
        return;
      }
    }
    const startedMs = env.nowMs();
    tracker.attemptStarted(step.id, attempt, startedMs);
    env.publish();
    // Ids only: the activity looks the step up in the deployed catalog (see steps/protocol.ts).
    const upstream = env.upstream(step.id);
    const item = env.item(step.id);
    const activityInput: StepActivityInput = {
      runId: env.runId,
      pipeline: env.pipelineName,
      definitionVersion: env.definitionVersion,
      stepId: step.id,
      attempt,
      parameters: env.parameters,
      trigger: env.trigger,
      ...(upstream === undefined ? {} : { upstream }),
      ...(item === undefined ? {} : { item }),
    };
    let failure: FailureInfo;
    const progress = { started: false };
    try {
      const outcome = yield* runAttempt(env, step, activityInput, startedMs, progress);
      if (outcome.status !== 'succeeded') throw new TimeoutError(`step "${step.id}" ended without a result`);
      yield* releaseStepPools(env, pools, claimId);
      tracker.attemptSucceeded(step.id, env.nowMs(), outcome.output, outcome.metrics);
      env.publish();
      env.log(`step ${step.id} succeeded on attempt ${attempt}`);
      return undefined;
    } catch (error) {
      failure = readTaskFailure(error);
    }
    // Failed or timed out: the slot goes back before any retry delay.
    yield* releaseStepPools(env, pools, claimId);
    if (failure.code === RUN_ENDED_CODE) {
      // The activity refused: the run was cancelled or has ended (the interrupt event may not have
      // reached this step yet). An attempt it refused to start never started.
      if (!progress.started) tracker.dropLastAttempt(step.id);
      env.log(`step ${step.id}: ${failure.message}`);
      return { kind: 'cancelled', atMs: env.nowMs() };
    }
    tracker.attemptFailed(step.id, env.nowMs(), failure);
    if (!shouldRetry(step.retry, failure, used)) {
      tracker.stepFailed(step.id, failure);
      env.publish();
      env.log(`step ${step.id} failed (${failure.class}) on attempt ${attempt}: ${failure.message}`);
      return undefined;
    }
    const delay = retryDelaySeconds(step.retry, used, { runId: env.runId, stepId: step.id, attempt }, failure.retryAfterSeconds);
    const untilMs = env.nowMs() + delay * 1000;
    tracker.waiting(step.id, untilMs);
    env.publish();
    env.log(`step ${step.id} attempt ${attempt} failed (${failure.class}); retrying in ${delay}s: ${failure.message}`);
    yield { one: env.context.df.createTimer(dateAt(untilMs)) };
  }
}

// ── Driving a coroutine ──────────────────────────────────────────────────────────────────────────

function waitTasks(wait: Wait): readonly Task[] {
  return 'one' in wait ? [wait.one] : wait.race;
}

/**
 * Runs a step coroutine to its end. Every wait is yielded as one `Task.any` of the coroutine's new
 * task(s) and fresh interrupts. Returns the stop when the run was interrupted (or the coroutine
 * found the run ended), or undefined when the step ended.
 */
export function* drive(env: StepEnv, routine: StepRoutine, interrupts: Interrupts): Generator<Task, Stop | undefined, unknown> {
  const df = env.context.df;
  let next = routine.next();
  while (!next.done) {
    const wait = next.value;
    const fresh = interrupts.make();
    yield df.Task.any([...waitTasks(wait), ...fresh]);
    const fired = fresh.find(isDone);
    cancelTimers(fresh);
    if (fired) return interrupts.read(fired);
    if ('one' in wait) next = wait.one.isFaulted ? routine.throw(wait.one.result) : routine.next(wait.one.result);
    else next = routine.next(wait.race.find(isDone));
  }
  return next.value;
}

/**
 * Runs one step with its retries until it ends or the run stops; when the run stops, the step ends
 * as the interrupt table says (state.ts `interrupt`) and its polled job is asked to stop.
 */
export function* runStepUntilStopped(env: StepEnv, step: StepDefinition, interrupts: Interrupts): Generator<Task, Stop | undefined, unknown> {
  const { tracker } = env;
  const count = { used: 0 };
  const stop = yield* drive(env, runStepRoutine(env, step, () => interrupts.due(), count), interrupts);
  if (!stop) return undefined;
  yield* takeStartAnswer(env);
  const [answer] = yield* cancelPolledJobs(env, stop.kind === 'cancelled' ? 'cancelled' : 'runTimedOut');
  const finished = answer?.finished;
  if (finished?.status === 'succeeded') {
    // The job had finished by the time the run stopped: the step ended before the interrupt.
    tracker.attemptSucceeded(step.id, stop.atMs, finished.output, finished.metrics);
  } else if (finished?.status === 'failed') {
    tracker.attemptFailed(step.id, stop.atMs, finished.error);
    // It would have waited for its retry: the run stopped it there.
    if (shouldRetry(step.retry, finished.error, count.used)) tracker.interrupt(step.id, stop.atMs, stop.kind);
    else tracker.stepFailed(step.id, finished.error);
  } else {
    tracker.interrupt(step.id, stop.atMs, stop.kind);
  }
  env.publish();
  return stop;
}

/**
 * The run stopped while an attempt's start call was out. That attempt was in progress at the
 * interrupt: whatever the call answers comes after it (recorded so, `finishedAfterEnd`). But a job
 * the call started must be stopped too: the step looks once more, at a timer due at once (the
 * call's task cannot go into a new wait: durable-js#574; its answer completes it anyway), and a job
 * it finds is stopped like any polled job. A call that has not answered by then cannot be stopped.
 */
function* takeStartAnswer(env: StepEnv): Generator<Task, void, unknown> {
  const starting = env.starting;
  if (!starting) return;
  if (!isDone(starting.task)) yield env.context.df.createTimer(dateAt(env.nowMs()));
  env.starting = undefined;
  const outcome = starting.task.isCompleted ? (starting.task.result as StepOutcome | undefined) : undefined;
  if (outcome?.status === 'running') env.polling.set(starting.input.stepId, { input: starting.input, handle: outcome.handle });
}

/** Cancels the timers among `tasks` that did not fire (they only ever guarded one wait). */
export function cancelTimers(tasks: readonly Task[]): void {
  for (const task of tasks) {
    const maybeTimer = task as Task & { cancel?: () => void };
    if (!isDone(task) && typeof maybeTimer.cancel === 'function') maybeTimer.cancel();
  }
}

/**
 * Asks the polled jobs of interrupted steps to stop; best-effort, one activity per job. Each answer
 * says whether the job had already finished (`cancelStep` looks once before it stops it).
 */
export function* cancelPolledJobs(env: StepEnv, reason: CancelActivityInput['reason']): Generator<Task, CancelStepAnswer[], unknown> {
  const jobs = [...env.polling.values()];
  env.polling.clear();
  const answers: CancelStepAnswer[] = [];
  for (const job of jobs) {
    const input: CancelActivityInput = { ...job.input, handle: job.handle, reason };
    try {
      answers.push(((yield env.context.df.callActivity(ACTIVITY_NAMES.cancelStep, input)) as CancelStepAnswer | undefined) ?? {});
    } catch (error) {
      env.log(`stopping step ${job.input.stepId} failed (ignored): ${readTaskFailure(error).message}`);
      answers.push({});
    }
  }
  return answers;
}
