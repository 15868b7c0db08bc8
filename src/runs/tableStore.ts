/**
 * The run store on Table Storage: what activities write about runs (RunRecorder), what the HTTP API
 * reads (RunQueries, ScheduleControl, IdempotencyKeys), what the scheduler needs (SchedulerStore),
 * and retention. Layout and reasons: docs/run-store.md.
 *
 * Two rules keep it correct under at-least-once activities and concurrent writers:
 * - the row that is the truth (run, attempt, slot, state) is written last and with an ETag; derived
 *   rows (indexes, pipeline head) are written first and are idempotent. A crash leaves at most a
 *   derived row pointing at a run that does not (yet) say so; readers check every index hit against
 *   the run row and drop the ones that do not match;
 * - insert-if-absent (`createEntity`, 409 when the row exists) is the exactly-once guard for slots
 *   and idempotency keys.
 */
import { TableTransaction, type TableClient, type TableEntityResult, type TransactionAction } from '@azure/data-tables';
import type { RunStatus } from '../engine/types';
import type { PipelineDefinition } from '../pipelines/schema';
import { PENDING_OUTCOMES, type CheckpointChanges, type ScheduleState, type SchedulerStore, type SlotEntry, type SlotOutcome } from '../scheduler/ports';
import { parseRecordedSchedule, recordedSchedule } from '../scheduler/owedSlots';
import { abandonedOver, answerOver, recordStepByStep, type AttemptClaim, type AttemptRecord, type LogLine, type RunGateReader, type RunGateRecord, type RunRecord, type RunRecorder, type RunWrite } from './recorder';
import {
  attemptFromEntity,
  attemptProps,
  encodeJson,
  isTerminal,
  logFromEntity,
  logProps,
  mergeMetrics,
  nextStatus,
  runFromEntity,
  runProps,
  slotFromEntity,
  slotProps,
  type EntityProps,
} from './entities';
import {
  ATTEMPT_PREFIX,
  decodeCursor,
  encodeCursor,
  encodeKeyPart,
  END_ROW,
  IDEMPOTENCY_MARKER_ROW,
  indexPartition,
  indexRowKey,
  projectIndexPartition,
  tagIndexPartition,
  fromInvertedTime,
  invertedTime,
  LOG_CURSOR,
  LOG_META_ROW,
  LOG_PREFIX,
  LogCursorClock,
  logRowKey,
  META_PARTITION,
  META_ROW,
  monthBucket,
  monthsDescending,
  odataString,
  attemptRowKey,
  pendingSlotRowKey,
  PENDING_PREFIX,
  prefixEnd,
  RUN_ROW,
  SCHEDULE_STATE_ROW,
  schedulePartition,
  slotRowKey,
  SLOT_PREFIX,
  type ListCursor,
} from './keys';
import { DefinitionStore } from './definitionStore';
import { ensureTable, statusOf, type RunStoreTables } from './tables';
import { TablePoolStore } from '../pools/tableStore';
import { BackfillStore } from '../backfill/store';
import { ApprovalStore } from '../steps/approval/store';
import { TriggerHistory } from '../triggers/history';

export interface RunStoreOptions {
  readonly tables: RunStoreTables;
  /** Log lines kept per run by `appendLogs`; later lines are counted as dropped. */
  readonly maxLogLinesPerRun?: number;
  readonly now?: () => Date;
}

export interface ListRunsQuery {
  readonly pipeline?: string;
  /** Runs of any of these projects: each project's own index is walked. */
  readonly projects?: readonly string[];
  /** Runs carrying every one of these tags: the first tag's index is walked. */
  readonly tags?: readonly string[];
  readonly status?: RunStatus;
  /** ISO; runs created at or after. */
  readonly since?: string;
  /** ISO; runs created before. */
  readonly until?: string;
  readonly limit: number;
  readonly cursor?: string;
}

export interface RunPage {
  readonly runs: readonly RunRecord[];
  readonly nextCursor?: string;
  /** Stopped at RUN_SCAN_BUDGET under a status filter: fewer runs than `limit`, more may follow the cursor. */
  readonly partial?: boolean;
}

export interface LogPage {
  readonly lines: readonly (LogLine & { readonly cursor: string })[];
  readonly nextCursor?: string;
  /** Lines not stored because the run reached its bound. */
  readonly dropped: number;
}

export interface PurgeResult {
  /** Runs whose records were deleted: purge their Durable history too. */
  readonly runIds: readonly string[];
  readonly slotsDeleted: number;
}

/** Thrown for a cursor this store did not issue (the API answers 400). */
/** Runs one list request examines at most under a status filter (one point read each). */
export const RUN_SCAN_BUDGET = 200;

/** An idempotency key sent again with another request (other parameters, another `from`). */
export class IdempotencyKeyReusedError extends Error {
  override readonly name = 'IdempotencyKeyReusedError';
  constructor(readonly runId: string) {
    super(`this idempotency key was used for another request (run ${runId})`);
  }
}

export class InvalidCursorError extends Error {
  override readonly name = 'InvalidCursorError';
}

const MAX_RETRIES = 20;
const MAX_LIMIT = 1000;
/** A transaction holds ≤ 100 operations; one is the log meta row. */
const LOG_LINES_PER_BATCH = 99;
/** Entity group transactions: ≤ 100 operations, one partition (Table service REST, "Performing entity group transactions"). */
const MAX_TRANSACTION_ACTIONS = 100;

type Row = TableEntityResult<Record<string, unknown>>;
const rowKeyOf = (row: Row): string => row.rowKey ?? '';

async function getOrUndefined(client: TableClient, pk: string, rk: string): Promise<Row | undefined> {
  try {
    return await client.getEntity<Record<string, unknown>>(pk, rk);
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw error;
  }
}

async function ignore404(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (error) {
    if (statusOf(error) !== 404) throw error;
  }
}

const isConflict = (error: unknown): boolean => {
  const s = statusOf(error);
  return s === 409 || s === 412;
};

async function queryAll(client: TableClient, filter: string, select?: string[]): Promise<Row[]> {
  const out: Row[] = [];
  const iter = client.listEntities<Record<string, unknown>>({ queryOptions: { filter, ...(select ? { select } : {}) } });
  for await (const row of iter) out.push(row);
  return out;
}

const pkEq = (pk: string): string => `PartitionKey eq ${odataString(pk)}`;
const rangeFilter = (pk: string, from: string, to: string, fromInclusive = true): string =>
  `${pkEq(pk)} and RowKey ${fromInclusive ? 'ge' : 'gt'} ${odataString(from)} and RowKey lt ${odataString(to)}`;

/** A month whose listing table was never created holds no rows. */
function emptyIfNoTable(error: unknown): Row[] {
  if (statusOf(error) === 404) return [];
  throw error;
}

/** A month whose listing table was never created holds no rows: its pages are none. */
async function* withoutMissingTable<T>(pages: AsyncIterable<T>): AsyncIterable<T> {
  try {
    yield* pages;
  } catch (error) {
    if (statusOf(error) !== 404) throw error;
  }
}

interface IndexHit {
  readonly id: string;
  readonly ms: number;
}

/**
 * The listing layout, as the `meta` row's `layout` says: 2 = every run's listing rows are in its
 * month's table (`<prefix>RunIndex<yyyymm>`) with its project and tag rows. Absent: an upgraded
 * store, whose earlier runs have their all-runs row in `<prefix>RunIndex` and no project or tag rows
 * until backfillLabels copies them.
 */
const LISTING_LAYOUT = 2;
/** Runs a backfill handles at once. */
const BACKFILL_WIDTH = 16;

/** Row of a run's partition holding its first cancel request. */
const CANCEL_ROW = 'cancel';
/** Rows of a run's partition that record its alerts (claimAlert). */
const ALERT_PREFIX = 'alert~';

/** What a listed run must be, checked on its run row (which holds the current status). */
interface RunMatch {
  readonly pipeline?: string | undefined;
  readonly status?: RunStatus | undefined;
  readonly projects?: readonly string[] | undefined;
  readonly tags?: readonly string[] | undefined;
}

function matches(run: RunRecord, m: RunMatch): boolean {
  if (m.status !== undefined && run.status !== m.status) return false;
  if (m.pipeline !== undefined && run.pipeline !== m.pipeline) return false;
  if (m.projects !== undefined && !m.projects.includes(run.project ?? 'default')) return false;
  return (m.tags ?? []).every((t) => (run.tags ?? []).includes(t));
}

/**
 * Which index partitions a listing walks and what it filters inside them: a tag's (the first tag
 * asked for), else one per project asked for, else the all-runs index. Pipeline and project
 * filters run server-side inside the partition; every hit is checked on its run row.
 */
function indexPlan(q: { pipeline?: string | undefined; projects?: readonly string[] | undefined; tags?: readonly string[] | undefined; status?: RunStatus | undefined }): {
  partitions(bucket: string): string[];
  /** The all-runs index: runs recorded before the month tables may still be in the first table (backfillLabels). */
  allRuns: boolean;
  filter: string;
  match: RunMatch;
} {
  const projects = q.projects === undefined ? undefined : [...new Set(q.projects)];
  const firstTag = q.tags?.[0];
  let filter = q.pipeline === undefined ? '' : ` and pipeline eq ${odataString(q.pipeline)}`;
  const match: RunMatch = { pipeline: q.pipeline, status: q.status, projects, tags: q.tags };
  if (firstTag !== undefined) {
    if (projects !== undefined) filter += ` and (${projects.map((p) => `project eq ${odataString(p)}`).join(' or ')})`;
    return { partitions: (bucket) => [tagIndexPartition(firstTag, bucket)], allRuns: false, filter, match };
  }
  if (projects !== undefined) return { partitions: (bucket) => projects.map((p) => projectIndexPartition(p, bucket)), allRuns: false, filter, match };
  return { partitions: (bucket) => [indexPartition(bucket)], allRuns: true, filter, match };
}

/** The project and tag index partitions of a run's month. */
function labeledPartitions(labels: { readonly project?: string | undefined; readonly tags?: readonly string[] | undefined }, bucket: string): string[] {
  return [...(labels.project === undefined ? [] : [projectIndexPartition(labels.project, bucket)]), ...[...new Set(labels.tags ?? [])].map((t) => tagIndexPartition(t, bucket))];
}

/** The labels an all-runs index row names (written with the run's project and tags). */
function labelsOfIndexRow(row: Record<string, unknown>): { project?: string; tags?: readonly string[] } {
  const tags = typeof row['tags'] === 'string' ? (JSON.parse(row['tags']) as unknown) : undefined;
  return {
    ...(typeof row['project'] === 'string' ? { project: row['project'] } : {}),
    ...(Array.isArray(tags) ? { tags: tags.filter((t): t is string => typeof t === 'string') } : {}),
  };
}

export class TableRunStore implements RunRecorder, RunGateReader, SchedulerStore {
  /** As a health check (GET /api/health): `check()` below. */
  readonly name = 'table-storage';
  private readonly t: RunStoreTables;
  private readonly maxLogLines: number;
  private readonly now: () => Date;
  private readonly logCursors = new LogCursorClock();
  /** Month bounds known to be recorded in the meta row (only ever widen). */
  private knownBounds: { oldest: string; newest: string } | undefined;
  private poolStore: TablePoolStore | undefined;

  /** The definitions runs were started with, by version (pinned by `startRunOnce`). */
  readonly definitions: DefinitionStore;

  constructor(options: RunStoreOptions) {
    this.t = options.tables;
    this.definitions = new DefinitionStore(options.tables.definitions);
    this.maxLogLines = options.maxLogLinesPerRun ?? 5000;
    this.now = options.now ?? (() => new Date());
  }

  /** The pools' ledgers, in the same account (created on first use). */
  pools(): TablePoolStore {
    this.poolStore ??= new TablePoolStore(this.t.pools);
    return this.poolStore;
  }

  /** The store's clock (the dev host's virtual one in tests). */
  clock(): Date {
    return this.now();
  }

  /** Creates the run store's tables if needed (once per process; the pinned definitions' too, so a run's start does not pay for it). */
  async ready(): Promise<void> {
    // This month's listing table too, so a run's start does not pay for it (a later month's is
    // created by the first run of that month: writeIndexRow).
    await Promise.all([ensureTable(this.t.runs), ensureTable(this.t.index), ensureTable(this.t.listing(monthBucket(this.now().getTime()))), ensureTable(this.t.schedules), ensureTable(this.t.idempotency), ensureTable(this.t.definitions)]);
  }

  // ───────────────────────────── RunRecorder ─────────────────────────────

  async upsertRun(run: Partial<RunRecord> & Pick<RunRecord, 'runId' | 'pipeline'>): Promise<void> {
    await this.ready();
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const existing = await getOrUndefined(this.t.runs, run.runId, RUN_ROW);
      try {
        if (existing) await this.updateRun(existing, run);
        else await this.createRun(run);
        return;
      } catch (error) {
        if (!isConflict(error)) throw error;
      }
    }
    throw new Error(`run ${run.runId}: too many concurrent writers`);
  }

  /**
   * The run's record, written by the API or the scheduler before the orchestration starts: the
   * record every activity of the run checks it against (src/activities/runGate.ts). Insert only:
   * false when the run already has one (a retried start keeps the first).
   */
  async createPendingRun(run: Pick<RunRecord, 'runId' | 'pipeline' | 'trigger' | 'parameters' | 'definitionVersion' | 'project' | 'tags'>): Promise<boolean> {
    await this.ready();
    try {
      await this.createRun({ ...run, status: 'pending' });
      return true;
    } catch (error) {
      if (statusOf(error) === 409) return false;
      throw error;
    }
  }

  /** Pins the definition a run starts with (definitionStore.ts); its version. */
  pinDefinition(definition: PipelineDefinition): Promise<string> {
    return this.definitions.pin(definition);
  }

  /** The run's record and its cancel request, in one query of the run's partition. */
  async findRunGate(runId: string): Promise<RunGateRecord> {
    await this.ready();
    const rows = await queryAll(this.t.runs, `${pkEq(runId)} and (RowKey eq ${odataString(RUN_ROW)} or RowKey eq ${odataString(CANCEL_ROW)})`);
    const run = rows.find((r) => r.rowKey === RUN_ROW);
    const cancelRow = rows.find((r) => r.rowKey === CANCEL_ROW);
    const cancel = cancelRow?.['requestedAt'];
    const by = cancelRow?.['by'];
    return {
      ...(run ? { record: runFromEntity(runId, run) } : {}),
      ...(typeof cancel === 'string' ? { cancelRequestedAt: cancel } : {}),
      ...(typeof by === 'string' ? { cancelledBy: by } : {}),
    };
  }

  private async createRun(run: Partial<RunRecord> & Pick<RunRecord, 'runId' | 'pipeline'>): Promise<void> {
    const createdAt = run.createdAt ?? this.now().toISOString();
    const status = run.status ?? 'pending';
    const full: RunRecord = { trigger: { kind: 'manual' }, parameters: {}, ...run, createdAt, status };
    const ms = Date.parse(createdAt);
    // The derived row first: a crash before the run row leaves only an index hit readers drop.
    await this.writeIndexRow(run.runId, run.pipeline, ms, run);
    try {
      await this.t.runs.createEntity({ partitionKey: run.runId, rowKey: RUN_ROW, ...runProps(full) });
    } catch (error) {
      if (statusOf(error) === 409) await this.discardLosingCreate(run.runId, ms, run);
      throw error;
    }
  }

  /**
   * The run's index rows (and the month bounds listings walk): the all-runs row, which names the
   * project and tags so retention finds the others, one in its project's index and one per tag.
   * Idempotent.
   */
  private async writeIndexRow(runId: string, pipeline: string, ms: number, labels: { readonly project?: string | undefined; readonly tags?: readonly string[] | undefined } = {}): Promise<void> {
    const bucket = monthBucket(ms);
    await this.extendBounds(bucket);
    const rowKey = indexRowKey(ms, runId);
    const row = { rowKey, runId, pipeline, ...(labels.project === undefined ? {} : { project: labels.project }), ...(labels.tags === undefined ? {} : { tags: encodeJson(labels.tags) }) };
    const month = this.t.listing(bucket);
    await ensureTable(month);
    await Promise.all(labeledPartitions(labels, bucket).map((partitionKey) => month.upsertEntity({ partitionKey, ...row }, 'Replace')));
    // The all-runs row last: retention finds the others through it.
    await month.upsertEntity({ partitionKey: indexPartition(bucket), ...row }, 'Replace');
  }

  /**
   * Two first writes of one run raced (parallel first steps, a retried activity) and ours lost.
   * When the winner chose another creation time, our index row points at a key the run does not
   * have: remove it now rather than leave it for readers to skip.
   */
  private async discardLosingCreate(runId: string, ms: number, labels: { readonly project?: string | undefined; readonly tags?: readonly string[] | undefined } = {}): Promise<void> {
    const winner = await this.getRun(runId);
    if (!winner || Date.parse(winner.createdAt) === ms) return;
    const bucket = monthBucket(ms);
    const rk = indexRowKey(ms, runId);
    const month = this.t.listing(bucket);
    await Promise.all([indexPartition(bucket), ...labeledPartitions(labels, bucket)].map((pk) => ignore404(month.deleteEntity(pk, rk))));
  }

  private async updateRun(existing: Row, run: Partial<RunRecord> & Pick<RunRecord, 'runId' | 'pipeline'>): Promise<void> {
    const before = runFromEntity(run.runId, existing);
    const status = nextStatus(before.status, run.status);
    const accepted = run.status === undefined || run.status === status;
    // A stale write (its status lost) may only fill fields the run does not have yet.
    const incoming = runProps({ ...run, status: undefined, metrics: undefined, createdAt: undefined, pipeline: undefined });
    const patch: EntityProps = {};
    for (const [k, v] of Object.entries(incoming)) {
      if (accepted || existing[k] === undefined) patch[k] = v;
    }
    const metrics = mergeMetrics(existing['metrics'], run.metrics);
    if (metrics !== undefined) patch['metrics'] = encodeJson(metrics);
    if (status !== before.status) patch['status'] = status;
    if (Object.entries(patch).every(([k, v]) => existing[k] === v)) return;
    await this.t.runs.updateEntity({ partitionKey: run.runId, rowKey: RUN_ROW, ...patch }, 'Merge', { etag: existing.etag });
  }

  /** Widens the store-wide month bounds so listings walk every month that holds runs. */
  private async extendBounds(bucket: string): Promise<void> {
    const known = this.knownBounds;
    if (known && bucket >= known.oldest && bucket <= known.newest) return;
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const row = await getOrUndefined(this.t.index, META_PARTITION, META_ROW);
      const oldest = typeof row?.['oldest'] === 'string' ? row['oldest'] : bucket;
      const newest = typeof row?.['newest'] === 'string' ? row['newest'] : bucket;
      const next = { oldest: bucket < oldest ? bucket : oldest, newest: bucket > newest ? bucket : newest };
      try {
        // A store's first run: nothing was recorded in an earlier layout.
        if (!row) await this.t.index.createEntity({ partitionKey: META_PARTITION, rowKey: META_ROW, ...next, layout: LISTING_LAYOUT });
        else if (next.oldest !== oldest || next.newest !== newest) {
          // Merge: the row's `layout` stays as it is.
          await this.t.index.updateEntity({ partitionKey: META_PARTITION, rowKey: META_ROW, ...next }, 'Merge', { etag: row.etag });
        }
        this.knownBounds = next;
        return;
      } catch (error) {
        if (!isConflict(error)) throw error;
      }
    }
  }

  /** The months holding runs, and whether some runs may still be indexed only in the first table (`legacy`: an upgraded store before backfillLabels). */
  private async readBounds(): Promise<{ oldest: string; newest: string; legacy: boolean } | undefined> {
    const row = await getOrUndefined(this.t.index, META_PARTITION, META_ROW);
    if (typeof row?.['oldest'] !== 'string' || typeof row['newest'] !== 'string') return undefined;
    return { oldest: row['oldest'], newest: row['newest'], legacy: row['layout'] !== LISTING_LAYOUT };
  }

  /**
   * One activity execution's writes in one entity group transaction on the run's partition, with
   * no read first. Every action in it is safe to repeat or fails the whole transaction:
   * - a step's first attempt touches the run row only if it exists (`updateEntity`, If-Match *: the
   *   API or the scheduler created it before the run started; 404 for a run from before that);
   * - the run's end inserts the `end` marker (409 on a second end) and merges the terminal fields;
   * - a `running` attempt is inserted (409 when it already ended), a finished one merged — inserted
   *   when the activity did the whole attempt (409 on an abandonment the run recorded first) — an
   *   abandoned one inserted (409 when the activity's answer got there first);
   * - log lines get fresh write-ordered keys.
   * When the transaction is refused (409/404/412), the same write goes through the read-then-write
   * methods above, which settle every case (status only forward, first end wins, a late answer
   * kept over an abandoned attempt).
   */
  async record(write: RunWrite): Promise<void> {
    await this.ready();
    const lines = write.lines ?? [];
    const attempts = write.attempts ?? [];
    const pk = write.runId;
    const tx = new TableTransaction();
    if (write.start) {
      // The API or the scheduler created the row (createPendingRun); a run from before that has
      // none: the update fails (404) and the fallback below creates it. A late answer (after the
      // run ended) cannot set the status back: its attempt's insert fails on the abandonment the
      // run recorded, and with it this whole transaction; the fallback never moves a status back.
      tx.updateEntity({ partitionKey: pk, rowKey: RUN_ROW, pipeline: write.pipeline, status: 'running' }, 'Merge');
    }
    if (write.finish) {
      tx.createEntity({ partitionKey: pk, rowKey: END_ROW, status: write.finish.status });
      tx.updateEntity({ partitionKey: pk, rowKey: RUN_ROW, ...runProps({ ...write.finish, createdAt: undefined, pipeline: undefined }) }, 'Merge');
    }
    for (const a of attempts) {
      const entity = { partitionKey: pk, rowKey: attemptRowKey(a.stepId, a.attempt), ...attemptProps(a) };
      // Claimed before the call: the answer goes over the claim's row only if nothing wrote it since.
      if (write.claimedEtag !== undefined && a.status !== 'running') tx.updateEntity(entity, 'Merge', { etag: write.claimedEtag });
      else if (a.status === 'running' || write.wholeAttempt) tx.createEntity(entity);
      else tx.upsertEntity(entity, 'Merge');
    }
    // An abandoned attempt is inserted: when the activity's answer got there first, the insert
    // fails and the fallback keeps that answer (recordAbandoned).
    for (const a of write.abandoned ?? []) tx.createEntity({ partitionKey: pk, rowKey: attemptRowKey(a.stepId, a.attempt), ...attemptProps(a) });
    const nowMs = this.now().getTime();
    for (const line of lines) tx.createEntity({ partitionKey: pk, rowKey: logRowKey(this.logCursors.next(nowMs)), ...logProps(line) });
    if (tx.actions.length > MAX_TRANSACTION_ACTIONS) return recordStepByStep(this, write);
    try {
      await this.submit(this.t.runs, tx.actions);
    } catch (error) {
      const s = statusOf(error);
      if (s !== 409 && s !== 404 && s !== 412) throw error;
      await recordStepByStep(this, write);
    }
  }

  /**
   * The attempt's start, claimed before its effect (issue 26): `write` as `record` builds it — the
   * run row's start, the attempt's `running` row inserted, the "started" line — in one
   * transaction, the same request that a started attempt made after its call before. Refused with
   * 409 on the attempt row: an earlier delivery claimed it, and its row says how far it got. A run
   * row that does not exist (a run from before the API recorded runs) refuses it with 404: the
   * step-by-step path writes it, and the row read back decides.
   */
  async claimAttempt(write: RunWrite): Promise<AttemptClaim> {
    await this.ready();
    const a = write.attempts?.[0];
    if (!a || a.status !== 'running') throw new Error('claimAttempt takes the attempt\'s running row');
    const rk = attemptRowKey(a.stepId, a.attempt);
    const tx = new TableTransaction();
    if (write.start) tx.updateEntity({ partitionKey: write.runId, rowKey: RUN_ROW, pipeline: write.pipeline, status: 'running' }, 'Merge');
    tx.createEntity({ partitionKey: write.runId, rowKey: rk, ...attemptProps(a) });
    const nowMs = this.now().getTime();
    for (const line of write.lines ?? []) tx.createEntity({ partitionKey: write.runId, rowKey: logRowKey(this.logCursors.next(nowMs)), ...logProps(line) });
    try {
      const answer = await this.t.runs.submitTransaction(tx.actions);
      const etag = answer.getResponseForEntity(rk)?.etag;
      return { first: true, ...(etag === undefined ? {} : { etag }) };
    } catch (error) {
      const s = statusOf(error);
      if (s !== 409 && s !== 404) throw error;
    }
    const found = await getOrUndefined(this.t.runs, write.runId, rk);
    // No ETag for the answer here: it goes through `recordAnswer`, which keeps it marked late over
    // an abandonment the row may already hold.
    if (found) return { first: false, existing: attemptFromEntity(write.runId, found) };
    // No attempt row: the transaction was refused for the run row (404). Written step by step.
    await recordStepByStep(this, write);
    const written = await getOrUndefined(this.t.runs, write.runId, rk);
    return { first: true, ...(written ? { etag: written.etag } : {}) };
  }

  /** An activity's answer for its whole attempt: over an abandonment the run recorded first, marked late. */
  recordAnswer(attempt: AttemptRecord): Promise<void> {
    return this.insertAttempt(attempt, answerOver);
  }

  /** An attempt the run ended without its answer; an answer already recorded stays, marked late. */
  recordAbandoned(attempt: AttemptRecord): Promise<void> {
    return this.insertAttempt(attempt, abandonedOver);
  }

  /** Inserts an attempt; when its row exists, writes what `over` makes of the two. */
  private async insertAttempt(attempt: AttemptRecord, over: (existing: AttemptRecord | undefined, written: AttemptRecord) => AttemptRecord): Promise<void> {
    await this.ready();
    const rk = attemptRowKey(attempt.stepId, attempt.attempt);
    try {
      await this.t.runs.createEntity({ partitionKey: attempt.runId, rowKey: rk, ...attemptProps(attempt) });
      return;
    } catch (error) {
      if (statusOf(error) !== 409) throw error;
    }
    const row = await getOrUndefined(this.t.runs, attempt.runId, rk);
    const merged = over(row ? attemptFromEntity(attempt.runId, row) : undefined, attempt);
    await this.t.runs.upsertEntity({ partitionKey: attempt.runId, rowKey: rk, ...attemptProps(merged) }, 'Merge');
  }

  /**
   * Same attempt, same row. A `running` write only inserts (it never overwrites a finished attempt
   * that got there first); a finished write merges over whatever is there.
   */
  async recordAttempt(attempt: AttemptRecord): Promise<void> {
    await this.ready();
    const entity = { partitionKey: attempt.runId, rowKey: attemptRowKey(attempt.stepId, attempt.attempt), ...attemptProps(attempt) };
    if (attempt.status === 'running') {
      try {
        await this.t.runs.createEntity(entity);
      } catch (error) {
        if (statusOf(error) !== 409) throw error;
      }
      return;
    }
    await this.t.runs.upsertEntity(entity, 'Merge');
  }

  /**
   * Appends in order, bounded: the log meta row (count, dropped) and the new lines go in one
   * transaction with the meta row's ETag, so concurrent appenders never exceed the bound. Lines
   * written by `record` (at most a few per activity execution, so bounded by the pipeline's
   * attempts) are not counted here.
   */
  async appendLogs(runId: string, lines: readonly LogLine[]): Promise<void> {
    if (lines.length === 0) return;
    await this.ready();
    let rest = lines;
    let retries = 0;
    while (rest.length > 0) {
      const meta = await getOrUndefined(this.t.runs, runId, LOG_META_ROW);
      const count = typeof meta?.['count'] === 'number' ? meta['count'] : 0;
      const dropped = typeof meta?.['dropped'] === 'number' ? meta['dropped'] : 0;
      const room = Math.max(0, this.maxLogLines - count);
      const take = rest.slice(0, Math.min(room, LOG_LINES_PER_BATCH));
      const drop = take.length === 0 ? rest.length : 0;
      const metaEntity = { partitionKey: runId, rowKey: LOG_META_ROW, count: count + take.length, dropped: dropped + drop };
      const tx = new TableTransaction();
      if (meta) tx.updateEntity(metaEntity, 'Replace', { etag: meta.etag });
      else tx.createEntity(metaEntity);
      const nowMs = this.now().getTime();
      for (const line of take) tx.createEntity({ partitionKey: runId, rowKey: logRowKey(this.logCursors.next(nowMs)), ...logProps(line) });
      try {
        await this.t.runs.submitTransaction(tx.actions);
        rest = drop > 0 ? [] : rest.slice(take.length);
        retries = 0;
      } catch (error) {
        if (!isConflict(error) || ++retries >= MAX_RETRIES) throw error;
      }
    }
  }

  // ───────────────────────────── reads for the API ─────────────────────────────

  async getRun(runId: string): Promise<RunRecord | undefined> {
    await this.ready();
    const row = await getOrUndefined(this.t.runs, runId, RUN_ROW);
    return row ? runFromEntity(runId, row) : undefined;
  }

  /** Every attempt of every step, by step then attempt number. */
  async getAttempts(runId: string): Promise<readonly AttemptRecord[]> {
    await this.ready();
    const rows = await queryAll(this.t.runs, rangeFilter(runId, ATTEMPT_PREFIX, prefixEnd(ATTEMPT_PREFIX)));
    return rows.map((r) => attemptFromEntity(runId, r));
  }

  /** Lines after the cursor (a line's `cursor`: its key after `log~`), oldest first. */
  async getLogs(runId: string, query: { after?: string; limit: number }): Promise<LogPage> {
    await this.ready();
    const after = query.after ?? '';
    if (after !== '' && !LOG_CURSOR.test(after)) throw new InvalidCursorError(`log cursor was not issued by this API: ${after}`);
    const limit = Math.max(1, Math.min(MAX_LIMIT, query.limit));
    const filter = rangeFilter(runId, logRowKey(after), prefixEnd(LOG_PREFIX), false);
    const page = await this.t.runs
      .listEntities<Record<string, unknown>>({ queryOptions: { filter } })
      .byPage({ maxPageSize: limit })
      .next();
    const rows: Row[] = page.done ? [] : page.value.slice(0, limit);
    const lines = rows.map((r) => ({ ...logFromEntity(r), cursor: rowKeyOf(r).slice(LOG_PREFIX.length) }));
    const meta = await getOrUndefined(this.t.runs, runId, LOG_META_ROW);
    const dropped = typeof meta?.['dropped'] === 'number' ? meta['dropped'] : 0;
    const nextCursor = lines.at(-1)?.cursor ?? (after !== '' ? after : undefined);
    return { lines, dropped, ...(nextCursor !== undefined ? { nextCursor } : {}) };
  }

  /**
   * Runs newest first: by pipeline, by status, or both, since / until on creation time, cursor
   * paging. A walk over the month partitions of the one index, each step a range query with the
   * pipeline filter inside the partition; hits are checked against the run rows (which hold the
   * status), so a listing always shows current data.
   */
  async listRuns(query: ListRunsQuery): Promise<RunPage> {
    await this.ready();
    const limit = Math.max(1, Math.min(MAX_LIMIT, Math.floor(query.limit)));
    const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    if (query.cursor !== undefined && cursor === undefined) throw new InvalidCursorError('cursor was not issued by this API');
    return this.walkIndex({ ...query, limit, cursor });
  }

  /** Point reads of the runs behind index hits, aligned with them; undefined for a hit that is gone, re-keyed or does not match. */
  private async readHits(hits: readonly IndexHit[], match: RunMatch): Promise<(RunRecord | undefined)[]> {
    const runs = await Promise.all(hits.map((e) => this.getRun(e.id)));
    return runs.map((r, i) => (r && Date.parse(r.createdAt) === hits[i]!.ms && matches(r, match) ? r : undefined));
  }

  private async walkIndex(q: {
    pipeline?: string;
    projects?: readonly string[];
    tags?: readonly string[];
    status?: RunStatus;
    since?: string;
    until?: string;
    limit: number;
    cursor: ListCursor | undefined;
  }): Promise<RunPage> {
    const bounds = await this.readBounds();
    if (!bounds) return { runs: [] };
    const sinceMs = q.since === undefined ? undefined : Date.parse(q.since);
    const untilMs = q.until === undefined ? undefined : Date.parse(q.until);
    let newest = bounds.newest;
    if (untilMs !== undefined && monthBucket(untilMs - 1) < newest) newest = monthBucket(untilMs - 1);
    if (q.cursor && q.cursor.b < newest) newest = q.cursor.b;
    let oldest = bounds.oldest;
    if (sinceMs !== undefined && monthBucket(sinceMs) > oldest) oldest = monthBucket(sinceMs);
    // Row key bounds: created before `until` ⇔ key ≥ inverted(until − 1 ms); at or after `since` ⇔ key < inverted(since) + '~~'.
    const lowerTime = untilMs === undefined ? '' : invertedTime(untilMs - 1);
    const upper = sinceMs === undefined ? '~' : `${invertedTime(sinceMs)}~~`;
    const plan = indexPlan(q);
    const runs: RunRecord[] = [];
    // A filter the index cannot answer (status: it changes, the index row does not) costs a point
    // read per run examined; one request examines at most RUN_SCAN_BUDGET runs, then answers what it
    // found with a cursor after the last run examined (`partial`), so no request's cost grows with
    // the history and the caller decides whether to go on.
    let examined = 0;
    for (const bucket of monthsDescending(newest, oldest)) {
      const fromCursor = q.cursor !== undefined && q.cursor.b === bucket;
      const from = fromCursor && q.cursor!.r > lowerTime ? q.cursor!.r : lowerTime;
      const inclusive = !(fromCursor && q.cursor!.r >= lowerTime);
      const want = q.limit - runs.length;
      const parts = plan.partitions(bucket);
      // Each partition of the plan (one per project asked for) gives at most `want` runs of the
      // month in key order; the month's newest `want` overall are among them. With a status filter
      // the request's scan budget is shared between them.
      const share = q.status === undefined ? undefined : Math.max(1, Math.ceil((RUN_SCAN_BUDGET - examined) / parts.length));
      // An upgraded store not yet copied (backfillLabels) has its earlier runs' rows in the first table.
      const sources = parts.map((pk) => ({ table: this.t.listing(bucket), pk }));
      if (plan.allRuns && bounds.legacy) sources.push({ table: this.t.index, pk: indexPartition(bucket) });
      const found = await Promise.all(
        sources.map(({ table, pk }) => this.collect(table, `${pkEq(pk)} and RowKey ${inclusive ? 'ge' : 'gt'} ${odataString(from)} and RowKey lt ${odataString(upper)}${plan.filter}`, want, plan.match, share)),
      );
      examined += found.reduce((n, f) => n + f.examined, 0);
      // A partition cut by the budget was examined up to its cut: hits beyond the smallest cut are
      // left for the next page, which starts there.
      const cut = found.flatMap((f) => (f.cutAt === undefined ? [] : [f.cutAt])).sort()[0];
      const merged = found
        .flatMap((f) => f.hits)
        .filter((h) => cut === undefined || h.rowKey <= cut)
        .sort((x, y) => (x.rowKey < y.rowKey ? -1 : x.rowKey > y.rowKey ? 1 : 0))
        // The same run in both tables (copied while this listing read): once.
        .filter((h, i, all) => i === 0 || all[i - 1]!.rowKey !== h.rowKey);
      for (const hit of merged) {
        runs.push(hit.run);
        if (runs.length >= q.limit) return { runs, nextCursor: encodeCursor({ b: bucket, r: hit.rowKey }) };
      }
      if (cut !== undefined) return { runs, nextCursor: encodeCursor({ b: bucket, r: cut }), partial: true };
    }
    return { runs };
  }

  /**
   * Up to `want` matching runs from one index range, in key order, with their row keys. With a
   * `budget`, stops after examining that many index rows and says where (`cutAt`).
   */
  private async collect(table: TableClient, filter: string, want: number, match: RunMatch, budget: number | undefined): Promise<{ hits: { run: RunRecord; rowKey: string }[]; examined: number; cutAt?: string }> {
    const hits: { run: RunRecord; rowKey: string }[] = [];
    let examined = 0;
    const pageSize = budget === undefined ? want : Math.min(budget, Math.max(want, 50));
    // Pages may come back short or empty with a continuation (a filter, the service's time
    // limit): follow the continuation rather than take a short page for the end.
    const pages = table.listEntities<Record<string, unknown>>({ queryOptions: { filter, select: ['RowKey', 'runId'] } }).byPage({ maxPageSize: pageSize });
    for await (const page of withoutMissingTable(pages)) {
      const found = await this.readHits(page.map((r) => ({ id: typeof r['runId'] === 'string' ? r['runId'] : '', ms: fromInvertedTime(rowKeyOf(r)) })), match);
      examined += page.length;
      for (const [i, run] of found.entries()) {
        if (!run) continue;
        hits.push({ run, rowKey: rowKeyOf(page[i]!) });
        if (hits.length >= want) return { hits, examined };
      }
      const last = page.at(-1);
      if (budget !== undefined && examined >= budget && last !== undefined) return { hits, examined, cutAt: rowKeyOf(last) };
    }
    return { hits, examined };
  }

  /**
   * Upgrading a store recorded before the month tables: each earlier run's all-runs row is copied
   * from `<prefix>RunIndex` into its month's table, with its project and tag rows. A run from
   * before projects has neither: `labelsOf` gives it its pipeline's (src/projects/labelsBackfill.ts),
   * written on its run row and its index rows too, so listings, filters and retention agree. Until
   * it is done listings also read the first table (readBounds `legacy`); then the `meta` row says
   * `layout` 2. Every write is whole and repeatable: two instances doing it at once, or one stopped
   * half way and redone, agree. The first table's copies stay until retention deletes them.
   */
  async backfillLabels(labelsOf: (run: RunRecord) => { readonly project: string; readonly tags: readonly string[] }): Promise<{ runs: number; alreadyDone: boolean }> {
    await this.ready();
    const bounds = await this.readBounds();
    if (!bounds?.legacy) return { runs: 0, alreadyDone: true };
    let runs = 0;
    for (const bucket of monthsDescending(bounds.newest, bounds.oldest)) {
      const rows = await queryAll(this.t.index, rangeFilter(indexPartition(bucket), '', '~'));
      const month = this.t.listing(bucket);
      if (rows.length > 0) await ensureTable(month);
      for (let i = 0; i < rows.length; i += BACKFILL_WIDTH) {
        await Promise.all(rows.slice(i, i + BACKFILL_WIDTH).map(async (row) => {
          const runId = typeof row['runId'] === 'string' ? row['runId'] : '';
          let labels: { project?: string; tags?: readonly string[] } = labelsOfIndexRow(row);
          if (labels.project === undefined) {
            const run = await this.getRun(runId);
            if (!run) return; // an index hit whose run is gone: listings drop it anyway
            labels = run.project === undefined ? labelsOf(run) : { project: run.project, tags: run.tags ?? [] };
            if (run.project === undefined) {
              await ignore404(this.t.runs.updateEntity({ partitionKey: runId, rowKey: RUN_ROW, project: labels.project, tags: encodeJson(labels.tags ?? []) }, 'Merge'));
            }
          }
          const copy = { rowKey: rowKeyOf(row), runId, pipeline: typeof row['pipeline'] === 'string' ? row['pipeline'] : '', project: labels.project, tags: encodeJson(labels.tags ?? []) };
          await Promise.all(labeledPartitions(labels, bucket).map((partitionKey) => month.upsertEntity({ partitionKey, ...copy }, 'Replace')));
          await month.upsertEntity({ partitionKey: indexPartition(bucket), ...copy }, 'Replace');
          runs += 1;
        }));
      }
    }
    await this.t.index.updateEntity({ partitionKey: META_PARTITION, rowKey: META_ROW, layout: LISTING_LAYOUT }, 'Merge');
    return { runs, alreadyDone: false };
  }

  // ───────────────────────────── schedules (SchedulerStore + pause/resume) ─────────────────────────────

  async getScheduleState(pipeline: string, schedule: string): Promise<ScheduleState> {
    await this.ready();
    const row = await getOrUndefined(this.t.schedules, schedulePartition(pipeline, schedule), SCHEDULE_STATE_ROW);
    if (!row) return { paused: false };
    const definition = typeof row['definition'] === 'string' ? parseRecordedSchedule(row['definition']) : undefined;
    const failedSlot = row['lastStartFailureSlot'];
    const failedReason = row['lastStartFailureReason'];
    return {
      ...(typeof row['checkpoint'] === 'string' ? { checkpoint: row['checkpoint'] } : {}),
      ...(definition ? { schedule: definition } : {}),
      paused: row['paused'] === true,
      // Cleared as '' (a Merge cannot remove a property).
      ...(typeof failedSlot === 'string' && failedSlot !== '' ? { lastStartFailure: { slot: failedSlot, reason: typeof failedReason === 'string' ? failedReason : '' } } : {}),
      ...(row.etag ? { etag: row.etag } : {}),
    };
  }

  async setCheckpoint(pipeline: string, schedule: string, checkpoint: string, etag: string | undefined, changes: CheckpointChanges = {}): Promise<boolean> {
    await this.ready();
    const { definition, startFailure } = changes;
    const mark = startFailure === undefined ? {} : { lastStartFailureSlot: startFailure?.slot ?? '', lastStartFailureReason: startFailure?.reason.slice(0, 2000) ?? '' };
    const entity = {
      partitionKey: schedulePartition(pipeline, schedule),
      rowKey: SCHEDULE_STATE_ROW,
      checkpoint,
      ...(definition ? { definition: JSON.stringify(recordedSchedule(definition)) } : {}),
      ...mark,
    };
    try {
      if (etag === undefined) await this.t.schedules.createEntity({ ...entity, paused: false });
      else await this.t.schedules.updateEntity(entity, 'Merge', { etag });
      return true;
    } catch (error) {
      const s = statusOf(error);
      if (s === 409 || s === 412 || s === 404) return false;
      throw error;
    }
  }

  async isPaused(pipeline: string, schedule: string): Promise<boolean> {
    return (await this.getScheduleState(pipeline, schedule)).paused;
  }

  /** Pause / resume: merges the flag only (the checkpoint is the scheduler's). */
  async setPaused(pipeline: string, schedule: string, paused: boolean, by?: string): Promise<void> {
    await this.ready();
    await this.t.schedules.upsertEntity(
      {
        partitionKey: schedulePartition(pipeline, schedule),
        rowKey: SCHEDULE_STATE_ROW,
        paused,
        pausedChangedAt: this.now().toISOString(),
        ...(by !== undefined ? { pausedChangedBy: by } : {}),
      },
      'Merge',
    );
  }

  /** Inserts the slot row if absent (with its pending copy, atomically). True only for the inserter. */
  async claimSlot(entry: SlotEntry): Promise<boolean> {
    await this.ready();
    const pk = schedulePartition(entry.pipeline, entry.schedule);
    const props = slotProps(entry);
    const tx = new TableTransaction();
    tx.createEntity({ partitionKey: pk, rowKey: slotRowKey(entry.slot), ...props });
    if (PENDING_OUTCOMES.includes(entry.outcome)) tx.createEntity({ partitionKey: pk, rowKey: pendingSlotRowKey(entry.slot), ...props });
    try {
      await this.submit(this.t.schedules, tx.actions);
      return true;
    } catch (error) {
      if (statusOf(error) === 409) return false;
      throw error;
    }
  }

  async transitionSlot(
    pipeline: string,
    schedule: string,
    slot: string,
    from: SlotOutcome,
    patch: Partial<Pick<SlotEntry, 'outcome' | 'reason' | 'instanceId' | 'lateBySeconds' | 'attempts' | 'updatedAt' | 'backfill'>>,
  ): Promise<boolean> {
    await this.ready();
    const pk = schedulePartition(pipeline, schedule);
    const row = await getOrUndefined(this.t.schedules, pk, slotRowKey(slot));
    if (!row) return false;
    const current = slotFromEntity(row);
    if (current.outcome !== from) return false;
    const next: SlotEntry = { ...current, ...patch };
    const props = slotProps(next);
    const wasPending = PENDING_OUTCOMES.includes(current.outcome);
    const nowPending = PENDING_OUTCOMES.includes(next.outcome);
    const tx = new TableTransaction();
    tx.updateEntity({ partitionKey: pk, rowKey: slotRowKey(slot), ...props }, 'Replace', { etag: row.etag });
    if (wasPending && nowPending) tx.upsertEntity({ partitionKey: pk, rowKey: pendingSlotRowKey(slot), ...props }, 'Replace');
    else if (wasPending) tx.deleteEntity(pk, pendingSlotRowKey(slot));
    else if (nowPending) tx.upsertEntity({ partitionKey: pk, rowKey: pendingSlotRowKey(slot), ...props }, 'Replace');
    try {
      await this.submit(this.t.schedules, tx.actions);
      return true;
    } catch (error) {
      const s = statusOf(error);
      if (s === 412 || s === 409 || s === 404) return false;
      throw error;
    }
  }

  /** Backfills, kept next to the slot ledger (src/backfill/store.ts). */
  backfills(): BackfillStore {
    return new BackfillStore(this.t.schedules, () => this.ready());
  }

  /** What each event trigger heard and did (src/triggers/history.ts). */
  triggerHistory(): TriggerHistory {
    return new TriggerHistory(this.t.schedules, () => this.ready());
  }

  /** Approval requests and decisions (src/steps/approval/store.ts). */
  approvals(): ApprovalStore {
    return new ApprovalStore(this.t.runs, this.t.schedules, () => this.ready());
  }

  /** One slot's ledger row, if the slot was recorded. */
  async getSlot(pipeline: string, schedule: string, slot: string): Promise<SlotEntry | undefined> {
    await this.ready();
    const row = await getOrUndefined(this.t.schedules, schedulePartition(pipeline, schedule), slotRowKey(slot));
    return row ? slotFromEntity(row) : undefined;
  }

  /** Slots a later tick may act on, oldest first: one range query over the pending copies. */
  async listPendingSlots(pipeline: string, schedule: string): Promise<SlotEntry[]> {
    await this.ready();
    const rows = await queryAll(this.t.schedules, rangeFilter(schedulePartition(pipeline, schedule), PENDING_PREFIX, prefixEnd(PENDING_PREFIX)));
    return rows.map(slotFromEntity);
  }

  /** The slot ledger of a schedule between two instants (ISO, since inclusive, until exclusive), oldest first. */
  async listSlots(pipeline: string, schedule: string, range: { since?: string; until?: string } = {}): Promise<SlotEntry[]> {
    await this.ready();
    const from = range.since === undefined ? SLOT_PREFIX : slotRowKey(range.since);
    const to = range.until === undefined ? prefixEnd(SLOT_PREFIX) : slotRowKey(range.until);
    const rows = await queryAll(this.t.schedules, rangeFilter(schedulePartition(pipeline, schedule), from, to));
    return rows.map(slotFromEntity);
  }

  // ───────────────────────────── idempotency keys ─────────────────────────────

  /**
   * Records key → runId if absent; returns the run id the key belongs to. `scope` is the pipeline
   * (starts) or its rerun scope (api/runIds.ts); `fingerprint` is the request's, so a key sent again
   * with another request is refused (IdempotencyKeyReusedError) rather than answered with a run
   * that is not what was asked.
   */
  async claim(scope: string, key: string, runId: string, fingerprint?: string): Promise<string> {
    await this.ready();
    // The marker in the run's partition lets retention find and delete the key with the run.
    await this.t.runs.upsertEntity({ partitionKey: runId, rowKey: IDEMPOTENCY_MARKER_ROW, pipeline: scope, key }, 'Replace');
    try {
      await this.t.idempotency.createEntity({
        partitionKey: encodeKeyPart(scope),
        rowKey: encodeKeyPart(key),
        runId,
        createdAt: this.now().toISOString(),
        ...(fingerprint === undefined ? {} : { fingerprint }),
      });
      return runId;
    } catch (error) {
      if (statusOf(error) !== 409) throw error;
    }
    const row = await getOrUndefined(this.t.idempotency, encodeKeyPart(scope), encodeKeyPart(key));
    const owner = typeof row?.['runId'] === 'string' ? row['runId'] : runId;
    const held = row?.['fingerprint'];
    if (fingerprint !== undefined && typeof held === 'string' && held !== fingerprint) throw new IdempotencyKeyReusedError(owner);
    return owner;
  }

  claimIdempotencyKey(pipeline: string, key: string, runId: string): Promise<string> {
    return this.claim(pipeline, key, runId);
  }

  // ───────────────────────────── cancel requests ─────────────────────────────

  /**
   * Records a run's cancel request unless one exists. The insert is the atomic conditional write:
   * Table Storage refuses a second entity with the same keys (409 EntityAlreadyExists), so of any
   * number of concurrent callers exactly one is first. The row sits in the run's partition, so
   * retention deletes it with the run.
   */
  async claimCancel(runId: string, requestedAt: string, by?: string): Promise<{ first: boolean; requestedAt: string }> {
    await this.ready();
    try {
      await this.t.runs.createEntity({ partitionKey: runId, rowKey: CANCEL_ROW, requestedAt, ...(by === undefined ? {} : { by }) });
      return { first: true, requestedAt };
    } catch (error) {
      if (statusOf(error) !== 409) throw error;
    }
    const row = await getOrUndefined(this.t.runs, runId, CANCEL_ROW);
    return { first: false, requestedAt: typeof row?.['requestedAt'] === 'string' ? row['requestedAt'] : requestedAt };
  }

  /**
   * Claims the sending of a run's alert for `event` (issue 26: alerts once per run and event).
   * `first`: nobody claimed it; `sent`: a delivery of `finishRun` already sent it; `unknown`: one
   * claimed it and did not say it was sent (it died mid-send: webhooks cannot dedupe, so the
   * caller sends again and logs the possible duplicate). Rows sit in the run's partition.
   */
  async claimAlert(runId: string, event: string): Promise<'first' | 'sent' | 'unknown'> {
    await this.ready();
    const rowKey = `${ALERT_PREFIX}${encodeKeyPart(event)}`;
    try {
      await this.t.runs.createEntity({ partitionKey: runId, rowKey, state: 'sending' });
      return 'first';
    } catch (error) {
      if (statusOf(error) !== 409) throw error;
    }
    const row = await getOrUndefined(this.t.runs, runId, rowKey);
    return row?.['state'] === 'sent' ? 'sent' : 'unknown';
  }

  async alertSent(runId: string, event: string): Promise<void> {
    await this.ready();
    await this.t.runs.upsertEntity({ partitionKey: runId, rowKey: `${ALERT_PREFIX}${encodeKeyPart(event)}`, state: 'sent' }, 'Replace');
  }

  async findCancel(runId: string): Promise<string | undefined> {
    await this.ready();
    const row = await getOrUndefined(this.t.runs, runId, CANCEL_ROW);
    return typeof row?.['requestedAt'] === 'string' ? row['requestedAt'] : undefined;
  }

  async releaseCancel(runId: string): Promise<void> {
    await this.ready();
    await ignore404(this.t.runs.deleteEntity(runId, CANCEL_ROW));
  }

  // ───────────────────────────── retention ─────────────────────────────

  /**
   * Deletes runs created more than `days` ago with their attempts, logs, index rows and idempotency
   * keys, and the slot rows of the given schedules older than that. Returns the run ids so the
   * caller purges their Durable history (`purgeInstanceHistory`) too.
   */
  async purgeOlderThan(days: number, options: { schedules?: readonly { pipeline: string; schedule: string }[] } = {}): Promise<PurgeResult> {
    await this.ready();
    const cutoffMs = this.now().getTime() - days * 86_400_000;
    const bounds = await this.readBounds();
    const runIds: string[] = [];
    if (bounds) {
      const newest = monthBucket(cutoffMs) < bounds.newest ? monthBucket(cutoffMs) : bounds.newest;
      for (const bucket of monthsDescending(newest, bounds.oldest)) {
        const range = rangeFilter(indexPartition(bucket), invertedTime(cutoffMs - 1), '~');
        // The month's table, and the first table's rows of runs recorded before it (kept after backfillLabels copied them).
        const [current, earlier] = await Promise.all([queryAll(this.t.listing(bucket), range).catch(emptyIfNoTable), queryAll(this.t.index, range)]);
        const seen = new Set(current.map(rowKeyOf));
        for (const row of [...current, ...earlier.filter((r) => !seen.has(rowKeyOf(r)))]) {
          const runId = typeof row['runId'] === 'string' ? row['runId'] : '';
          await this.purgeRun(runId, rowKeyOf(row), bucket, labelsOfIndexRow(row));
          runIds.push(runId);
        }
      }
      await this.raiseOldestBound(monthBucket(cutoffMs));
    }
    let slotsDeleted = 0;
    const cutoffIso = new Date(cutoffMs).toISOString();
    for (const s of options.schedules ?? []) {
      const pk = schedulePartition(s.pipeline, s.schedule);
      const old = await queryAll(this.t.schedules, rangeFilter(pk, SLOT_PREFIX, slotRowKey(cutoffIso)), ['RowKey']);
      const oldPending = await queryAll(this.t.schedules, rangeFilter(pk, PENDING_PREFIX, pendingSlotRowKey(cutoffIso)), ['RowKey']);
      await this.deleteRows(this.t.schedules, pk, [...old, ...oldPending].map(rowKeyOf));
      slotsDeleted += old.length;
    }
    return { runIds, slotsDeleted };
  }

  /** After a purge no run is older than the cutoff month: listings stop walking there. */
  private async raiseOldestBound(bucket: string): Promise<void> {
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const row = await getOrUndefined(this.t.index, META_PARTITION, META_ROW);
      if (!row || typeof row['oldest'] !== 'string' || typeof row['newest'] !== 'string' || row['oldest'] >= bucket) return;
      const next = { oldest: bucket < row['newest'] ? bucket : row['newest'], newest: row['newest'] };
      try {
        await this.t.index.updateEntity({ partitionKey: META_PARTITION, rowKey: META_ROW, ...next }, 'Merge', { etag: row.etag });
        this.knownBounds = undefined;
        return;
      } catch (error) {
        if (!isConflict(error)) throw error;
      }
    }
  }

  private async purgeRun(runId: string, rk: string, bucket: string, labels: { project?: string; tags?: readonly string[] }): Promise<void> {
    const rows = await queryAll(this.t.runs, pkEq(runId));
    const marker = rows.find((r) => r.rowKey === IDEMPOTENCY_MARKER_ROW);
    if (marker && typeof marker['pipeline'] === 'string' && typeof marker['key'] === 'string') {
      const pk = encodeKeyPart(marker['pipeline']);
      const key = encodeKeyPart(marker['key']);
      const owner = await getOrUndefined(this.t.idempotency, pk, key);
      if (owner && owner['runId'] === runId) await ignore404(this.t.idempotency.deleteEntity(pk, key, { etag: owner.etag }));
    }
    await this.deleteRows(this.t.runs, runId, rows.map(rowKeyOf));
    // The all-runs index row goes last: while it exists, a retried purge finds the run again.
    const month = this.t.listing(bucket);
    await Promise.all([...labeledPartitions(labels, bucket).map((pk) => ignore404(month.deleteEntity(pk, rk))), ignore404(this.t.index.deleteEntity(indexPartition(bucket), rk))]);
    await ignore404(month.deleteEntity(indexPartition(bucket), rk));
  }

  private async deleteRows(client: TableClient, pk: string, rowKeys: readonly string[]): Promise<void> {
    for (let i = 0; i < rowKeys.length; i += 100) {
      const tx = new TableTransaction();
      const chunk = rowKeys.slice(i, i + 100);
      for (const rk of chunk) tx.deleteEntity(pk, rk);
      try {
        await this.submit(client, tx.actions);
      } catch (error) {
        // One row already gone fails the whole batch: fall back to single deletes.
        if (statusOf(error) !== 404) throw error;
        await Promise.all(chunk.map((rk) => ignore404(client.deleteEntity(pk, rk))));
      }
    }
  }

  private async submit(client: TableClient, actions: TransactionAction[]): Promise<void> {
    if (actions.length === 0) return;
    await client.submitTransaction(actions);
  }

  // ───────────────────────────── health ─────────────────────────────

  /** Storage reachability for GET /api/health: one point read. */
  async check(): Promise<{ ok: boolean; detail?: string }> {
    try {
      await this.ready();
      await getOrUndefined(this.t.index, META_PARTITION, META_ROW);
      return { ok: true };
    } catch (error) {
      return { ok: false, detail: error instanceof Error ? error.message : String(error) };
    }
  }
}

export function createRunStore(options: RunStoreOptions): TableRunStore {
  return new TableRunStore(options);
}

export { isTerminal };
