/**
 * Asking activity `reconcileRun` what the run cannot hear for itself: the end of steps whose
 * `stepDone` notice was lost (failed for good, or dropped at a `continueAsNew`), and a cancel whose
 * event was dropped. It also checks the run against the record the API or the scheduler created
 * (issue 20): a run nobody created is refused there.
 */
import type { Task } from 'durable-functions';
import { ACTIVITY_NAMES, RUN_REFUSED_CODE, type ReconcileRunAnswer, type ReconcileRunInput } from '../steps/protocol';
import { dateAt } from './clock';
import { readTaskFailure } from './failure';
import { compactInstances } from './runStep';
import { HISTORY_COST, failInFlight, settle, type RunScope } from './scope';
import type { StepState, Stop } from './types';

export function askReconcile(scope: RunScope, instanceIds: readonly string[]): Task {
  const { input } = scope;
  const request: ReconcileRunInput = {
    runId: input.runId,
    pipeline: input.pipeline,
    definitionVersion: input.definitionVersion,
    trigger: input.trigger,
    parameters: input.parameters,
    steps: compactInstances(input.runId, instanceIds),
  };
  scope.budget.events += HISTORY_COST.activity;
  return scope.env.context.df.callActivity(ACTIVITY_NAMES.reconcileRun, request);
}

/** Thrown out of the orchestrator: the orchestration fails with the reason and writes nothing. */
export class RunRefused extends Error {
  override readonly name = 'RunRefused';
  constructor(reason: string) {
    super(reason.startsWith('run refused: ') ? reason : `run refused: ${reason}`);
  }
}

/** Takes what `reconcileRun` answered; returns the stop when a cancel was requested. */
export function takeReconciled(scope: RunScope, task: Task): Stop | undefined {
  if (task.isFaulted) {
    const failure = readTaskFailure(task.result);
    if (failure.code === RUN_REFUSED_CODE) throw new RunRefused(failure.message);
    scope.env.log(`reconcileRun failed (the next check-in asks again): ${failure.message}`);
    return undefined;
  }
  const answer = task.result as ReconcileRunAnswer;
  for (const { instanceId, state } of answer.results) {
    if (isStepState(state)) settle(scope, state, instanceId);
  }
  for (const { instanceId, message } of answer.failed) failInFlight(scope, instanceId, message);
  for (const instanceId of answer.missing) {
    // A sub-orchestration may not exist yet just after it was asked for: only a second miss, a
    // check-in later, ends its step's wait.
    if (scope.missing.has(instanceId)) failInFlight(scope, instanceId, `step sub-orchestration ${instanceId} does not exist`);
    else if ([...scope.inFlight.values()].includes(instanceId)) scope.missing.add(instanceId);
  }
  return answer.cancelRequestedAt === null ? undefined : { kind: 'cancelled', atMs: scope.env.nowMs() };
}

/** Delivery attempts of an opening `reconcileRun`, and the wait before the second (doubling after). */
const OPEN_ATTEMPTS = 5;
const OPEN_RETRY_MS = 10_000;

/**
 * The first question of an execution, before any waiter exists (a notice or cancel arriving
 * meanwhile is kept for the first waiter: durable-js `deferredTasks`). Retried on durable timers
 * when the activity fails; a refusal ends the orchestration. `mustAnswer`: the first execution
 * cannot go on without knowing the run is genuine.
 */
export function* reconcileNow(scope: RunScope, instanceIds: readonly string[], mustAnswer: boolean): Generator<Task, Stop | undefined, unknown> {
  const df = scope.env.context.df;
  for (let attempt = 1; ; attempt++) {
    const task = askReconcile(scope, instanceIds);
    try {
      yield task;
    } catch {
      // read from the task below
    }
    if (!task.isFaulted) return takeReconciled(scope, task);
    const failure = readTaskFailure(task.result);
    // A refusal, or an input the activity cannot read (a crafted one): retrying cannot change it.
    if (failure.code === RUN_REFUSED_CODE || (mustAnswer && failure.class === 'permanent')) throw new RunRefused(failure.message);
    if (attempt >= OPEN_ATTEMPTS || failure.class === 'permanent') {
      if (mustAnswer) throw new Error(`could not check the run against its record (${attempt} attempts): ${failure.message}`);
      scope.env.log(`reconcileRun failed (${attempt} attempts; the next check-in asks again): ${failure.message}`);
      return undefined;
    }
    scope.budget.events += HISTORY_COST.timer;
    yield df.createTimer(dateAt(scope.env.nowMs() + OPEN_RETRY_MS * 2 ** (attempt - 1)));
  }
}

function isStepState(value: unknown): value is StepState {
  return typeof value === 'object' && value !== null && typeof (value as { id?: unknown }).id === 'string' && Array.isArray((value as { attempts?: unknown }).attempts);
}
