/**
 * Where a continued run keeps the full state of its steps. An execution's input is replayed at
 * every one of its wake-ups, so carrying every step's attempts, outputs and errors into the next
 * execution made the bytes replayed per run grow faster than the number of steps (issue 19 item 5).
 * Instead, before it continues as new, an execution hands the steps that changed during it to an
 * archive instance (`runPipelineArchive`, id `<runId>:archive:<n>`), which just holds them as its
 * output; the next execution carries a few bytes per step (carry.ts). When the run ends, activity
 * `collectRunState` reads the archives back, once, and the run's output is whole again.
 */
import type { OrchestrationContext, Task } from 'durable-functions';
import { ACTIVITY_NAMES, type CollectRunStateInput } from '../steps/protocol';
import { dateAt } from './clock';
import { readTaskFailure } from './failure';
import { requireLineage } from './lineage';
import { HISTORY_COST, type RunScope } from './scope';
import { cancelTimers } from './stepRoutine';
import { ORCHESTRATOR_NAMES, type StepState } from './types';

export interface ArchiveInput {
  readonly runId: string;
  readonly steps: readonly StepState[];
}

export function archiveInstanceId(runId: string, n: number): string {
  return `${runId}:archive:${n}`;
}

/** `runPipelineArchive`: holds the states it was given, as its output. */
export function* runPipelineArchive(context: OrchestrationContext): Generator<Task, readonly StepState[], unknown> {
  yield* [];
  const input = context.df.getInput<ArchiveInput>();
  requireLineage(context, input.runId);
  return input.steps;
}

/**
 * Starts archive `n` with `steps` and gives it a moment to be recorded: the sub-orchestration is
 * scheduled when this execution yields it (it is not awaited: its completion goes to an execution
 * that has continued as new, and the run reads it back by id).
 */
export function* writeArchive(scope: RunScope, n: number, steps: readonly StepState[]): Generator<Task, void, unknown> {
  const df = scope.env.context.df;
  const input: ArchiveInput = { runId: scope.input.runId, steps };
  const archive = df.callSubOrchestrator(ORCHESTRATOR_NAMES.archive, input, archiveInstanceId(scope.input.runId, n));
  const now = df.createTimer(dateAt(scope.env.nowMs()));
  scope.budget.events += HISTORY_COST.subOrchestration + HISTORY_COST.timer;
  yield df.Task.any([archive, now]);
  cancelTimers([now]);
}

const COLLECT_ATTEMPTS = 5;
const COLLECT_RETRY_MS = 10_000;

/**
 * The archived state of every step, folded in order (activity `collectRunState`), or undefined if
 * it could not be read: the run then ends with each step's status and attempt count only.
 */
export function* collectArchived(scope: RunScope, archives: number): Generator<Task, Map<string, StepState> | undefined, unknown> {
  const df = scope.env.context.df;
  const input: CollectRunStateInput = { runId: scope.input.runId, archives };
  for (let attempt = 1; ; attempt++) {
    const task = df.callActivity(ACTIVITY_NAMES.collectRunState, input);
    try {
      yield task;
    } catch {
      // read from the task below
    }
    if (!task.isFaulted) {
      const steps = (task.result as { steps?: unknown }).steps;
      return new Map((Array.isArray(steps) ? (steps as StepState[]) : []).map((s) => [s.id, s]));
    }
    const failure = readTaskFailure(task.result);
    if (failure.class === 'permanent' || attempt >= COLLECT_ATTEMPTS) {
      scope.env.log(`reading the archived step states failed (${attempt} attempts): ${failure.message}; the run's output keeps each step's status only`);
      return undefined;
    }
    yield df.createTimer(dateAt(scope.env.nowMs() + COLLECT_RETRY_MS * 2 ** (attempt - 1)));
  }
}
