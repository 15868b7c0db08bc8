/**
 * Fan-out of steps started together as a tree of sub-orchestrations, so no orchestration ever
 * waits on more than `FAN_OUT` children.
 *
 * Every child that completes wakes the orchestration awaiting it, and each wake-up replays that
 * orchestration's whole history (the Durable extension hands the full history to the out-of-process
 * worker on every episode — durable-js `TaskOrchestrationExecutor.execute`). One orchestration
 * awaiting n children therefore replays O(n²) events. With at most `FAN_OUT` children per
 * orchestration, each node replays O(FAN_OUT²) and there are about n / (FAN_OUT − 1) nodes: the
 * run's replay work grows as n · FAN_OUT · log(n), and each batch node's stays bounded.
 *
 * The run follows what it started through `stepDone` notices (stepDone.ts): each child it started
 * itself sends one when it ends (a batch node with all its steps' results), and a step deeper in
 * the tree sends its own only when the run marked it `notify` — another step waits for its end.
 */
import type { OrchestrationContext, Task } from 'durable-functions';
import type { Json, JsonObject } from '../core/json';
import { stepInstanceId, type RunStepInput } from './runStep';
import { requireLineage } from './lineage';
import { tellRun } from './stepDone';
import { ORCHESTRATOR_NAMES, type StepState } from './types';

/** Most children one orchestration awaits at once. */
export const FAN_OUT = 10;

/** What every step sub-orchestration of a run shares; `reportTo` is the run to send notices to. */
export type WaveRun = Omit<RunStepInput, 'stepId' | 'attemptsBefore' | 'reportTo'> & { readonly reportTo: string };

/** A step to start, by id: inputs carry no definitions (definitions.ts). */
export interface WaveStep {
  readonly stepId: string;
  /** Attempts the step made before (earlier pipeline attempts). */
  readonly attemptsBefore: number;
  /** The step tells the run the moment it ends, even inside a batch node: something waits for it. */
  readonly notify?: boolean;
  /** The upstream values the step refers to (referenced.ts), when it refers to any. */
  readonly upstream?: JsonObject;
  /** The item, for an item of a forEach step. */
  readonly item?: Json;
}

/** Input of the `runPipelineSteps` batch sub-orchestration. */
export interface RunStepsInput {
  readonly run: WaveRun;
  readonly steps: readonly WaveStep[];
  /** The run started this node itself: it sends the run every result when its steps have ended. */
  readonly notify?: boolean;
}

/** Instance id of a batch node: unique per run, its first step and first attempt, and its size. */
export function batchInstanceId(runId: string, first: WaveStep, size: number): string {
  return `${waveStepInstanceId(runId, first)}:batch${size}`;
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

/** Instance id of the `runPipelineStep` that runs a step from its state's next attempt. */
export const waveStepInstanceId = (runId: string, { stepId, attemptsBefore }: WaveStep): string => stepInstanceId(runId, stepId, attemptsBefore + 1);

/**
 * The sub-orchestration tasks for steps started together: one `runPipelineStep` per step when they
 * fit under `FAN_OUT`, else one `runPipelineSteps` per chunk. Each task's result is a StepState or
 * a list. `top`: the run itself awaits these tasks, so each one sends a notice when it ends.
 */
export function fanOutTasks(context: OrchestrationContext, run: WaveRun, steps: readonly WaveStep[], top: boolean): Task[] {
  const df = context.df;
  const { reportTo, ...shared } = run;
  const batched = steps.length > FAN_OUT;
  return fanOutGroups(steps).map((group) => {
    const [first] = group;
    if (!first) throw new Error('empty fan-out group');
    if (!batched) {
      const input: RunStepInput = {
        ...shared,
        stepId: first.stepId,
        attemptsBefore: first.attemptsBefore,
        ...(first.upstream === undefined ? {} : { upstream: first.upstream }),
        ...(first.item === undefined ? {} : { item: first.item }),
        ...(top || first.notify === true ? { reportTo } : {}),
      };
      return df.callSubOrchestrator(ORCHESTRATOR_NAMES.runStep, input, waveStepInstanceId(run.runId, first));
    }
    const input: RunStepsInput = { run, steps: group, ...(top ? { notify: true } : {}) };
    return df.callSubOrchestrator(ORCHESTRATOR_NAMES.runSteps, input, batchInstanceId(run.runId, first, group.length));
  });
}

/** The step states a wave's tasks returned, flattened in order. */
export function waveResults(results: readonly unknown[]): StepState[] {
  return results.flatMap((r) => (Array.isArray(r) ? (r as StepState[]) : [r as StepState]));
}

/** `runPipelineSteps`: one batch node of a wide wave; never fails (its steps' failures are results). */
export function* runPipelineSteps(context: OrchestrationContext): Generator<Task, StepState[], unknown> {
  const input = context.df.getInput<RunStepsInput>();
  requireLineage(context, input.run.runId);
  const states = waveResults((yield context.df.Task.all(fanOutTasks(context, input.run, input.steps, false))) as unknown[]);
  if (input.notify === true) {
    // States come back in the order of `input.steps` (Task.all keeps order, chunks are contiguous).
    const results = input.steps.map((wave, i) => {
      const state = states[i];
      if (state?.id !== wave.stepId) throw new Error(`batch node: no result for step ${wave.stepId}`);
      return { instanceId: waveStepInstanceId(input.run.runId, wave), state };
    });
    yield* tellRun(context, input.run.reportTo, results, (m) => {
      if (!context.df.isReplaying) context.log(`[${input.run.runId}] ${m}`);
    });
  }
  return states;
}
