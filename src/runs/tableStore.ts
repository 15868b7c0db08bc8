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
import { PENDING_OUTCOMES, type CheckpointChanges, type ScheduleState, type SchedulerStore, type SlotEntry, type SlotOutcome } from '../scheduler/ports';
import { parseRecordedSchedule, recordedSchedule } from '../scheduler/owedSlots';
import { recordStepByStep, type AttemptRecord, type LogLine, type RunRecord, type RunRecorder, type RunWrite } from './recorder';
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
import { ensureTable, statusOf, type RunStoreTables } from './tables';
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

interface IndexHit {
  readonly id: string;
  readonly ms: number;
}

/** Row of a run's partition holding its first cancel request. */
const CANCEL_ROW = 'cancel';

export class TableRunStore implements RunRecorder, SchedulerStore {
  /** As a health check (GET /api/health): `check()` below. */
  readonly name = 'table-storage';
  private readonly t: RunStoreTables;
  private readonly maxLogLines: number;
  private readonly now: () => Date;
  private readonly logCursors = new LogCursorClock();
  /** Month bounds known to be recorded in the meta row (only ever widen). */
  private knownBounds: { oldest: string; newest: string } | undefined;

  constructor(options: RunStoreOptions) {
    this.t = options.tables;
    this.maxLogLines = options.maxLogLinesPerRun ?? 5000;
    this.now = options.now ?? (() => new Date());
  }

  /** Creates the four tables if needed (once per process). */
  async ready(): Promise<void> {
    await Promise.all([ensureTable(this.t.runs), ensureTable(this.t.index), ensureTable(this.t.schedules), ensureTable(this.t.idempotency)]);
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

  private async createRun(run: Partial<RunRecord> & Pick<RunRecord, 'runId' | 'pipeline'>): Promise<void> {
    const createdAt = run.createdAt ?? this.now().toISOString();
    const status = run.status ?? 'pending';
    const full: RunRecord = { trigger: { kind: 'manual' }, parameters: {}, ...run, createdAt, status };
    const ms = Date.parse(createdAt);
    // The derived row first: a crash before the run row leaves only an index hit readers drop.
    await this.writeIndexRow(run.runId, run.pipeline, ms);
    try {
      await this.t.runs.createEntity({ partitionKey: run.runId, rowKey: RUN_ROW, ...runProps(full) });
    } catch (error) {
      if (statusOf(error) === 409) await this.discardLosingCreate(run.runId, ms);
      throw error;
    }
  }

  /** The run's one index row (and the month bounds listings walk). Idempotent. */
  private async writeIndexRow(runId: string, pipeline: string, ms: number): Promise<void> {
    const bucket = monthBucket(ms);
    await this.extendBounds(bucket);
    await this.t.index.upsertEntity({ partitionKey: indexPartition(bucket), rowKey: indexRowKey(ms, runId), runId, pipeline }, 'Replace');
  }

  /**
   * Two first writes of one run raced (parallel first steps, a retried activity) and ours lost.
   * When the winner chose another creation time, our index row points at a key the run does not
   * have: remove it now rather than leave it for readers to skip.
   */
  private async discardLosingCreate(runId: string, ms: number): Promise<void> {
    const winner = await this.getRun(runId);
    if (!winner || Date.parse(winner.createdAt) === ms) return;
    await ignore404(this.t.index.deleteEntity(indexPartition(monthBucket(ms)), indexRowKey(ms, runId)));
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
        if (!row) await this.t.index.createEntity({ partitionKey: META_PARTITION, rowKey: META_ROW, ...next });
        else if (next.oldest !== oldest || next.newest !== newest) {
          await this.t.index.updateEntity({ partitionKey: META_PARTITION, rowKey: META_ROW, ...next }, 'Replace', { etag: row.etag });
        }
        this.knownBounds = next;
        return;
      } catch (error) {
        if (!isConflict(error)) throw error;
      }
    }
  }

  private async readBounds(): Promise<{ oldest: string; newest: string } | undefined> {
    const row = await getOrUndefined(this.t.index, META_PARTITION, META_ROW);
    if (typeof row?.['oldest'] !== 'string' || typeof row['newest'] !== 'string') return undefined;
    return { oldest: row['oldest'], newest: row['newest'] };
  }

  /**
   * One activity execution's writes in one entity group transaction on the run's partition, with
   * no read first. Every action in it is safe to repeat or fails the whole transaction:
   * - a root step's first attempt creates the run row (`createEntity`: 409 when it exists), after
   *   writing the run's index row (derived rows first, as everywhere in this store);
   * - another step's first attempt only touches the row if it exists (`updateEntity`, If-Match *:
   *   404 when a rerun started past the roots and no row exists yet);
   * - the run's end inserts the `end` marker (409 on a second end) and merges the terminal fields;
   * - a `running` attempt is inserted (409 when it already ended), a finished one merged;
   * - log lines get fresh write-ordered keys.
   * When the transaction is refused (409/404/412), the same write goes through the read-then-write
   * methods above, which settle every case (status only forward, first end wins, the losing
   * creator's index row removed).
   */
  async record(write: RunWrite): Promise<void> {
    await this.ready();
    const lines = write.lines ?? [];
    const attempts = write.attempts ?? [];
    const pk = write.runId;
    const tx = new TableTransaction();
    let createdMs: number | undefined;
    if (write.start?.root) {
      createdMs = this.now().getTime();
      const run: RunRecord = { runId: write.runId, pipeline: write.pipeline, status: 'running', trigger: write.start.trigger, parameters: write.start.parameters, createdAt: new Date(createdMs).toISOString() };
      tx.createEntity({ partitionKey: pk, rowKey: RUN_ROW, ...runProps(run) });
    } else if (write.start) {
      tx.updateEntity({ partitionKey: pk, rowKey: RUN_ROW, pipeline: write.pipeline }, 'Merge');
    }
    if (write.finish) {
      tx.createEntity({ partitionKey: pk, rowKey: END_ROW, status: write.finish.status });
      tx.updateEntity({ partitionKey: pk, rowKey: RUN_ROW, ...runProps({ ...write.finish, createdAt: undefined, pipeline: undefined }) }, 'Merge');
    }
    for (const a of attempts) {
      const entity = { partitionKey: pk, rowKey: attemptRowKey(a.stepId, a.attempt), ...attemptProps(a) };
      if (a.status === 'running') tx.createEntity(entity);
      else tx.upsertEntity(entity, 'Merge');
    }
    const nowMs = this.now().getTime();
    for (const line of lines) tx.createEntity({ partitionKey: pk, rowKey: logRowKey(this.logCursors.next(nowMs)), ...logProps(line) });
    if (tx.actions.length > MAX_TRANSACTION_ACTIONS) return recordStepByStep(this, write);
    if (createdMs !== undefined) await this.writeIndexRow(write.runId, write.pipeline, createdMs);
    try {
      await this.submit(this.t.runs, tx.actions);
    } catch (error) {
      const s = statusOf(error);
      if (s !== 409 && s !== 404 && s !== 412) throw error;
      if (createdMs !== undefined) await this.discardLosingCreate(write.runId, createdMs);
      await recordStepByStep(this, write);
    }
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
  private async readHits(hits: readonly IndexHit[], status?: RunStatus, pipeline?: string): Promise<(RunRecord | undefined)[]> {
    const runs = await Promise.all(hits.map((e) => this.getRun(e.id)));
    return runs.map((r, i) => {
      if (!r || Date.parse(r.createdAt) !== hits[i]!.ms) return undefined;
      if (status !== undefined && r.status !== status) return undefined;
      return pipeline === undefined || r.pipeline === pipeline ? r : undefined;
    });
  }

  private async walkIndex(q: {
    pipeline?: string;
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
    const runs: RunRecord[] = [];
    for (const bucket of monthsDescending(newest, oldest)) {
      const pk = indexPartition(bucket);
      const fromCursor = q.cursor !== undefined && q.cursor.b === bucket;
      const from = fromCursor && q.cursor!.r > lowerTime ? q.cursor!.r : lowerTime;
      const inclusive = !(fromCursor && q.cursor!.r >= lowerTime);
      let filter = `${pkEq(pk)} and RowKey ${inclusive ? 'ge' : 'gt'} ${odataString(from)} and RowKey lt ${odataString(upper)}`;
      if (q.pipeline !== undefined) filter += ` and pipeline eq ${odataString(q.pipeline)}`;
      // Pages may come back short or empty with a continuation (a filter, the service's time
      // limit): follow the continuation rather than take a short page for the end.
      const pages = this.t.index.listEntities<Record<string, unknown>>({ queryOptions: { filter, select: ['RowKey', 'runId'] } }).byPage({ maxPageSize: q.limit });
      for await (const page of pages) {
        const hits = page.map((r) => ({ id: typeof r['runId'] === 'string' ? r['runId'] : '', ms: fromInvertedTime(rowKeyOf(r)) }));
        const found = await this.readHits(hits, q.status, q.pipeline);
        for (const [i, run] of found.entries()) {
          if (!run) continue;
          runs.push(run);
          if (runs.length >= q.limit) return { runs, nextCursor: encodeCursor({ b: bucket, r: rowKeyOf(page[i]!) }) };
        }
      }
    }
    return { runs };
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

  /** Records key → runId if absent; returns the run id the key belongs to. */
  async claim(pipeline: string, key: string, runId: string): Promise<string> {
    await this.ready();
    // The marker in the run's partition lets retention find and delete the key with the run.
    await this.t.runs.upsertEntity({ partitionKey: runId, rowKey: IDEMPOTENCY_MARKER_ROW, pipeline, key }, 'Replace');
    try {
      await this.t.idempotency.createEntity({ partitionKey: encodeKeyPart(pipeline), rowKey: encodeKeyPart(key), runId, createdAt: this.now().toISOString() });
      return runId;
    } catch (error) {
      if (statusOf(error) !== 409) throw error;
    }
    const row = await getOrUndefined(this.t.idempotency, encodeKeyPart(pipeline), encodeKeyPart(key));
    return typeof row?.['runId'] === 'string' ? row['runId'] : runId;
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
  async claimCancel(runId: string, requestedAt: string): Promise<{ first: boolean; requestedAt: string }> {
    await this.ready();
    try {
      await this.t.runs.createEntity({ partitionKey: runId, rowKey: CANCEL_ROW, requestedAt });
      return { first: true, requestedAt };
    } catch (error) {
      if (statusOf(error) !== 409) throw error;
    }
    const row = await getOrUndefined(this.t.runs, runId, CANCEL_ROW);
    return { first: false, requestedAt: typeof row?.['requestedAt'] === 'string' ? row['requestedAt'] : requestedAt };
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
        const rows = await queryAll(this.t.index, rangeFilter(indexPartition(bucket), invertedTime(cutoffMs - 1), '~'));
        for (const row of rows) {
          const runId = typeof row['runId'] === 'string' ? row['runId'] : '';
          await this.purgeRun(runId, rowKeyOf(row), bucket);
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
        await this.t.index.updateEntity({ partitionKey: META_PARTITION, rowKey: META_ROW, ...next }, 'Replace', { etag: row.etag });
        this.knownBounds = undefined;
        return;
      } catch (error) {
        if (!isConflict(error)) throw error;
      }
    }
  }

  private async purgeRun(runId: string, rk: string, bucket: string): Promise<void> {
    const rows = await queryAll(this.t.runs, pkEq(runId));
    const marker = rows.find((r) => r.rowKey === IDEMPOTENCY_MARKER_ROW);
    if (marker && typeof marker['pipeline'] === 'string' && typeof marker['key'] === 'string') {
      const pk = encodeKeyPart(marker['pipeline']);
      const key = encodeKeyPart(marker['key']);
      const owner = await getOrUndefined(this.t.idempotency, pk, key);
      if (owner && owner['runId'] === runId) await ignore404(this.t.idempotency.deleteEntity(pk, key, { etag: owner.etag }));
    }
    await this.deleteRows(this.t.runs, runId, rows.map(rowKeyOf));
    // The index row goes last: while it exists, a retried purge finds the run again.
    await ignore404(this.t.index.deleteEntity(indexPartition(bucket), rk));
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
