/**
 * What one execution of `runPipeline` works with, shared by its parts (dataflow.ts, reconcile.ts,
 * stopping.ts, archive.ts): the run, its definition, its interrupts, the steps in flight and the
 * history budget.
 */
import type { Task } from 'durable-functions';
import type { PipelineDefinition } from '../pipelines/schema';
import type { Interrupts } from './interrupts';
import type { LiveShape } from './items';
import type { StepEnv } from './stepRoutine';
import { isDone } from './stepRoutine';
import type { RunInput, StepState, Stop } from './types';

/** A sub-orchestration this execution started, with the steps it runs and their instances. */
export interface Started {
  readonly task: Task;
  readonly members: readonly { readonly id: string; readonly instanceId: string }[];
}

/**
 * The history an execution may hold before it continues as new (Azure Storage hands the whole
 * history to the worker at every wake-up). Counted as an estimate from what the execution asked
 * for (`Budget`), an upper bound of the events each thing can add, so the bound holds whatever
 * arrives — notices that never come included.
 */
export const HISTORY_BOUND = 350;

/** Events each thing can add to an execution's history, at most (see `Budget`). */
export const HISTORY_COST = {
  /** OrchestratorStarted + OrchestratorCompleted. */
  wakeUp: 2,
  /** TimerCreated + TimerFired (a cancelled timer still fires), + the wake-up it may cause alone. */
  timer: 4,
  /** TaskScheduled + TaskCompleted, + a wake-up of its own. */
  activity: 4,
  /** Created + Completed + a lone wake-up, and its notice: EventRaised + a lone wake-up. */
  subOrchestration: 7,
  /** A `stepDone` notice for a step inside a batch node (EventRaised + a lone wake-up). */
  notice: 3,
} as const;

/** Room left under the bound for the drain, the archive and the continue itself. */
const RESERVE = 40;

/** Estimated events in this execution's history so far (upper bound), and where it continues as new. */
export interface Budget {
  events: number;
  /** Continue as new once `events` reaches this (`HISTORY_BOUND` less a reserve). */
  readonly continueAt: number;
}

export function budgetFor(bound: number = HISTORY_BOUND): Budget {
  return { events: 0, continueAt: Math.max(1, bound - RESERVE) };
}

/** What the dataflow needs of a definition: its steps and its limits. */
export type RunShape = Pick<PipelineDefinition, 'steps' | 'maxParallel' | 'concurrencyGroups'>;

export interface RunScope {
  readonly env: StepEnv;
  readonly input: RunInput;
  /** The definition's steps and limits, with the items of forEach steps appended as they expand (items.ts). */
  readonly definition: LiveShape;
  readonly interrupts: Interrupts;
  /** The run's deadline (epoch ms) from the pipeline's `timeout`. */
  readonly deadlineMs: number | undefined;
  /** Step id → instance id of the `runPipelineStep` running it. */
  readonly inFlight: Map<string, string>;
  readonly budget: Budget;
  /** Instances `reconcileRun` found missing once (a second time fails their step). */
  readonly missing: Set<string>;
  /** Sub-orchestrations yielded by this execution whose result has not been read yet. */
  open: Started[];
  /** A step came back interrupted (an activity refused: the run was cancelled). */
  learned?: Stop;
}

/** Takes a finished step's state, once: a second notice of the same step (or a stale one) is ignored. */
export function settle(scope: RunScope, state: StepState, instanceId: string): void {
  if (scope.inFlight.get(state.id) !== instanceId) return;
  scope.inFlight.delete(state.id);
  scope.missing.delete(instanceId);
  scope.env.tracker.merge(state);
  if (state.status === 'cancelled' && !scope.learned) {
    scope.learned =
      state.error?.code === 'run-timed-out' && scope.deadlineMs !== undefined ? { kind: 'timedOut', atMs: scope.deadlineMs } : { kind: 'cancelled', atMs: scope.env.nowMs() };
  }
}

/** Fails a step in flight whose sub-orchestration crashed or vanished. */
export function failInFlight(scope: RunScope, instanceId: string, message: string): void {
  const id = [...scope.inFlight].find(([, running]) => running === instanceId)?.[0];
  if (id === undefined) return;
  scope.inFlight.delete(id);
  scope.missing.delete(instanceId);
  scope.env.tracker.stepFailed(id, { class: 'permanent', message });
}

export { isDone };
