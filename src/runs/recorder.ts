/**
 * What the activities write about a run. Implemented on Table Storage (runs/tableStore.ts);
 * every write is idempotent (activities run at least once), keyed by run id, step and attempt.
 */
import type { Json, JsonObject } from '../core/json';
import type { FailureInfo } from '../core/errors';
import type { RunStatus } from '../engine/types';
import type { RunTrigger, StepMetrics } from '../steps/protocol';

export interface RunRecord {
  readonly runId: string;
  readonly pipeline: string;
  /** The pipeline's project when the run was created (absent on runs recorded before projects). */
  readonly project?: string;
  /** The pipeline's tags, its schedule's and those given at start; what `runs ls --tag` filters by. */
  readonly tags?: readonly string[];
  readonly status: RunStatus;
  readonly trigger: RunTrigger;
  readonly parameters: JsonObject;
  readonly createdAt: string;
  readonly startedAt?: string;
  readonly endedAt?: string;
  readonly durationSeconds?: number;
  readonly pipelineAttempt?: number;
  readonly error?: FailureInfo & { readonly stepId?: string };
  /** Per step: rows loaded, dbt models… */
  readonly metrics?: Readonly<Record<string, StepMetrics>>;
  /** The run this one reruns. */
  readonly rerunOf?: string;
}

export interface AttemptRecord {
  readonly runId: string;
  readonly pipeline: string;
  readonly stepId: string;
  readonly attempt: number;
  readonly status: 'running' | 'succeeded' | 'failed';
  readonly startedAt: string;
  readonly endedAt?: string;
  readonly error?: FailureInfo;
  readonly metrics?: StepMetrics;
  readonly output?: Json;
}

export interface LogLine {
  readonly time: string;
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly msg: string;
  readonly stepId?: string;
  readonly attempt?: number;
  readonly fields?: JsonObject;
}

export interface RunRecorder {
  /** Creates or merges a run row; a terminal status is never overwritten by a non-terminal one. */
  upsertRun(run: Partial<RunRecord> & Pick<RunRecord, 'runId' | 'pipeline'>): Promise<void>;
  /** Writes one attempt of one step (same key on every retry of the activity). */
  recordAttempt(attempt: AttemptRecord): Promise<void>;
  /** Appends log lines to a run, in order, bounded per run. */
  appendLogs(runId: string, lines: readonly LogLine[]): Promise<void>;
  /**
   * Everything one activity execution writes about a run, in one request when it can (one entity
   * group transaction in the run's partition): the cheap path docs/run-store.md counts.
   */
  record(write: RunWrite): Promise<void>;
}

/** What one activity execution writes about a run. */
export interface RunWrite {
  readonly runId: string;
  readonly pipeline: string;
  /**
   * The first attempt of a step starts: the run exists and is running from here on. `root` (a step
   * with no dependencies) is where a run normally begins, so the row is created there.
   */
  readonly start?: {
    readonly root: boolean;
    readonly trigger: RunTrigger;
    readonly parameters: JsonObject;
    /** The deployed pipeline's project and the run's tags (pipeline's, schedule's, given at start). */
    readonly project?: string;
    readonly tags?: readonly string[];
  };
  /** The run ended: its terminal fields (written once; a second end keeps the first status). */
  readonly finish?: Partial<RunRecord> & Pick<RunRecord, 'status'>;
  readonly attempts?: readonly AttemptRecord[];
  readonly lines?: readonly LogLine[];
}

/**
 * A RunWrite as separate calls of the three methods: what a recorder without transactions does,
 * and the Table store's path when its one-request write is refused.
 */
export async function recordStepByStep(recorder: Pick<RunRecorder, 'upsertRun' | 'recordAttempt' | 'appendLogs'>, write: RunWrite): Promise<void> {
  const { runId, pipeline } = write;
  if (write.start) {
    const { project, tags } = write.start;
    await recorder.upsertRun({ runId, pipeline, status: 'running', trigger: write.start.trigger, parameters: write.start.parameters, ...(project === undefined ? {} : { project }), ...(tags === undefined ? {} : { tags }) });
  }
  if (write.finish) await recorder.upsertRun({ ...write.finish, runId, pipeline });
  for (const a of write.attempts ?? []) await recorder.recordAttempt(a);
  if ((write.lines ?? []).length > 0) await recorder.appendLogs(runId, write.lines ?? []);
}
