/**
 * The contract between the orchestrator and the step activities. Types only: the orchestrator
 * imports it. A step activity either finishes (`succeeded`) or starts long work and hands back a
 * poll handle (`running`); failures are thrown as classified errors (core/errors.ts).
 */
import type { FailureInfo } from '../core/errors';
import type { Json, JsonObject } from '../core/json';

/** Numbers a step reports: rows loaded, files, dbt models… shown in run views and alerts. */
export type StepMetrics = Record<string, number | string | boolean | null>;

export type StepOutcome =
  | {
      readonly status: 'succeeded';
      /** Small, secret-free result kept in the run record (bounded by the adapter). */
      readonly output?: Json;
      readonly metrics?: StepMetrics;
    }
  | {
      readonly status: 'running';
      /** Whatever the adapter needs to find the job again (query id, status URL, run id). No secrets. */
      readonly handle: JsonObject;
      /** When to poll next; the service's hint (Retry-After) when it gave one. */
      readonly pollAfterSeconds: number;
      readonly metrics?: StepMetrics;
    };

/** Who or what started a run. */
export interface RunTrigger {
  readonly kind: 'manual' | 'schedule' | 'rerun' | 'api' | 'backfill' | 'pipeline' | 'event';
  /** Schedule name, rerun source run id, backfill id, API caller… */
  readonly origin?: string;
  /** The slot time (ISO) for scheduled runs. */
  readonly scheduledFor?: string;
  /** When the run was asked for (ISO), for runs nobody scheduled: their logical date. */
  readonly requestedAt?: string;
  /** Who started it through the API: `user:<name>` (signed in) or `key` (a function key). Schedules: absent. */
  readonly by?: string;
  /** Tags given when the run was started (added to its pipeline's and schedule's on the run record). */
  readonly tags?: readonly string[];
}

/**
 * Input of the `startStep` activity (and of user `activity` steps). Ids, not definitions: the
 * activity looks the step up in the deployed catalog by pipeline name and step id, and acts only
 * when the deployed definition's version is the one the run started with. Whoever can start an
 * orchestration can write anything into its input; nothing here can point a secret elsewhere.
 */
export interface StepActivityInput {
  readonly runId: string;
  readonly pipeline: string;
  /** `definitionVersion()` of the definition the run started with (src/pipelines/version.ts). */
  readonly definitionVersion: string;
  readonly stepId: string;
  /** 1-based attempt of this step within the run (pipeline retries continue the count). */
  readonly attempt: number;
  /** Re-validated by the activity against the deployed definition's declared parameters. */
  readonly parameters: JsonObject;
  readonly trigger: RunTrigger;
  /**
   * The upstream values the step refers to, by `<stepId>.<path>` (docs/pipelines.md): only those,
   * each at most `REFERENCE_LIMIT_BYTES` as JSON. Absent when the step refers to none.
   */
  readonly upstream?: JsonObject;
  /** The item, when the step is an item of a forEach step (`stepId` is then `<id>[<index>]`). */
  readonly item?: Json;
}

/** Input of the `pollStep` activity. */
export interface PollActivityInput extends StepActivityInput {
  readonly handle: JsonObject;
  /** Seconds since the attempt started, by the orchestrator's clock. */
  readonly elapsedSeconds: number;
}

/**
 * Input of the `cancelStep` activity: best-effort stop of a polled job, because the step timed out
 * (`timeout`), the run was cancelled (`cancelled`) or the run timed out (`runTimedOut`).
 */
export interface CancelActivityInput extends StepActivityInput {
  readonly handle: JsonObject;
  readonly reason: 'cancelled' | 'timeout' | 'runTimedOut';
}

/**
 * What `cancelStep` answers when the run stopped: the job's outcome if it had already finished by
 * then (it is polled once before it is asked to stop), so a job that ended before the interrupt
 * keeps its end (README, "Interrupts").
 */
export interface CancelStepAnswer {
  readonly finished?: { readonly status: 'succeeded'; readonly output?: Json; readonly metrics?: StepMetrics } | { readonly status: 'failed'; readonly error: FailureInfo };
}

export const ACTIVITY_NAMES = {
  startStep: 'startStep',
  pollStep: 'pollStep',
  cancelStep: 'cancelStep',
  finishRun: 'finishRun',
  /** Raises `stepDone` to a step sub-orchestration's parent run (activities/notifyStepDone.ts). */
  notifyStepDone: 'notifyStepDone',
  /**
   * Checks the run against the record the API or the scheduler created, and reads its steps'
   * sub-orchestrations and its cancel request (activities/reconcileRun.ts).
   */
  reconcileRun: 'reconcileRun',
  /** Raises `interrupt` to a cancelled run's step sub-orchestrations, recording the cancel (activities/stopSteps.ts). */
  stopSteps: 'stopSteps',
  /** Reads back the step states a continued run archived (activities/collectRunState.ts). */
  collectRunState: 'collectRunState',
  /** Takes a slot of a shared pool, or a place in its queue (src/pools/activities.ts). */
  acquirePool: 'acquirePoolSlot',
  /** Gives back a step attempt's or a whole run's slots and places (src/pools/activities.ts). */
  releasePools: 'releasePoolSlots',
} as const;

/** Input of `reconcileRun`: the run as the orchestration knows it, checked against its record. */
export interface ReconcileRunInput {
  readonly runId: string;
  readonly pipeline: string;
  readonly definitionVersion: string;
  readonly trigger: RunTrigger;
  readonly parameters: JsonObject;
  /** The `runPipelineStep` instances of the steps the run counts as running, compact (`compactInstances`). */
  readonly steps: string;
}

/** Input of `stopSteps`. */
export interface StopStepsInput {
  readonly runId: string;
  /** The steps in flight, compact (`compactInstances`). */
  readonly steps: string;
  readonly kind: 'cancelled' | 'timedOut';
  /** The run's instant of the interrupt (epoch ms). */
  readonly atMs: number;
  readonly reason?: string;
}

/** Input of `collectRunState`. */
export interface CollectRunStateInput {
  readonly runId: string;
  /** Archive instances written (`<runId>:archive:1` … `:archive:<archives>`). */
  readonly archives: number;
}

/** The code of a refusal to run: the run's input does not match the record the API created. */
export const RUN_REFUSED_CODE = 'run-refused';

/** External event a step sub-orchestration raises to its run (through `notifyStepDone`) when it ends. */
export const STEP_DONE_EVENT = 'stepDone';

/**
 * What activity `reconcileRun` answers (activities/reconcileRun.ts). A step whose sub-orchestration
 * has not completed yet but whose custom status shows its final state (it ended and is still
 * telling the run) counts as finished: that is what a lost notice said.
 */
export interface ReconcileRunAnswer {
  /** Finished sub-orchestrations' results (a `runPipelineStep` returns its step's final state). */
  readonly results: readonly { readonly instanceId: string; readonly state: unknown }[];
  /** Sub-orchestrations that failed or were terminated, with the reason. */
  readonly failed: readonly { readonly instanceId: string; readonly message: string }[];
  /** Sub-orchestrations that do not exist (or no longer do). */
  readonly missing: readonly string[];
  /** When a cancel of the run was requested, if one was. */
  readonly cancelRequestedAt: string | null;
}
