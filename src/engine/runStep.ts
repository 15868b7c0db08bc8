/**
 * `runPipelineStep`: one step with its retries, as a sub-orchestration. `runPipeline` uses it when
 * a step starts while others run; the step's last action tells the run it ended (`stepDone`
 * through activity `notifyStepDone`), since the run cannot wait on this task again (stepRoutine.ts).
 * It never fails: a failed step is a result.
 */
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import type { JsonObject } from '../core/json';
import type { StepDefinition } from '../pipelines/schema';
import type { RunTrigger } from '../steps/protocol';
import { ACTIVITY_NAMES } from '../steps/protocol';
import { fittedWhenSerialized, stepForCustomStatus } from './customStatus';
import { readTaskFailure } from './failure';
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
  /**
   * The run to tell when the step ends (activity `notifyStepDone`, event `stepDone`), so the run
   * can start what depends on this step at once; unset in inputs of runs started before it existed.
   */
  readonly reportTo?: string;
}

/** Payload of the `stepDone` event: which sub-orchestration ended, and the step's final state. */
export interface StepDoneEvent {
  readonly stepId: string;
  readonly instanceId: string;
  readonly state: StepState;
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
  const state = tracker.step(input.step.id);
  if (input.reportTo !== undefined) {
    const notice = { parentInstanceId: input.reportTo, stepId: input.step.id, instanceId: df.instanceId, state };
    try {
      yield df.callActivity(ACTIVITY_NAMES.notifyStepDone, notice);
    } catch (error) {
      // The parent still learns the result when it is waiting on this sub-orchestration itself.
      env.log(`telling run ${input.reportTo} that step ${input.step.id} ended failed: ${readTaskFailure(error).message}`);
    }
  }
  return state;
}

export const runStepOrchestrator: OrchestrationHandler = runPipelineStep;
