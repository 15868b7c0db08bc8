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
import { PENDING_OUTCOMES, type ScheduleState, type SchedulerStore, type SlotEntry, type SlotOutcome } from '../scheduler/ports';
import type { AttemptRecord, LogLine, RunRecord, RunRecorder } from './recorder';
import {
  attemptFromEntity,
  attemptProps,
  decodeJson,
  encodeJson,
  isTerminal,
  logFromEntity,
  logProps,
  mergeMetrics,
  nextStatus,
  RUN_STATUSES,
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
  HEAD_ROW,
  IDEMPOTENCY_MARKER_ROW,
  indexPartition,
  indexRowKey,
  fromInvertedTime,
  invertedTime,
  LOG_META_ROW,
  LOG_PREFIX,
  logRowKey,
  META_PARTITION,
  monthBucket,
  monthsDescending,
  odataString,
  attemptRowKey,
  pendingSlotRowKey,
  PENDING_PREFIX,
  pipelineHeadPartition,
  prefixEnd,
  RUN_ROW,
  SCHEDULE_STATE_ROW,
  schedulePartition,
  slotRowKey,
  SLOT_PREFIX,
  type IndexKind,
  type ListCursor,
} from './keys';
import { ensureTable, statusOf, type RunStoreTables } from './tables';

export interface RunStoreOptions {
  readonly tables: RunStoreTables;
  /** Log lines kept per run; later lines are counted as dropped. */
  readonly maxLogLinesPerRun?: number;
  /** Run ids kept in a pipeline's head row ("latest N" in one point read). */
  readonly headSize?: number;
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

interface HeadEntry {
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
  private readonly headSize: number;
  private readonly now: () => Date;
  /** Month bounds known to be recorded in the meta row (only ever widen). */
  private knownBounds: { oldest: string; newest: string } | undefined;

  constructor(options: RunStoreOptions) {
    this.t = options.tables;
    this.maxLogLines = options.maxLogLinesPerRun ?? 5000;
    this.headSize = options.headSize ?? 100;
    this.now = options.now ?? (() => new Date());
  }

  /** Creates the four tables if needed (once per process). */
  async ready(): Promise<void> {
    await Promise.all([ensureTable(this.t.runs), ensureTable(this.t.index), ensureTable(this.t.schedules), ensureTable(this.t.idempotency)]);
  }

  // ───────────────────────────── RunRecorder ─────────────────────────────

  async upsertRun(run: Partial<RunRecord> & Pick<RunRecord, 'runId' | 'pipeline'>): Promise<void> {
    await this.ready();
    /** Status index rows this call wrote, so the ones that lost a race can be removed. */
    const indexed = new Set<RunStatus>();
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const existing = await getOrUndefined(this.t.runs, run.runId, RUN_ROW);
      try {
        const final = existing ? await this.updateRun(existing, run, indexed) : await this.createRun(run, indexed);
        await Promise.all([...indexed].filter((s) => s !== final.status).map((s) => this.deleteStatusIndex(final, s)));
        return;
      } catch (error) {
        if (!isConflict(error)) throw error;
      }
    }
    throw new Error(`run ${run.runId}: too many concurrent writers`);
  }

  private async createRun(run: Partial<RunRecord> & Pick<RunRecord, 'runId' | 'pipeline'>, indexed: Set<RunStatus>): Promise<RunRecord> {
    const createdAt = run.createdAt ?? this.now().toISOString();
    const status = run.status ?? 'pending';
    const full: RunRecord = { trigger: { kind: 'manual' }, parameters: {}, ...run, createdAt, status };
    const ms = Date.parse(createdAt);
    const rk = indexRowKey(ms, run.runId);
    const bucket = monthBucket(ms);
    // Derived rows first: a crash before the run row leaves only index hits readers drop.
    await this.extendBounds(bucket);
    const indexRow = { runId: run.runId, pipeline: run.pipeline };
    await Promise.all([
      this.t.index.upsertEntity({ partitionKey: indexPartition('pipeline', run.pipeline, bucket), rowKey: rk, ...indexRow }, 'Replace'),
      this.t.index.upsertEntity({ partitionKey: indexPartition('all', '', bucket), rowKey: rk, ...indexRow }, 'Replace'),
      this.t.index.upsertEntity({ partitionKey: indexPartition('status', status, bucket), rowKey: rk, ...indexRow }, 'Replace'),
      this.addToHead(run.pipeline, { id: run.runId, ms }),
    ]);
    indexed.add(status);
    try {
      await this.t.runs.createEntity({ partitionKey: run.runId, rowKey: RUN_ROW, ...runProps(full) });
    } catch (error) {
      if (statusOf(error) === 409) await this.discardLosingCreate(run.runId, run.pipeline, ms, status, indexed);
      throw error;
    }
    return full;
  }

  /**
   * Two first writes of one run raced (parallel first steps) and ours lost. When the winner chose
   * another creation time, our index rows and head entry point at a key the run does not have:
   * remove them now rather than leave them for readers to skip.
   */
  private async discardLosingCreate(runId: string, pipeline: string, ms: number, status: RunStatus, indexed: Set<RunStatus>): Promise<void> {
    const winner = await this.getRun(runId);
    if (!winner || Date.parse(winner.createdAt) === ms) return;
    const bucket = monthBucket(ms);
    const rk = indexRowKey(ms, runId);
    indexed.delete(status);
    await Promise.all([
      ignore404(this.t.index.deleteEntity(indexPartition('pipeline', pipeline, bucket), rk)),
      ignore404(this.t.index.deleteEntity(indexPartition('all', '', bucket), rk)),
      ignore404(this.t.index.deleteEntity(indexPartition('status', status, bucket), rk)),
    ]);
    await this.removeFromHead(pipeline, new Set([runId]), { id: runId, ms: Date.parse(winner.createdAt) });
  }

  private async updateRun(existing: Row, run: Partial<RunRecord> & Pick<RunRecord, 'runId' | 'pipeline'>, indexed: Set<RunStatus>): Promise<RunRecord> {
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
    if (Object.entries(patch).every(([k, v]) => existing[k] === v)) return before;

    const ms = Date.parse(before.createdAt);
    if (status !== before.status) {
      await this.t.index.upsertEntity(
        { partitionKey: indexPartition('status', status, monthBucket(ms)), rowKey: indexRowKey(ms, run.runId), runId: run.runId, pipeline: before.pipeline },
        'Replace',
      );
      indexed.add(status);
    }
    await this.t.runs.updateEntity({ partitionKey: run.runId, rowKey: RUN_ROW, ...patch }, 'Merge', { etag: existing.etag });
    const after = runFromEntity(run.runId, { ...existing, ...patch });
    if (status !== before.status) await this.deleteStatusIndex(after, before.status);
    return after;
  }

  private async deleteStatusIndex(run: RunRecord, status: RunStatus): Promise<void> {
    const ms = Date.parse(run.createdAt);
    await ignore404(this.t.index.deleteEntity(indexPartition('status', status, monthBucket(ms)), indexRowKey(ms, run.runId)));
  }

  /** Adds a run to its pipeline's head row (newest first, bounded). */
  private async addToHead(pipeline: string, entry: HeadEntry): Promise<void> {
    const pk = pipelineHeadPartition(pipeline);
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const row = await getOrUndefined(this.t.index, pk, HEAD_ROW);
      const entries = decodeJson<[string, number][]>(row?.['recent']) ?? [];
      if (entries.some(([id]) => id === entry.id)) return;
      const complete = row?.['complete'] !== false;
      const next = [...entries, [entry.id, entry.ms] as [string, number]].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? 1 : -1));
      const kept = next.slice(0, this.headSize);
      if (kept.length === entries.length && kept.every((e, i) => e[0] === entries[i]?.[0])) return;
      const entity = { partitionKey: pk, rowKey: HEAD_ROW, recent: JSON.stringify(kept), complete: complete && next.length <= this.headSize };
      try {
        if (row) await this.t.index.updateEntity(entity, 'Replace', { etag: row.etag });
        else await this.t.index.createEntity(entity);
        return;
      } catch (error) {
        if (!isConflict(error)) throw error;
      }
    }
    throw new Error(`pipeline ${pipeline}: too many concurrent head writers`);
  }

  /** Widens the store-wide month bounds so listings walk every month that holds runs. */
  private async extendBounds(bucket: string): Promise<void> {
    const known = this.knownBounds;
    if (known && bucket >= known.oldest && bucket <= known.newest) return;
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const row = await getOrUndefined(this.t.index, META_PARTITION, HEAD_ROW);
      const oldest = typeof row?.['oldest'] === 'string' ? row['oldest'] : bucket;
      const newest = typeof row?.['newest'] === 'string' ? row['newest'] : bucket;
      const next = { oldest: bucket < oldest ? bucket : oldest, newest: bucket > newest ? bucket : newest };
      try {
        if (!row) await this.t.index.createEntity({ partitionKey: META_PARTITION, rowKey: HEAD_ROW, ...next });
        else if (next.oldest !== oldest || next.newest !== newest) {
          await this.t.index.updateEntity({ partitionKey: META_PARTITION, rowKey: HEAD_ROW, ...next }, 'Replace', { etag: row.etag });
        }
        this.knownBounds = next;
        return;
      } catch (error) {
        if (!isConflict(error)) throw error;
      }
    }
  }

  private async readBounds(): Promise<{ oldest: string; newest: string } | undefined> {
    const row = await getOrUndefined(this.t.index, META_PARTITION, HEAD_ROW);
    if (typeof row?.['oldest'] !== 'string' || typeof row['newest'] !== 'string') return undefined;
    return { oldest: row['oldest'], newest: row['newest'] };
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
   * Appends in order: the log meta row (count, dropped) and the new lines go in one transaction
   * with the meta row's ETag, so concurrent appenders never share a sequence number.
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
      take.forEach((line, i) => tx.createEntity({ partitionKey: runId, rowKey: logRowKey(count + i + 1), ...logProps(line) }));
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

  /** Lines after the cursor (a sequence number), oldest first. */
  async getLogs(runId: string, query: { after?: string; limit: number }): Promise<LogPage> {
    await this.ready();
    const after = query.after === undefined || query.after === '' ? 0 : Number(query.after);
    if (!Number.isInteger(after) || after < 0) throw new InvalidCursorError(`log cursor must be a line number, got ${String(query.after)}`);
    const limit = Math.max(1, Math.min(MAX_LIMIT, query.limit));
    const filter = rangeFilter(runId, logRowKey(after), prefixEnd(LOG_PREFIX), false);
    const page = await this.t.runs
      .listEntities<Record<string, unknown>>({ queryOptions: { filter } })
      .byPage({ maxPageSize: limit })
      .next();
    const rows: Row[] = page.done ? [] : page.value.slice(0, limit);
    const lines = rows.map((r) => ({ ...logFromEntity(r), cursor: String(Number(rowKeyOf(r).slice(LOG_PREFIX.length))) }));
    const meta = await getOrUndefined(this.t.runs, runId, LOG_META_ROW);
    const dropped = typeof meta?.['dropped'] === 'number' ? meta['dropped'] : 0;
    const nextCursor = lines.at(-1)?.cursor ?? (after > 0 ? String(after) : undefined);
    return { lines, dropped, ...(nextCursor !== undefined ? { nextCursor } : {}) };
  }

  /**
   * Runs newest first. By pipeline, by status (optionally narrowed to a pipeline), or all; since /
   * until on creation time; cursor paging. Each is a walk over month partitions of one index, each
   * step a range query; index hits are checked against the run rows.
   */
  async listRuns(query: ListRunsQuery): Promise<RunPage> {
    await this.ready();
    const limit = Math.max(1, Math.min(MAX_LIMIT, Math.floor(query.limit)));
    const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    if (query.cursor !== undefined && cursor === undefined) throw new InvalidCursorError('cursor was not issued by this API');
    if (query.pipeline !== undefined && query.status === undefined && query.since === undefined && query.until === undefined && cursor === undefined) {
      const fromHead = await this.latestFromHead(query.pipeline, limit);
      if (fromHead) return fromHead;
    }
    const kind: IndexKind = query.status !== undefined ? 'status' : query.pipeline !== undefined ? 'pipeline' : 'all';
    const value = query.status ?? query.pipeline ?? '';
    const narrowToPipeline = query.status !== undefined && query.pipeline !== undefined ? query.pipeline : undefined;
    return this.walkIndex(kind, value, { ...query, limit, cursor, narrowToPipeline });
  }

  /** Latest runs of a pipeline from its head row: one point read plus one per run. */
  private async latestFromHead(pipeline: string, limit: number): Promise<RunPage | undefined> {
    const row = await getOrUndefined(this.t.index, pipelineHeadPartition(pipeline), HEAD_ROW);
    if (!row) return { runs: [] };
    const entries = decodeJson<[string, number][]>(row['recent']) ?? [];
    const complete = row['complete'] !== false;
    if (entries.length < limit && !complete) return undefined;
    const runs = await this.readRuns(entries.slice(0, limit).map(([id, ms]) => ({ id, ms })));
    if (runs.length < Math.min(limit, entries.length)) return undefined; // stale entries: use the index
    const last = entries[limit - 1];
    const more = entries.length > limit || (!complete && entries.length === limit);
    if (!more || !last) return { runs };
    return { runs, nextCursor: encodeCursor({ b: monthBucket(last[1]), r: indexRowKey(last[1], last[0]) }) };
  }

  /** Point reads of runs, in order; drops runs that are gone or whose creation time differs. */
  private async readRuns(entries: readonly HeadEntry[], status?: RunStatus, pipeline?: string): Promise<RunRecord[]> {
    const runs = await Promise.all(entries.map((e) => this.getRun(e.id)));
    return runs.filter((r, i): r is RunRecord => {
      if (!r) return false;
      if (Date.parse(r.createdAt) !== entries[i]!.ms) return false;
      if (status !== undefined && r.status !== status) return false;
      return pipeline === undefined || r.pipeline === pipeline;
    });
  }

  private async walkIndex(
    kind: IndexKind,
    value: string,
    q: { since?: string; until?: string; limit: number; cursor: ListCursor | undefined; narrowToPipeline: string | undefined },
  ): Promise<RunPage> {
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
      const pk = indexPartition(kind, value, bucket);
      const fromCursor = q.cursor !== undefined && q.cursor.b === bucket;
      let from = fromCursor && q.cursor!.r > lowerTime ? q.cursor!.r : lowerTime;
      let inclusive = !(fromCursor && q.cursor!.r >= lowerTime);
      for (;;) {
        const need = q.limit - runs.length;
        let filter = `${pkEq(pk)} and RowKey ${inclusive ? 'ge' : 'gt'} ${odataString(from)} and RowKey lt ${odataString(upper)}`;
        if (q.narrowToPipeline !== undefined) filter += ` and pipeline eq ${odataString(q.narrowToPipeline)}`;
        const page = await this.t.index
          .listEntities<Record<string, unknown>>({ queryOptions: { filter, select: ['RowKey', 'runId'] } })
          .byPage({ maxPageSize: need })
          .next();
        const rows: Row[] = page.done ? [] : page.value.slice(0, need);
        if (rows.length === 0) break;
        const hits = rows.map((r) => ({ id: typeof r['runId'] === 'string' ? r['runId'] : '', ms: fromInvertedTime(rowKeyOf(r)) }));
        const found = await this.readRuns(hits, kind === 'status' ? (value as RunStatus) : undefined, q.narrowToPipeline);
        runs.push(...found);
        const lastRow = rows.at(-1)!;
        const lastKey: ListCursor = { b: bucket, r: rowKeyOf(lastRow) };
        from = lastKey.r;
        inclusive = false;
        if (runs.length >= q.limit) return { runs, nextCursor: encodeCursor(lastKey) };
        if (rows.length < need) break;
      }
    }
    return { runs };
  }

  // ───────────────────────────── schedules (SchedulerStore + pause/resume) ─────────────────────────────

  async getScheduleState(pipeline: string, schedule: string): Promise<ScheduleState> {
    await this.ready();
    const row = await getOrUndefined(this.t.schedules, schedulePartition(pipeline, schedule), SCHEDULE_STATE_ROW);
    if (!row) return { paused: false };
    return {
      ...(typeof row['checkpoint'] === 'string' ? { checkpoint: row['checkpoint'] } : {}),
      paused: row['paused'] === true,
      ...(row.etag ? { etag: row.etag } : {}),
    };
  }

  async setCheckpoint(pipeline: string, schedule: string, checkpoint: string, etag: string | undefined): Promise<boolean> {
    await this.ready();
    const entity = { partitionKey: schedulePartition(pipeline, schedule), rowKey: SCHEDULE_STATE_ROW, checkpoint };
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
    patch: Partial<Pick<SlotEntry, 'outcome' | 'reason' | 'instanceId' | 'lateBySeconds' | 'attempts' | 'updatedAt'>>,
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
    const pipelines = new Set<string>();
    if (bounds) {
      const newest = monthBucket(cutoffMs) < bounds.newest ? monthBucket(cutoffMs) : bounds.newest;
      for (const bucket of monthsDescending(newest, bounds.oldest)) {
        const rows = await queryAll(this.t.index, rangeFilter(indexPartition('all', '', bucket), invertedTime(cutoffMs - 1), '~'));
        for (const row of rows) {
          const runId = typeof row['runId'] === 'string' ? row['runId'] : '';
          const pipeline = typeof row['pipeline'] === 'string' ? row['pipeline'] : '';
          await this.purgeRun(runId, pipeline, rowKeyOf(row), bucket);
          runIds.push(runId);
          pipelines.add(pipeline);
        }
      }
      const purged = new Set(runIds);
      for (const pipeline of pipelines) await this.removeFromHead(pipeline, purged);
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

  /** Drops runs from a pipeline's head row (purged, or re-keyed), so "latest N" stays one point read. */
  private async removeFromHead(pipeline: string, purged: ReadonlySet<string>, replacement?: HeadEntry): Promise<void> {
    const pk = pipelineHeadPartition(pipeline);
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const row = await getOrUndefined(this.t.index, pk, HEAD_ROW);
      if (!row) return;
      const entries = decodeJson<[string, number][]>(row['recent']) ?? [];
      const kept = entries.filter(([id]) => !purged.has(id));
      if (kept.length === entries.length) return;
      if (replacement) {
        kept.push([replacement.id, replacement.ms]);
        kept.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? 1 : -1));
      }
      try {
        await this.t.index.updateEntity({ partitionKey: pk, rowKey: HEAD_ROW, recent: JSON.stringify(kept) }, 'Merge', { etag: row.etag });
        return;
      } catch (error) {
        if (!isConflict(error)) throw error;
      }
    }
  }

  /** After a purge no run is older than the cutoff month: listings stop walking there. */
  private async raiseOldestBound(bucket: string): Promise<void> {
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const row = await getOrUndefined(this.t.index, META_PARTITION, HEAD_ROW);
      if (!row || typeof row['oldest'] !== 'string' || typeof row['newest'] !== 'string' || row['oldest'] >= bucket) return;
      const next = { oldest: bucket < row['newest'] ? bucket : row['newest'], newest: row['newest'] };
      try {
        await this.t.index.updateEntity({ partitionKey: META_PARTITION, rowKey: HEAD_ROW, ...next }, 'Replace', { etag: row.etag });
        this.knownBounds = undefined;
        return;
      } catch (error) {
        if (!isConflict(error)) throw error;
      }
    }
  }

  private async purgeRun(runId: string, pipeline: string, rk: string, bucket: string): Promise<void> {
    const rows = await queryAll(this.t.runs, pkEq(runId));
    const marker = rows.find((r) => r.rowKey === IDEMPOTENCY_MARKER_ROW);
    if (marker && typeof marker['pipeline'] === 'string' && typeof marker['key'] === 'string') {
      const pk = encodeKeyPart(marker['pipeline']);
      const key = encodeKeyPart(marker['key']);
      const owner = await getOrUndefined(this.t.idempotency, pk, key);
      if (owner && owner['runId'] === runId) await ignore404(this.t.idempotency.deleteEntity(pk, key, { etag: owner.etag }));
    }
    await this.deleteRows(this.t.runs, runId, rows.map(rowKeyOf));
    await Promise.all([
      ignore404(this.t.index.deleteEntity(indexPartition('pipeline', pipeline, bucket), rk)),
      ...RUN_STATUSES.map((s) => ignore404(this.t.index.deleteEntity(indexPartition('status', s, bucket), rk))),
    ]);
    // The "all" row goes last: while it exists, a retried purge finds the run again.
    await ignore404(this.t.index.deleteEntity(indexPartition('all', '', bucket), rk));
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
      await getOrUndefined(this.t.index, META_PARTITION, HEAD_ROW);
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
