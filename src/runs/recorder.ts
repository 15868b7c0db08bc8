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
  /** `definitionVersion` of the definition the run was started with (set by the API and the scheduler). */
  readonly definitionVersion?: string;
}

export interface AttemptRecord {
  readonly runId: string;
  readonly pipeline: string;
  readonly stepId: string;
  readonly attempt: number;
  /** `cancelled`: in progress when its run was cancelled or timed out (src/engine/README.md, "Interrupts"). */
  readonly status: 'running' | 'succeeded' | 'failed' | 'cancelled';
  readonly startedAt: string;
  readonly endedAt?: string;
  readonly error?: FailureInfo;
  readonly metrics?: StepMetrics;
  readonly output?: Json;
  /**
   * The attempt's real outcome (kept in `status`, `endedAt`…) arrived after its run had ended or
   * given up on it (a synchronous call that cannot be stopped): the run's state says how the run
   * ended the attempt, and the step's status is what the run decided.
   */
  readonly finishedAfterEnd?: true;
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
  /** Writes an attempt the run abandoned, keeping an answer already recorded (`abandonedOver`). */
  recordAbandoned(attempt: AttemptRecord): Promise<void>;
  /** Writes an activity's answer for its whole attempt, marked late over an abandonment (`answerOver`). */
  recordAnswer(attempt: AttemptRecord): Promise<void>;
  /** Appends log lines to a run, in order, bounded per run. */
  appendLogs(runId: string, lines: readonly LogLine[]): Promise<void>;
  /**
   * Everything one activity execution writes about a run, in one request when it can (one entity
   * group transaction in the run's partition): the cheap path docs/run-store.md counts.
   */
  record(write: RunWrite): Promise<void>;
  /**
   * Claims an attempt's start before its effect (issue 26): `write` (the run's start, the attempt's
   * `running` row, its "started" line) in one request, the row inserted. A row already there means
   * an earlier delivery of this start got that far: `first: false`, with what it recorded. A first
   * claim's answer then passes `claimedEtag`. Absent on recorders that cannot tell (tests' in-memory ones).
   */
  claimAttempt?(write: RunWrite): Promise<AttemptClaim>;
}

/**
 * What `claimAttempt` found. `etag`: the attempt row as this delivery claimed it, for the answer's
 * write; a delivery that found an earlier claim has none (its answer goes through `recordAnswer`).
 */
export type AttemptClaim = { readonly first: true; readonly etag?: string } | { readonly first: false; readonly existing?: AttemptRecord };

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
  /**
   * Attempts the run ended without their activity's answer (cancelled, timed out): written unless
   * the activity's own answer is already there, which is then kept and marked `finishedAfterEnd`.
   */
  readonly abandoned?: readonly AttemptRecord[];
  /**
   * The activity both started and ended its attempt (a synchronous step): its row is inserted, so
   * an abandonment the run recorded first is found, not overwritten (`answerOver`).
   */
  readonly wholeAttempt?: true;
  /**
   * The attempt's row as this delivery claimed it (`claimAttempt`): the answer replaces it only if
   * nothing wrote it since (If-Match); an abandonment the run recorded meanwhile keeps the answer
   * marked late (`answerOver`).
   */
  readonly claimedEtag?: string;
  readonly lines?: readonly LogLine[];
}

/** What activities check a run against before they act (src/activities/runGate.ts). */
export interface RunGateRecord {
  /** The run's record, created by the API or the scheduler before the run started. */
  readonly record?: RunRecord;
  /** When a cancel was requested, if one was (the API records it before raising the event). */
  readonly cancelRequestedAt?: string;
  /** Who asked for it, as the API recorded it (`user:…`, `key`); absent for a cancel raised outside the API. */
  readonly cancelledBy?: string;
}

export interface RunGateReader {
  /** The run's record and cancel request (one read where the store can). */
  findRunGate(runId: string): Promise<RunGateRecord>;
}

/** Error codes of the records the run writes for attempts it gave up on (not an activity's answer). */
const GIVEN_UP = new Set(['run-cancelled', 'run-timed-out', 'step-timed-out']);

const givenUp = (attempt: AttemptRecord | undefined): boolean => GIVEN_UP.has(attempt?.error?.code ?? '');

/** An activity's answer written over what is recorded: over an abandonment it is late, and says so. */
export function answerOver(existing: AttemptRecord | undefined, answer: AttemptRecord): AttemptRecord {
  return givenUp(existing) ? { ...answer, finishedAfterEnd: true } : answer;
}

/**
 * An attempt the run ended without its activity's answer, written over what is recorded: over a
 * `running` row or an earlier such record it stands (the attempt's start kept); over an answer the
 * activity recorded, the answer stays, marked as having come after the end.
 */
export function abandonedOver(existing: AttemptRecord | undefined, abandoned: AttemptRecord): AttemptRecord {
  if (!existing || existing.status === 'running' || givenUp(existing)) return { ...abandoned, startedAt: existing?.startedAt ?? abandoned.startedAt };
  if (existing.status === abandoned.status) return existing;
  return { ...existing, finishedAfterEnd: true };
}

/**
 * A RunWrite as separate calls of the three methods: what a recorder without transactions does,
 * and the Table store's path when its one-request write is refused.
 */
export async function recordStepByStep(recorder: Pick<RunRecorder, 'upsertRun' | 'recordAttempt' | 'recordAbandoned' | 'recordAnswer' | 'appendLogs'>, write: RunWrite): Promise<void> {
  const { runId, pipeline } = write;
  if (write.start) {
    const { project, tags } = write.start;
    await recorder.upsertRun({ runId, pipeline, status: 'running', trigger: write.start.trigger, parameters: write.start.parameters, ...(project === undefined ? {} : { project }), ...(tags === undefined ? {} : { tags }) });
  }
  for (const a of write.attempts ?? []) await ((write.wholeAttempt || write.claimedEtag !== undefined) && a.status !== 'running' ? recorder.recordAnswer(a) : recorder.recordAttempt(a));
  for (const a of write.abandoned ?? []) await recorder.recordAbandoned(a);
  if ((write.lines ?? []).length > 0) await recorder.appendLogs(runId, write.lines ?? []);
  // The run's end last: a reader that sees the run ended finds its attempts and its last line
  // written (the fault suite read a run ended with its attempts still missing here).
  if (write.finish) await recorder.upsertRun({ ...write.finish, runId, pipeline });
}
