/**
 * One Table entity per pool (`<prefix>Pools`, PartitionKey = the pool's encoded name, RowKey
 * `ledger`) holding its ledger; every change is read–modify–write under the entity's ETag
 * (`updateEntity(…, { etag })`, 412 when another writer got there first: read again and redo), so
 * the ledger's rules (ledger.ts) hold across every instance of the app. Table Storage serves about
 * 2,000 operations/s per partition: far more acquisitions than any pool sees.
 *
 * A string property holds at most 64 KiB (32K UTF-16 characters), so the ledger's JSON is spread
 * over up to 15 properties: a few thousand waiters per pool.
 */
import type { TableClient } from '@azure/data-tables';
import { encodeKeyPart } from '../runs/keys';
import { ensureTable, statusOf } from '../runs/tables';
import { EMPTY_LEDGER, type PoolLedger, type Transition } from './ledger';

const ROW = 'ledger';
const CHUNK = 30_000;
const MAX_CHUNKS = 15;
const MAX_RETRIES = 50;

export class PoolCapacityError extends Error {
  override readonly name = 'PoolCapacityError';
}

export interface PoolStore {
  /** Applies `change` to the pool's ledger atomically; returns what it answered. */
  change<T>(pool: string, change: (ledger: PoolLedger) => Transition<T>): Promise<Transition<T>>;
  read(pool: string): Promise<PoolLedger>;
}

function decode(row: Record<string, unknown> | undefined): PoolLedger {
  if (!row) return EMPTY_LEDGER;
  let text = '';
  for (let i = 0; i < MAX_CHUNKS; i++) {
    const part = row[`ledger${i}`];
    if (typeof part !== 'string') break;
    text += part;
  }
  if (text === '') return EMPTY_LEDGER;
  const parsed = JSON.parse(text) as PoolLedger;
  return { holders: parsed.holders ?? [], waiters: parsed.waiters ?? [] };
}

function encode(ledger: PoolLedger): Record<string, string> {
  const text = JSON.stringify(ledger);
  const chunks = Math.max(1, Math.ceil(text.length / CHUNK));
  if (chunks > MAX_CHUNKS) throw new PoolCapacityError(`the pool's queue is full (${ledger.waiters.length} waiters): the ledger no longer fits one Table entity`);
  const props: Record<string, string> = {};
  for (let i = 0; i < MAX_CHUNKS; i++) props[`ledger${i}`] = i < chunks ? text.slice(i * CHUNK, (i + 1) * CHUNK) : '';
  return props;
}

export class TablePoolStore implements PoolStore {
  private ready: Promise<void> | undefined;

  constructor(private readonly table: TableClient) {}

  private ensure(): Promise<void> {
    this.ready ??= ensureTable(this.table);
    return this.ready;
  }

  private async get(pool: string): Promise<{ ledger: PoolLedger; etag?: string }> {
    await this.ensure();
    try {
      const row = await this.table.getEntity<Record<string, unknown>>(encodeKeyPart(pool), ROW);
      return { ledger: decode(row), ...(row.etag ? { etag: row.etag } : {}) };
    } catch (error) {
      if (statusOf(error) === 404) return { ledger: EMPTY_LEDGER };
      throw error;
    }
  }

  read(pool: string): Promise<PoolLedger> {
    return this.get(pool).then((r) => r.ledger);
  }

  async change<T>(pool: string, change: (ledger: PoolLedger) => Transition<T>): Promise<Transition<T>> {
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const { ledger, etag } = await this.get(pool);
      const next = change(ledger);
      if (next.ledger === ledger) return next;
      const entity = { partitionKey: encodeKeyPart(pool), rowKey: ROW, ...encode(next.ledger) };
      try {
        if (etag === undefined) await this.table.createEntity(entity);
        else await this.table.updateEntity(entity, 'Replace', { etag });
        return next;
      } catch (error) {
        const status = statusOf(error);
        // Another writer changed the ledger since we read it: read again and redo the change.
        if (status !== 409 && status !== 412) throw error;
      }
    }
    throw new Error(`pool ${pool}: too many concurrent writers`);
  }
}
