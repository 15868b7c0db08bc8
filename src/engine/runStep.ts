/**
 * `runPipelineStep`: one step with its retries, as a sub-orchestration. `runPipeline` uses it when
 * a step starts while others run; the step's last action tells the run it ended (`stepDone`
 * through activity `notifyStepDone`), since the run cannot wait on this task again (stepRoutine.ts).
 * It never fails: a failed step is a result.
 *
 * Every wait races the run's interrupts: the `interrupt` event the run raises when it is cancelled
 * (activity `stopSteps`) and the run's deadline, which this instance knows from its input. So no
 * attempt starts after the run ended, and the attempt in progress ends at the run's instant.
 */
import type { OrchestrationContext, Task } from 'durable-functions';
import type { Json, JsonObject } from '../core/json';
import { findStep } from '../pipelines/items';
import type { RunTrigger } from '../steps/protocol';
import { fittedWhenSerialized, stepForCustomStatus } from './customStatus';
import { definitionOf, missingDefinitionMessage, type DefinitionSource } from './definitions';
import { INTERRUPT_EVENT, interruptsFor } from './interrupts';
import { requireLineage } from './lineage';
import { RunTracker } from './state';
import { tellRun } from './stepDone';
import { createStepEnv, runStepUntilStopped } from './stepRoutine';
import type { StepState } from './types';

export interface RunStepInput {
  readonly runId: string;
  readonly pipelineName: string;
  readonly definitionVersion: string;
  readonly parameters: JsonObject;
  readonly trigger: RunTrigger;
  readonly stepId: string;
  /** Attempts the step made before this instance (earlier pipeline attempts): numbering continues. */
  readonly attemptsBefore: number;
  readonly maxPollsPerExecution?: number;
  /** The run's deadline (epoch ms), from the pipeline's `timeout`: no attempt runs past it. */
  readonly deadlineMs?: number;
  /**
   * The run to tell when the step ends (`stepDone`, stepDone.ts), so it can start what waits for
   * this step at once; unset when nothing does (inside a batch node).
   */
  readonly reportTo?: string;
  /** The upstream values the step refers to (referenced.ts). */
  readonly upstream?: JsonObject;
  /** The item, when the step is an item of a forEach step (items.ts). */
  readonly item?: Json;
}

/** Instance id of a step's sub-orchestration: unique per run, step and first attempt. */
export function stepInstanceId(runId: string, stepId: string, firstAttempt: number): string {
  return `${runId}:${stepId}:from${firstAttempt}`;
}

/**
 * A run's step sub-orchestrations in a few bytes each, `stepId:firstAttempt` comma-separated (step
 * ids hold neither): what the run sends `reconcileRun` and `stopSteps`. The question is part of the
 * run's history, replayed at each wake-up; full instance ids repeat the run id for every step.
 */
export function compactInstances(runId: string, instanceIds: readonly string[]): string {
  const prefix = `${runId}:`;
  return instanceIds
    .flatMap((id) => {
      const rest = id.startsWith(prefix) ? id.slice(prefix.length) : '';
      const at = rest.lastIndexOf(':from');
      return at > 0 ? [`${rest.slice(0, at)}:${rest.slice(at + 5)}`] : [];
    })
    .join(',');
}

/** The instance ids `compactInstances` stands for: always the run's own. */
export function instancesOf(runId: string, compact: string): string[] {
  if (compact === '') return [];
  return compact.split(',').flatMap((part) => {
    const at = part.lastIndexOf(':');
    const first = Number(part.slice(at + 1));
    return at > 0 && Number.isInteger(first) && first >= 1 ? [stepInstanceId(runId, part.slice(0, at), first)] : [];
  });
}

export function createRunPipelineStep(definitions: DefinitionSource) {
  return function* runPipelineStep(context: OrchestrationContext): Generator<Task, StepState, unknown> {
    const df = context.df;
    const input = df.getInput<RunStepInput>();
    requireLineage(context, input.runId);
    const defined = definitionOf(definitions, input.pipelineName, input.definitionVersion)?.steps;
    const step = defined ? findStep(defined, input.stepId) : undefined;
    const tracker = new RunTracker({ runId: input.runId, pipeline: { name: input.pipelineName, steps: [{ id: input.stepId }] } }, df.currentUtcDateTime.getTime(), new Map([[input.stepId, { status: 'pending', attempts: input.attemptsBefore, permanent: false }]]));
    const env = createStepEnv(
      context,
      { runId: input.runId, pipelineName: input.pipelineName, definitionVersion: input.definitionVersion, parameters: input.parameters, trigger: input.trigger },
      tracker,
      {
        ...(input.maxPollsPerExecution === undefined ? {} : { maxPollsPerExecution: input.maxPollsPerExecution }),
        upstream: () => input.upstream,
        item: () => input.item,
        publish: () => {
          const state = tracker.step(input.stepId);
          df.setCustomStatus(fittedWhenSerialized(() => stepForCustomStatus(state)));
        },
      },
    );
    if (step) {
      yield* runStepUntilStopped(env, step, interruptsFor(context, INTERRUPT_EVENT, input.deadlineMs));
    } else {
      tracker.stepFailed(input.stepId, { class: 'permanent', message: missingDefinitionMessage(input.pipelineName, input.definitionVersion), code: 'definition-changed' });
      env.publish();
    }
    const state = tracker.step(input.stepId);
    if (input.reportTo !== undefined) yield* tellRun(context, input.reportTo, [{ instanceId: df.instanceId, state }], (m) => env.log(m));
    return state;
  };
}
