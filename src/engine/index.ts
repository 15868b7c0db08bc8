/** The orchestrators, for the registration file and the development host. */
import type { OrchestrationHandler } from 'durable-functions';
import { runPipelineArchive } from './archive';
import { pollStepOrchestrator } from './pollStep';
import { createRunPipeline, type RunPipelineOptions } from './runPipeline';
import { runPipelineSteps } from './fanOut';
import { createRunPipelineStep } from './runStep';
import { ORCHESTRATOR_NAMES } from './types';

export { createRunPipeline, CANCEL_EVENT, CHECK_IN_MS, HISTORY_BOUND, type FinishRunInput, type RunPipelineOptions } from './runPipeline';
export { pollStepUntilDone, pollStepOrchestrator, DEFAULT_POLLS_PER_EXECUTION, type PollOrchestratorInput, type PollStatus } from './pollStep';
export { createRunPipelineStep, stepInstanceId, type RunStepInput } from './runStep';
export { pollInstanceId } from './stepRoutine';
export { runPipelineSteps, FAN_OUT, type RunStepsInput } from './fanOut';
export { archiveInstanceId, type ArchiveInput } from './archive';
export { INTERRUPT_EVENT, type InterruptEvent } from './interrupts';
export type { DefinitionSource } from './definitions';
export { ENGINE_VERSION, ORCHESTRATOR_NAMES, orchestratorNames, engineVersionOfRun } from './types';
export type { RunInput, RunState, StepState, RunStatus, StepStatus, StepAttemptSummary, AttemptStatus } from './types';

/** Every orchestrator the engine needs, by registered name. */
export function engineOrchestrators(options: RunPipelineOptions): readonly { name: string; handler: OrchestrationHandler }[] {
  return [
    { name: ORCHESTRATOR_NAMES.runPipeline, handler: createRunPipeline(options) },
    { name: ORCHESTRATOR_NAMES.pollStep, handler: pollStepOrchestrator },
    { name: ORCHESTRATOR_NAMES.runStep, handler: createRunPipelineStep(options.definitions) },
    { name: ORCHESTRATOR_NAMES.runSteps, handler: runPipelineSteps },
    { name: ORCHESTRATOR_NAMES.archive, handler: runPipelineArchive },
  ];
}
