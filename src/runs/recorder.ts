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
}
