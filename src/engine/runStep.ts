/**
 * `runPipelineStep`: one step with its retries, as a sub-orchestration. `runPipeline` uses it when
 * several steps are ready at once: it waits on them with one `Task.all` (fresh tasks only, see
 * stepRoutine.ts) and merges the step states they return. It never fails: a failed step is a
 * result, so `Task.all` waits for every parallel step.
 */
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import type { JsonObject } from '../core/json';
import type { StepDefinition } from '../pipelines/schema';
import type { RunTrigger } from '../steps/protocol';
import { fittedWhenSerialized, stepForCustomStatus } from './customStatus';
import { RunTracker } from './state';
import { createStepEnv, drive, runStepRoutine } from './stepRoutine';
import type { StepState } from './types';

export interface RunStepInput {
  readonly runId: string;
  readonly pipelineName: string;
  readonly definitionVersion: string;
  readonly parameters: JsonObject;
  readonly trigger: RunTrigger;
  readonly step: StepDefinition;
  /** The step's state so far (attempts of earlier pipeline attempts continue the numbering). */
  readonly state: StepState;
  readonly maxPollsPerExecution?: number;
}

/** Instance id of a step's sub-orchestration: unique per run, step and first attempt. */
export function stepInstanceId(runId: string, stepId: string, firstAttempt: number): string {
  return `${runId}:${stepId}:from${firstAttempt}`;
}

export function* runPipelineStep(context: OrchestrationContext): Generator<Task, StepState, unknown> {
  const df = context.df;
  const input = df.getInput<RunStepInput>();
  const tracker = new RunTracker({ runId: input.runId, pipeline: { name: input.pipelineName, steps: [input.step] } }, df.currentUtcDateTime.getTime());
  tracker.replace({ id: input.step.id, status: 'pending', attempts: input.state.attempts });
  const env = createStepEnv(
    context,
    { runId: input.runId, pipelineName: input.pipelineName, definitionVersion: input.definitionVersion, parameters: input.parameters, trigger: input.trigger },
    tracker,
    {
      ...(input.maxPollsPerExecution === undefined ? {} : { maxPollsPerExecution: input.maxPollsPerExecution }),
      publish: () => {
        const step = tracker.step(input.step.id);
        df.setCustomStatus(fittedWhenSerialized(() => stepForCustomStatus(step)));
      },
    },
  );
  yield* drive(env, runStepRoutine(env, input.step), () => []);
  return tracker.step(input.step.id);
}

export const runStepOrchestrator: OrchestrationHandler = runPipelineStep;
