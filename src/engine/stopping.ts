/**
 * What a run does when it is cancelled or times out (src/engine/README.md, "Interrupts"): steps
 * that ended keep their end; an attempt in progress ends `cancelled` at the run's instant (a polled
 * job is asked to stop); a step waiting for its retry makes no new attempt; a step that had not
 * started never does.
 *
 * Steps running in sub-orchestrations hear of it themselves: of the run's deadline from their
 * input, of a cancel from the `interrupt` event activity `stopSteps` raises to them. The run then
 * waits for each to report its real end (dataflow.ts `runRound` without admitting anything): a
 * step that ended before the interrupt — its notice lost, or its batch node not done yet — keeps
 * what it did.
 */
import type { Task } from 'durable-functions';
import { ACTIVITY_NAMES, type StopStepsInput } from '../steps/protocol';
import { dateAt } from './clock';
import { readTaskFailure } from './failure';
import { compactInstances } from './runStep';
import { HISTORY_COST, type RunScope } from './scope';
import { interruptError } from './state';
import type { Stop } from './types';

const STOP_ATTEMPTS = 5;
const STOP_RETRY_MS = 10_000;

/**
 * Tells the steps in flight that the run was cancelled (they know the deadline already). Retried;
 * if it still fails, the steps find out when their next activity refuses to act for a cancelled run.
 */
export function* tellStepsToStop(scope: RunScope, stop: Stop): Generator<Task, void, unknown> {
  const instanceIds = [...scope.inFlight.values()];
  if (stop.kind !== 'cancelled' || instanceIds.length === 0) return;
  const df = scope.env.context.df;
  const input: StopStepsInput = {
    runId: scope.input.runId,
    steps: compactInstances(scope.input.runId, instanceIds),
    kind: stop.kind,
    atMs: stop.atMs,
    ...(stop.reason === undefined ? {} : { reason: stop.reason }),
  };
  for (let attempt = 1; ; attempt++) {
    scope.budget.events += HISTORY_COST.activity;
    try {
      yield df.callActivity(ACTIVITY_NAMES.stopSteps, input);
      return;
    } catch (error) {
      const failure = readTaskFailure(error);
      if (failure.class === 'permanent' || attempt >= STOP_ATTEMPTS) {
        scope.env.log(`telling the steps in flight to stop failed (${attempt} attempts): ${failure.message}`);
        return;
      }
      scope.budget.events += HISTORY_COST.timer;
      yield df.createTimer(dateAt(scope.env.nowMs() + STOP_RETRY_MS * 2 ** (attempt - 1)));
    }
  }
}

/** Once nothing is in flight: what was still running or waiting ends at the interrupt; the rest never starts. */
export function endInterrupted(scope: RunScope, stop: Stop): void {
  const { tracker } = scope.env;
  for (const step of scope.definition.steps) {
    const status = tracker.status(step.id);
    if (status === 'running' || status === 'waiting') tracker.interrupt(step.id, stop.atMs, stop.kind);
    else if (status === 'pending') tracker.skip(step.id, interruptError(stop.kind));
  }
  scope.env.publish();
}
