/**
 * Backfills in Table Storage, next to the slot ledger in the run store's schedules table:
 *
 * - `backfill~<id>` / `header`: the backfill (pipeline, schedule, range, mode, state, who);
 * - `backfill~<id>` / `slot~<utc>`: one row per slot (state, run id, reason): its progress;
 * - `backfills` / `<inverted time>~<id>`: the listing, newest first.
 *
 * The driver's activity is the only writer of slot rows (one pass at a time per backfill); the
 * header's state changes by compare-and-set on its etag, so a cancel and the driver's "done" race
 * safely.
 */
import { TableTransaction, type TableClient, type TableEntityResult } from '@azure/data-tables';
import type { JsonObject } from '../core/json';
import { invertedTime, odataString, prefixEnd, SEP } from '../runs/keys';
import { statusOf } from '../runs/tables';
import { BACKFILL_MODES, SLOT_STATES, type BackfillMode, type BackfillRecord, type BackfillSlot, type BackfillSlotState, type BackfillState } from './types';

type Row = TableEntityResult<Record<string, unknown>>;

const partition = (id: string): string => `backfill${SEP}${id}`;
const HEADER = 'header';
const SLOT_PREFIX = `slot${SEP}`;
const LISTING = 'backfills';
const MAX_ACTIONS = 100;

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

function defined(props: Record<string, string | number | boolean | undefined>): Record<string, string | number | boolean> {
  return Object.fromEntries(Object.entries(props).filter((e): e is [string, string | number | boolean] => e[1] !== undefined));
}

function headerProps(r: BackfillRecord): Record<string, string | number | boolean> {
  return defined({
    id: r.id, pipeline: r.pipeline, schedule: r.schedule, from: r.from, to: r.to, mode: r.mode, maxParallel: r.maxParallel,
    parameters: JSON.stringify(r.parameters), state: r.state, createdBy: r.createdBy, createdAt: r.createdAt,
    cancelledBy: r.cancelledBy, endedAt: r.endedAt, slotCount: r.slotCount,
  });
}

function headerFrom(e: Record<string, unknown>): BackfillRecord {
  const mode = str(e['mode']);
  const state = str(e['state']);
  let parameters: JsonObject = {};
  try {
    const parsed: unknown = JSON.parse(str(e['parameters']) ?? '{}');
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) parameters = parsed as JsonObject;
  } catch {
    // An unreadable parameters cell reads as none; the runs carry their own.
  }
  return {
    id: str(e['id']) ?? '',
    pipeline: str(e['pipeline']) ?? '',
    schedule: str(e['schedule']) ?? '',
    from: str(e['from']) ?? '',
    to: str(e['to']) ?? '',
    mode: BACKFILL_MODES.includes(mode as BackfillMode) ? (mode as BackfillMode) : 'missing',
    maxParallel: num(e['maxParallel']) ?? 1,
    parameters,
    state: (['running', 'cancelling', 'cancelled', 'done'] as const).find((s) => s === state) ?? 'running',
    ...(str(e['createdBy']) ? { createdBy: str(e['createdBy'])! } : {}),
    createdAt: str(e['createdAt']) ?? '',
    ...(str(e['cancelledBy']) ? { cancelledBy: str(e['cancelledBy'])! } : {}),
    ...(str(e['endedAt']) ? { endedAt: str(e['endedAt'])! } : {}),
    slotCount: num(e['slotCount']) ?? 0,
  };
}

function slotProps(s: BackfillSlot): Record<string, string | number | boolean> {
  return defined({ slot: s.slot, local: s.local, scheduledLocal: s.scheduledLocal, dst: s.dst ?? '', state: s.state, runId: s.runId, rerunOf: s.rerunOf, reason: s.reason?.slice(0, 4000), updatedAt: s.updatedAt });
}

function slotFrom(e: Record<string, unknown>): BackfillSlot {
  const state = str(e['state']);
  return {
    slot: str(e['slot']) ?? '',
    local: str(e['local']) ?? '',
    scheduledLocal: str(e['scheduledLocal']) ?? '',
    dst: e['dst'] === 'gap' || e['dst'] === 'overlap' ? e['dst'] : null,
    state: SLOT_STATES.find((s) => s === state) ?? 'queued',
    ...(str(e['runId']) ? { runId: str(e['runId'])! } : {}),
    ...(str(e['rerunOf']) ? { rerunOf: str(e['rerunOf'])! } : {}),
    ...(str(e['reason']) ? { reason: str(e['reason'])! } : {}),
    updatedAt: str(e['updatedAt']) ?? '',
  };
}

export type SlotPatch = Partial<Pick<BackfillSlot, 'state' | 'runId' | 'rerunOf' | 'reason'>> & { readonly updatedAt: string };

export class BackfillStore {
  constructor(private readonly table: TableClient, private readonly ready: () => Promise<void>) {}

  /** Writes a new backfill and its queued slots. */
  async create(record: BackfillRecord, slots: readonly BackfillSlot[]): Promise<void> {
    await this.ready();
    const pk = partition(record.id);
    const actions: TableTransaction['actions'] = [
      ['create', { partitionKey: pk, rowKey: HEADER, ...headerProps(record) }],
      ...slots.map((s): TableTransaction['actions'][number] => ['create', { partitionKey: pk, rowKey: SLOT_PREFIX + s.slot, ...slotProps(s) }]),
    ];
    // The header goes in the first batch: a backfill is listed only once its slots exist.
    for (let i = actions.length; i > 0; i -= MAX_ACTIONS) {
      const chunk = actions.slice(Math.max(0, i - MAX_ACTIONS), i);
      await this.table.submitTransaction(chunk);
    }
    await this.table.upsertEntity({ partitionKey: LISTING, rowKey: `${invertedTime(Date.parse(record.createdAt))}${SEP}${record.id}`, id: record.id, pipeline: record.pipeline, schedule: record.schedule }, 'Replace');
  }

  async get(id: string): Promise<BackfillRecord | undefined> {
    const row = await this.row(id);
    return row ? headerFrom(row) : undefined;
  }

  /** The newest backfills first, of one pipeline or all; `keep` (the caller's projects) chooses before the limit counts. */
  async list(query: { pipeline?: string; limit: number; keep?: (record: BackfillRecord) => boolean }): Promise<BackfillRecord[]> {
    await this.ready();
    const found: BackfillRecord[] = [];
    const filter = `PartitionKey eq ${odataString(LISTING)}${query.pipeline ? ` and pipeline eq ${odataString(query.pipeline)}` : ''}`;
    for await (const row of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
      const header = await this.get(str(row['id']) ?? '');
      if (header && (query.keep?.(header) ?? true)) found.push(header);
      if (found.length >= query.limit) break;
    }
    return found;
  }

  async slots(id: string): Promise<BackfillSlot[]> {
    await this.ready();
    const pk = partition(id);
    const filter = `PartitionKey eq ${odataString(pk)} and RowKey ge ${odataString(SLOT_PREFIX)} and RowKey lt ${odataString(prefixEnd(SLOT_PREFIX))}`;
    const out: BackfillSlot[] = [];
    for await (const row of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) out.push(slotFrom(row));
    return out;
  }

  async updateSlot(id: string, slot: string, patch: SlotPatch): Promise<void> {
    await this.ready();
    await this.table.upsertEntity({ partitionKey: partition(id), rowKey: SLOT_PREFIX + slot, ...defined(patch) }, 'Merge');
  }

  /** Moves the backfill's state if it is one of `from`; false when it is not (or another writer got there first). */
  async transition(id: string, from: readonly BackfillState[], patch: Partial<Pick<BackfillRecord, 'state' | 'cancelledBy' | 'endedAt'>>): Promise<boolean> {
    const row = await this.row(id);
    if (!row || !from.includes(headerFrom(row).state)) return false;
    try {
      await this.table.updateEntity({ partitionKey: partition(id), rowKey: HEADER, ...defined(patch) }, 'Merge', { etag: row.etag });
      return true;
    } catch (error) {
      if (statusOf(error) === 412) return false;
      throw error;
    }
  }

  private async row(id: string): Promise<Row | undefined> {
    await this.ready();
    try {
      return await this.table.getEntity<Record<string, unknown>>(partition(id), HEADER);
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }
}

export type { BackfillSlotState };
