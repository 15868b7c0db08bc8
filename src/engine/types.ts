/**
 * What goes into and comes out of the `runPipeline` orchestrator. Types only; no secret values
 * ever: the definition names secrets, activities resolve them.
 */
import type { Json, JsonObject } from '../core/json';
import type { FailureInfo } from '../core/errors';
import type { PipelineDefinition } from '../pipelines/schema';
import type { RunTrigger, StepMetrics } from '../steps/protocol';

export const ORCHESTRATOR_NAMES = {
  runPipeline: 'runPipeline',
  pollStep: 'pollStepUntilDone',
  /** One step with its retries, when several steps run at once (see src/engine/README.md). */
  runStep: 'runPipelineStep',
  /** A batch of a wide wave of parallel steps, so no orchestration awaits more than a few children (fanOut.ts). */
  runSteps: 'runPipelineSteps',
} as const;

/** A succeeded step carried over from an earlier run (rerun from the failed step). */
export interface CarriedStep {
  readonly output?: Json;
  readonly metrics?: StepMetrics;
  /** The run that produced it. */
  readonly fromRunId: string;
}

export interface RunInput {
  /**
   * The definition as validated at start. The orchestrator reads only its shape from it (steps and
   * dependencies, retry policies, timeouts); activities act on the deployed definition, looked up
   * by name and checked against `definitionVersion`, so a crafted definition here sends nothing
   * anywhere the deployed one does not.
   */
  readonly pipeline: PipelineDefinition;
  /** `definitionVersion(pipeline)` at start (src/pipelines/version.ts): a redeploy while running fails the run's next step. */
  readonly definitionVersion: string;
  /** Also the Durable instance id. */
  readonly runId: string;
  readonly trigger: RunTrigger;
  /** Validated against the definition's parameters, defaults filled. */
  readonly parameters: JsonObject;
  /** Steps already succeeded in an earlier run: not executed again, their results reused. */
  readonly resumeFrom?: { readonly runId: string; readonly steps: Readonly<Record<string, CarriedStep>> };
  /** Set when the run continued as new to bound its history: where the previous execution was. */
  readonly carry?: RunCarry;
}

/**
 * The state `runPipeline` hands to its next execution (`continueAsNew`, runPipeline.ts) when its
 * history passes the bound: every step's state, the retry budget, and the steps still running in
 * sub-orchestrations of an earlier execution (step id → instance id).
 */
export interface RunCarry {
  /** The run's start, epoch milliseconds (the first execution's first instant). */
  readonly startedMs: number;
  readonly pipelineAttempt: number;
  readonly retriesLeft: number;
  readonly steps: readonly StepState[];
  readonly inFlight: Readonly<Record<string, string>>;
  /** Executions so far (1 after the first continue). */
  readonly continued: number;
}

export type RunStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export type StepStatus = 'pending' | 'running' | 'waiting' | 'succeeded' | 'failed' | 'skipped' | 'cancelled' | 'reused';

export interface StepAttemptSummary {
  readonly attempt: number;
  readonly startedAt: string;
  readonly endedAt?: string;
  readonly durationSeconds?: number;
  readonly status: 'running' | 'succeeded' | 'failed';
  readonly error?: FailureInfo;
}

export interface StepState {
  readonly id: string;
  readonly status: StepStatus;
  readonly attempts: readonly StepAttemptSummary[];
  readonly output?: Json;
  readonly metrics?: StepMetrics;
  readonly error?: FailureInfo;
  /** When the step waits: the time it resumes (retry delay or next poll). */
  readonly nextAt?: string;
  /** When the step waits for a slot of a shared pool: which, and its place in the queue. */
  readonly pool?: PoolWait;
}

/** "waiting for pool X (position N)": N as of the waiter's last look at the queue. */
export interface PoolWait {
  readonly name: string;
  readonly position: number;
}

export interface PipelineRetryWait {
  /** The pipeline attempt that will run (2 for the first pipeline retry). */
  readonly attempt: number;
  /** When it starts, ISO. */
  readonly at: string;
}

/** Custom status while running, and the orchestrator's output when done: one shape for live views. */
export interface RunState {
  readonly runId: string;
  readonly pipeline: string;
  readonly status: RunStatus;
  /** 1 + pipeline retries used so far. */
  readonly pipelineAttempt: number;
  /**
   * Set while a failed round waits for its pipeline retry: the attempt that comes and when (the
   * durable timer's fire time). Cleared when that attempt starts.
   */
  readonly pipelineRetry?: PipelineRetryWait;
  /** Set while the run waits for a slot of a run-level pool, before its first step. */
  readonly pool?: PoolWait;
  readonly startedAt: string;
  readonly endedAt?: string;
  readonly durationSeconds?: number;
  readonly steps: readonly StepState[];
  readonly error?: FailureInfo & { readonly stepId?: string };
}
