/**
 * The `stepDone` notice: how a step that runs in a sub-orchestration tells its run it ended.
 *
 * The run cannot wait on a sub-orchestration task again once a `Task.any` has returned without it
 * (Azure/azure-functions-durable-js#574, see stepRoutine.ts), and durable-js orchestrators cannot
 * raise events themselves (no `sendEvent` in durable-functions 3.x). So the sub-orchestration's last
 * action is activity `notifyStepDone`, whose Durable client raises `stepDone` to the run: a fresh
 * `waitForExternalEvent` at every wait of the run.
 *
 * Who sends one (src/engine/fanOut.ts): every sub-orchestration the run started itself (a step, or
 * a batch node with all its steps' results), and a step inside a batch only when another step waits
 * for it to end (a dependent, or a slot of `maxParallel` or of its group). A wide wave of steps
 * nothing waits for therefore wakes the run once per batch node, not once per step.
 *
 * A notice that cannot be delivered is retried on durable timers; if it still fails, the run takes
 * the result from the sub-orchestration's own completion at its next check-in (runPipeline.ts).
 */
import type { OrchestrationContext, Task } from 'durable-functions';
import { ACTIVITY_NAMES } from '../steps/protocol';
import { dateAt } from './clock';
import { readTaskFailure } from './failure';
import type { StepState } from './types';

/** A step's final state, with the sub-orchestration that ran it. */
export interface StepResult {
  readonly instanceId: string;
  readonly state: StepState;
}

/** Payload of the `stepDone` event (and input of `notifyStepDone`, with `parentInstanceId`). */
export interface StepDoneEvent {
  readonly results: readonly StepResult[];
}

/** Delivery attempts of one notice, and the wait before the second (doubling after). */
export const NOTICE_ATTEMPTS = 5;
export const NOTICE_RETRY_MS = 10_000;

/** Sends `results` to run `reportTo`; retried, never throws (the run's check-in is the fallback). */
export function* tellRun(context: OrchestrationContext, reportTo: string, results: readonly StepResult[], log: (message: string) => void): Generator<Task, void, unknown> {
  const df = context.df;
  for (let attempt = 1; ; attempt++) {
    try {
      yield df.callActivity(ACTIVITY_NAMES.notifyStepDone, { parentInstanceId: reportTo, results });
      return;
    } catch (error) {
      const failure = readTaskFailure(error);
      if (failure.class === 'permanent' || attempt >= NOTICE_ATTEMPTS) {
        log(`telling run ${reportTo} that ${results.map((r) => r.state.id).join(', ')} ended failed (${attempt} attempts): ${failure.message}`);
        return;
      }
      yield df.createTimer(dateAt(df.currentUtcDateTime.getTime() + NOTICE_RETRY_MS * 2 ** (attempt - 1)));
    }
  }
}
