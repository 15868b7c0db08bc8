/** The orchestrators, for the registration file and the development host. */
import type { OrchestrationHandler } from 'durable-functions';
import { pollStepOrchestrator } from './pollStep';
import { createRunPipeline, type RunPipelineOptions } from './runPipeline';
import { runPipelineSteps } from './fanOut';
import { runStepOrchestrator } from './runStep';
import { ORCHESTRATOR_NAMES } from './types';

export { runPipeline, createRunPipeline, CANCEL_EVENT, type FinishRunInput, type RunPipelineOptions } from './runPipeline';
export { pollStepUntilDone, pollStepOrchestrator, DEFAULT_POLLS_PER_EXECUTION, type PollOrchestratorInput, type PollStatus } from './pollStep';
export { runPipelineStep, runStepOrchestrator, stepInstanceId, type RunStepInput } from './runStep';
export { pollInstanceId } from './stepRoutine';
export { runPipelineSteps, FAN_OUT, type RunStepsInput } from './fanOut';
export { ORCHESTRATOR_NAMES } from './types';
export type { RunInput, RunState, StepState, RunStatus, StepStatus, StepAttemptSummary } from './types';

/** Every orchestrator the engine needs, by registered name. */
export function engineOrchestrators(options: RunPipelineOptions = {}): readonly { name: string; handler: OrchestrationHandler }[] {
  return [
    { name: ORCHESTRATOR_NAMES.runPipeline, handler: createRunPipeline(options) },
    { name: ORCHESTRATOR_NAMES.pollStep, handler: pollStepOrchestrator },
    { name: ORCHESTRATOR_NAMES.runStep, handler: runStepOrchestrator },
    { name: ORCHESTRATOR_NAMES.runSteps, handler: runPipelineSteps },
  ];
}
