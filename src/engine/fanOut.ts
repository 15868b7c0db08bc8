/**
 * Fan-out of a wave of parallel steps as a tree of sub-orchestrations, so no orchestration ever
 * waits on more than `FAN_OUT` children.
 *
 * Every child that completes wakes the orchestration awaiting it, and each wake-up replays that
 * orchestration's whole history (the Durable extension hands the full history to the out-of-process
 * worker on every episode — durable-js `TaskOrchestrationExecutor.execute`). One orchestration
 * awaiting n children therefore replays O(n²) events. With at most `FAN_OUT` children per
 * orchestration, each node replays O(FAN_OUT²) and there are about n / (FAN_OUT − 1) nodes: the
 * run's replay work grows as n · FAN_OUT · log(n), and each batch node's stays bounded.
 *
 * Each step still runs in its own `runPipelineStep` with its own retries and raises `stepDone` to
 * the run when it ends, so `runPipeline` follows steps by their events (the parent's history grows
 * by one event per step, see src/engine/README.md) while a batch node awaits one `Task.all` of its
 * own fresh children.
 */
import type { OrchestrationContext, Task } from 'durable-functions';
import type { StepDefinition } from '../pipelines/schema';
import { stepInstanceId, type RunStepInput } from './runStep';
import { ORCHESTRATOR_NAMES, type StepState } from './types';

/** Most children one orchestration awaits at once. */
export const FAN_OUT = 10;

/** What every step sub-orchestration of a run shares. */
export type WaveRun = Omit<RunStepInput, 'step' | 'state'>;

export interface WaveStep {
  readonly step: StepDefinition;
  readonly state: StepState;
}

/** Input of the `runPipelineSteps` batch sub-orchestration. */
export interface RunStepsInput {
  readonly run: WaveRun;
  readonly steps: readonly WaveStep[];
}

/** Instance id of a batch node: unique per run, its first step and first attempt, and its size. */
export function batchInstanceId(runId: string, first: WaveStep, size: number): string {
  return `${stepInstanceId(runId, first.step.id, first.state.attempts.length + 1)}:batch${size}`;
}

/** Splits `items` into at most `parts` contiguous chunks of near-equal size. */
export function chunks<T>(items: readonly T[], parts: number): T[][] {
  const size = Math.ceil(items.length / parts);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** The steps each task of `fanOutTasks` runs, in the same order. */
export function fanOutGroups<T>(steps: readonly T[]): T[][] {
  return steps.length <= FAN_OUT ? steps.map((step) => [step]) : chunks(steps, FAN_OUT);
}

/**
 * The sub-orchestration tasks for one wave: one `runPipelineStep` per step when they fit under
 * `FAN_OUT`, else one `runPipelineSteps` per chunk. Each task's result is a StepState or a list.
 */
export function fanOutTasks(context: OrchestrationContext, run: WaveRun, steps: readonly WaveStep[]): Task[] {
  const df = context.df;
  if (steps.length <= FAN_OUT) {
    return steps.map(({ step, state }) => {
      const input: RunStepInput = { ...run, step, state };
      return df.callSubOrchestrator(ORCHESTRATOR_NAMES.runStep, input, stepInstanceId(run.runId, step.id, state.attempts.length + 1));
    });
  }
  return chunks(steps, FAN_OUT).map((chunk) => {
    const [first] = chunk;
    if (!first) throw new Error('empty chunk');
    const input: RunStepsInput = { run, steps: chunk };
    return df.callSubOrchestrator(ORCHESTRATOR_NAMES.runSteps, input, batchInstanceId(run.runId, first, chunk.length));
  });
}

/** The step states a wave's tasks returned, flattened in order. */
export function waveResults(results: readonly unknown[]): StepState[] {
  return results.flatMap((r) => (Array.isArray(r) ? (r as StepState[]) : [r as StepState]));
}

/** `runPipelineSteps`: one batch node of a wide wave; never fails (its steps' failures are results). */
export function* runPipelineSteps(context: OrchestrationContext): Generator<Task, StepState[], unknown> {
  const input = context.df.getInput<RunStepsInput>();
  const results = (yield context.df.Task.all(fanOutTasks(context, input.run, input.steps))) as unknown[];
  return waveResults(results);
}
