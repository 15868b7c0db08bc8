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
import { fittedWhenSerialized, stepForCustomStatus } from './customStatus';
import { RunTracker } from './state';
import { tellRun } from './stepDone';
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
   * The run to tell when the step ends (`stepDone`, stepDone.ts), so it can start what waits for
   * this step at once; unset when nothing does (inside a batch node) and in older runs' inputs.
   */
  readonly reportTo?: string;
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
  if (input.reportTo !== undefined) yield* tellRun(context, input.reportTo, [{ instanceId: df.instanceId, state }], (m) => env.log(m));
  return state;
}

export const runStepOrchestrator: OrchestrationHandler = runPipelineStep;
