/**
 * What goes into and comes out of the `runPipeline` orchestrator. Types only; no secret values
 * ever: the definition names secrets, activities resolve them.
 */
import type { Json, JsonObject } from '../core/json';
import type { FailureInfo } from '../core/errors';
import type { RunTrigger, StepMetrics } from '../steps/protocol';

/**
 * The engine's version. Bumped by an engine change that histories recorded from the previous
 * version do not replay on (test/orchestration/engineHistoryReplay.test.ts fails): the new code
 * then ships under new orchestrator names, and the previous version's code stays registered under
 * its own until its runs have drained (src/engine/README.md, "Engine versions").
 */
export const ENGINE_VERSION = 1;

/**
 * The orchestrator names of one engine version. Version 1 keeps the names runs were started
 * under before versions existed; version n > 1 adds `_v<n>`, so Durable routes every
 * in-flight instance — and every sub-orchestration it starts — to the code that started it.
 */
export function orchestratorNames(version: number) {
  const v = version === 1 ? '' : `_v${version}`;
  return {
    runPipeline: `runPipeline${v}`,
    pollStep: `pollStepUntilDone${v}`,
    /** One step with its retries, when several steps run at once (see src/engine/README.md). */
    runStep: `runPipelineStep${v}`,
    /** A batch of a wide wave of parallel steps, so no orchestration awaits more than a few children (fanOut.ts). */
    runSteps: `runPipelineSteps${v}`,
    /** Holds the step states a continued run archived (archive.ts). */
    archive: `runPipelineArchive${v}`,
  } as const;
}

/** The names the shipped engine registers and starts runs under. */
export const ORCHESTRATOR_NAMES = orchestratorNames(ENGINE_VERSION);

/** The engine version a `runPipeline` orchestrator name belongs to; undefined for any other name. */
export function engineVersionOfRun(name: string): number | undefined {
  if (name === 'runPipeline') return 1;
  const match = /^runPipeline_v([1-9]\d*)$/.exec(name);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/** A succeeded step carried over from an earlier run (rerun from the failed step). */
export interface CarriedStep {
  readonly output?: Json;
  readonly metrics?: StepMetrics;
  /** The run that produced it. */
  readonly fromRunId: string;
}

export interface RunInput {
  /**
   * The pipeline's name. The orchestrators take its definition from the deployed definitions by
   * `definitionVersion` (content-addressed: definitions.ts), never from the input: whoever can start
   * an orchestration writes its input.
   */
  readonly pipeline: string;
  /** `definitionVersion(definition)` at start (src/pipelines/version.ts): the definition the run follows. */
  readonly definitionVersion: string;
  /** Also the Durable instance id. */
  readonly runId: string;
  readonly trigger: RunTrigger;
  /** Validated against the definition's parameters, defaults filled. */
  readonly parameters: JsonObject;
  /** Steps already succeeded in an earlier run: not executed again, their results reused. First execution only. */
  readonly resumeFrom?: { readonly runId: string; readonly steps: Readonly<Record<string, CarriedStep>> };
  /** Set when the run continued as new to bound its history: where the previous execution was. */
  readonly carry?: RunCarry;
}

/** Why a run stopped before its DAG settled, and when (epoch ms, the run's clock). */
export type Stop =
  | { readonly kind: 'cancelled'; readonly atMs: number; readonly reason?: string }
  | { readonly kind: 'timedOut'; readonly atMs: number };

/**
 * What `runPipeline` hands to its next execution (`continueAsNew`) when its history reaches the
 * bound. Compact on purpose — a few bytes per step — because an execution's input is replayed at
 * every one of its wake-ups: the full state of the steps that changed (attempts, outputs, errors)
 * goes to an archive instance instead (archive.ts), read back once when the run ends.
 */
export interface RunCarry {
  /** The run's start, epoch milliseconds (the first execution's first instant). */
  readonly startedMs: number;
  readonly pipelineAttempt: number;
  readonly retriesLeft: number;
  /** Executions so far (1 after the first continue). */
  readonly continued: number;
  /** One letter per step of the definition, in order: its status (`STATUS_LETTERS` in carry.ts). */
  readonly statuses: string;
  /** Attempts each step has made so far, in definition order. */
  readonly attempts: readonly number[];
  /** Indexes of the failed steps whose failure was permanent (pipeline retry's rule). */
  readonly permanent: readonly number[];
  /** Archive instances written so far (`<runId>:archive:<n>`, n from 1). */
  readonly archives: number;
  /** The run was interrupted and waits for its steps in flight to report. */
  readonly stop?: Stop;
  /** Step instances `reconcileRun` found missing once: missing again, their steps fail. */
  readonly missing?: readonly string[];
  /** Referenced values of the steps' results, by `<stepId>.<path>` (referenced.ts): only what some step refers to. */
  readonly values?: JsonObject;
  /** Referenced values too large to keep, with their size in bytes. */
  readonly oversize?: Readonly<Record<string, number>>;
  /** forEach steps expanded into items, in the order they expanded, with their item count (items.ts). */
  readonly expanded?: readonly (readonly [string, number])[];
  /** Per forEach step, its first failed item (index, error): what the step's error names once the item's own state is archived. */
  readonly itemFailures?: Readonly<Record<string, readonly [number, FailureInfo]>>;
}

export type RunStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export type StepStatus = 'pending' | 'running' | 'waiting' | 'succeeded' | 'failed' | 'skipped' | 'cancelled' | 'reused';

export interface StepAttemptSummary {
  readonly attempt: number;
  readonly startedAt: string;
  readonly endedAt?: string;
  readonly durationSeconds?: number;
  /** `cancelled`: in progress when the run was cancelled or timed out; it ends at that instant. */
  readonly status: AttemptStatus;
  readonly error?: FailureInfo;
}

export type AttemptStatus = 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface StepState {
  readonly id: string;
  readonly status: StepStatus;
  readonly attempts: readonly StepAttemptSummary[];
  readonly output?: Json;
  readonly metrics?: StepMetrics;
  readonly error?: FailureInfo;
  /** When the step waits: the time it resumes (retry delay or next poll). */
  readonly nextAt?: string;
  /** Only in a step sub-orchestration's custom status: attempts or output were left out to fit. */
  readonly partial?: true;
  /** A forEach step: its items by status (`{ total: 1000, succeeded: 997, failed: 3 }`); the items are steps `<id>[<index>]`. */
  readonly items?: Readonly<Record<string, number>>;
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
