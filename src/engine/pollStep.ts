/**
 * `pollStepUntilDone`: follows one long-running step attempt (a 202-async export, an async
 * Snowflake query, a dbt job) with durable timers and the `pollStep` activity until it succeeds,
 * fails or passes the step's timeout. It runs as a sub-orchestration so the parent's history holds
 * two events per polled attempt, and continues as new every `maxPollsPerExecution` polls so its
 * own history stays bounded however long the job runs.
 */
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import { encodeFailure, TimeoutError, type FailureInfo } from '../core/errors';
import type { JsonObject } from '../core/json';
import { formatDuration } from '../pipelines/duration';
import { ACTIVITY_NAMES, type CancelActivityInput, type PollActivityInput, type StepActivityInput, type StepOutcome } from '../steps/protocol';
import { dateAt, secondsBetween } from './clock';
import { readTaskFailure } from './failure';
import { INTERRUPT_EVENT, isWake } from './interrupts';
import { requireLineage } from './lineage';

/** 50 polls ≈ 400 history events per execution (8 per poll): cheap to replay, few restarts. */
export const DEFAULT_POLLS_PER_EXECUTION = 50;
/** Never poll faster than this, whatever the service hints. */
export const MIN_POLL_SECONDS = 1;

export interface PollOrchestratorInput {
  /** The attempt's activity input (ids only), passed on to `pollStep` and `cancelStep`. */
  readonly step: StepActivityInput;
  /** The step's `pollInterval`: used when the service gives no hint. */
  readonly pollIntervalSeconds: number;
  /** The step's `timeout`, for the failure message. */
  readonly timeoutSeconds?: number;
  readonly handle: JsonObject;
  readonly pollAfterSeconds: number;
  /** When the attempt started (epoch ms, orchestrator clock). */
  readonly attemptStartedMs: number;
  /** When the attempt times out (epoch ms), from the step's `timeout`. */
  readonly deadlineMs?: number;
  /** Polls made by earlier executions of this instance. */
  readonly polls: number;
  readonly maxPollsPerExecution?: number;
}

/** Custom status of the polling instance: enough to see it is alive. */
export interface PollStatus {
  readonly stepId: string;
  readonly attempt: number;
  readonly polls: number;
  readonly nextPollAt?: string;
}

function fail(info: FailureInfo): Error {
  // Re-encoded so the parent reads the class from this sub-orchestration's failure text.
  return new Error(encodeFailure(info));
}

export function* pollStepUntilDone(context: OrchestrationContext): Generator<Task, StepOutcome | undefined, unknown> {
  const df = context.df;
  const input = df.getInput<PollOrchestratorInput>();
  requireLineage(context, input.step.runId);
  const maxPolls = Math.max(1, input.maxPollsPerExecution ?? DEFAULT_POLLS_PER_EXECUTION);
  const nowMs = () => df.currentUtcDateTime.getTime();
  let handle = input.handle;
  let pollAfter = input.pollAfterSeconds;
  let polls = input.polls;

  for (let sinceStart = 0; sinceStart < maxPolls; sinceStart++) {
    const wanted = nowMs() + Math.max(MIN_POLL_SECONDS, pollAfter) * 1000;
    // The last poll happens at the deadline, so a job that finished just in time still counts.
    const nextMs = input.deadlineMs === undefined ? wanted : Math.min(wanted, input.deadlineMs);
    if (nextMs > nowMs()) {
      df.setCustomStatus({ stepId: input.step.stepId, attempt: input.step.attempt, polls, nextPollAt: dateAt(nextMs).toISOString() } satisfies PollStatus);
      // The run may give up on the attempt (cancel, run timeout): `cancelStep` then raises
      // `interrupt` here, and this instance polls and records nothing more. A `wake` payload on the
      // same event (a child run that ended: src/steps/pipeline/wakeParent.ts) means "poll now";
      // the timer is then only the fallback for a wake that was lost.
      const timer = df.createTimer(dateAt(nextMs));
      const interrupt = df.waitForExternalEvent(INTERRUPT_EVENT);
      yield df.Task.any([timer, interrupt]);
      if (!timer.isCompleted) {
        timer.cancel();
        if (!isWake(interrupt.result)) return undefined;
      }
    }
    const pollInput: PollActivityInput = { ...input.step, handle, elapsedSeconds: secondsBetween(input.attemptStartedMs, nowMs()) };
    let outcome: StepOutcome;
    try {
      outcome = (yield df.callActivity(ACTIVITY_NAMES.pollStep, pollInput)) as StepOutcome;
    } catch (error) {
      throw fail(readTaskFailure(error));
    }
    polls++;
    if (outcome.status === 'succeeded') return outcome;
    handle = outcome.handle;
    pollAfter = outcome.pollAfterSeconds > 0 ? outcome.pollAfterSeconds : input.pollIntervalSeconds;
    if (input.deadlineMs !== undefined && nowMs() >= input.deadlineMs) {
      const cancel: CancelActivityInput = { ...input.step, handle, reason: 'timeout' };
      try {
        yield df.callActivity(ACTIVITY_NAMES.cancelStep, cancel);
      } catch {
        // Best-effort: the timeout stands whether or not the job could be stopped.
      }
      const limit = formatDuration(input.timeoutSeconds ?? 0);
      throw fail(new TimeoutError(`step "${input.step.stepId}" still running after its timeout of ${limit} (${polls} polls)`).failure);
    }
  }
  const next: PollOrchestratorInput = { ...input, handle, pollAfterSeconds: pollAfter, polls };
  df.continueAsNew(next);
  return undefined;
}

export const pollStepOrchestrator: OrchestrationHandler = pollStepUntilDone;
