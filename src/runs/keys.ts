/**
 * Partition and row keys of the run store, and the small codecs around them. Every read the app
 * makes is a point read or a `PartitionKey eq X and RowKey ge a and RowKey lt b` range: see
 * docs/run-store.md for the layout and why.
 */

/**
 * Table Storage forbids / \\ # ? and control characters in keys. We go further and percent-encode
 * everything outside [A-Za-z0-9_.:+-] (UTF-8 bytes): encoded parts are printable ASCII below `~`,
 * so `~` can separate parts and `prefix + '~'` bounds a prefix range.
 */
export function encodeKeyPart(value: string): string {
  return value.replace(/[^A-Za-z0-9_.:+-]/gu, (c) =>
    [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}

export function decodeKeyPart(value: string): string {
  return decodeURIComponent(value);
}

/** Separator inside composite keys; encoded parts never hold it. */
export const SEP = '~';
/** Every key starting with `prefix` (followed by encoded parts) is `>= prefix` and `< prefixEnd(prefix)`. */
export function prefixEnd(prefix: string): string {
  return `${prefix}~`;
}

const MAX_MS = 9_999_999_999_999;

/** Newest first: row keys sort ascending, so store the time subtracted from a constant. */
export function invertedTime(ms: number): string {
  return String(MAX_MS - Math.max(0, Math.min(MAX_MS, Math.floor(ms)))).padStart(13, '0');
}

export function fromInvertedTime(key: string): number {
  return MAX_MS - Number(key.slice(0, 13));
}

/**
 * Index partitions are split by month (`202611`): a partition holds a bounded slice of history, so
 * no partition grows without end (Table Storage serves ~2,000 entities/s per partition; Azurite
 * slows down quadratically with partition size), and retention drops whole months.
 */
export function monthBucket(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear().toString().padStart(4, '0')}${(d.getUTCMonth() + 1).toString().padStart(2, '0')}`;
}

/** Months from `newest` down to `oldest` inclusive, newest first. */
export function monthsDescending(newest: string, oldest: string): string[] {
  const out: string[] = [];
  let y = Number(newest.slice(0, 4));
  let m = Number(newest.slice(4, 6));
  for (;;) {
    const bucket = `${String(y).padStart(4, '0')}${String(m).padStart(2, '0')}`;
    if (bucket < oldest) break;
    out.push(bucket);
    m -= 1;
    if (m === 0) {
      m = 12;
      y -= 1;
    }
  }
  return out;
}

export type IndexKind = 'pipeline' | 'status' | 'all';

/** Index partition: `p~<pipeline>~<month>`, `s~<status>~<month>`, `a~<month>`. */
export function indexPartition(kind: IndexKind, value: string, bucket: string): string {
  if (kind === 'all') return `a${SEP}${bucket}`;
  return `${kind === 'pipeline' ? 'p' : 's'}${SEP}${encodeKeyPart(value)}${SEP}${bucket}`;
}

/** Index row key: newest first, run id breaks ties within a millisecond. */
export function indexRowKey(createdMs: number, runId: string): string {
  return `${invertedTime(createdMs)}${SEP}${encodeKeyPart(runId)}`;
}

export const RUN_ROW = 'run';
export const LOG_META_ROW = 'logmeta';
export const IDEMPOTENCY_MARKER_ROW = 'idempotency';

/** Attempt rows sort by step, then attempt number. */
export function attemptRowKey(stepId: string, attempt: number): string {
  return `attempt${SEP}${encodeKeyPart(stepId)}${SEP}${String(attempt).padStart(5, '0')}`;
}
export const ATTEMPT_PREFIX = `attempt${SEP}`;

/** Log sequence numbers are 1-based, zero-padded so row keys sort in append order. */
export function logRowKey(seq: number): string {
  return `log${SEP}${String(seq).padStart(10, '0')}`;
}
export const LOG_PREFIX = `log${SEP}`;

export function schedulePartition(pipeline: string, schedule: string): string {
  return `${encodeKeyPart(pipeline)}${SEP}${encodeKeyPart(schedule)}`;
}
export const SCHEDULE_STATE_ROW = 'state';
export function slotRowKey(slot: string): string {
  return `slot${SEP}${encodeKeyPart(slot)}`;
}
export const SLOT_PREFIX = `slot${SEP}`;
/** A copy of each slot row whose outcome a later tick may act on, kept in the same transaction. */
export function pendingSlotRowKey(slot: string): string {
  return `pending${SEP}${encodeKeyPart(slot)}`;
}
export const PENDING_PREFIX = `pending${SEP}`;

/** Head row of a pipeline: its most recent run ids, one point read for "latest N". */
export function pipelineHeadPartition(pipeline: string): string {
  return `head${SEP}${encodeKeyPart(pipeline)}`;
}
/** Store-wide bounds of the months that hold runs, so listings know where to stop walking. */
export const META_PARTITION = 'meta';
export const HEAD_ROW = '';

/** Opaque listing cursor: the index month and the last row key returned. */
export interface ListCursor {
  readonly b: string;
  readonly r: string;
}

export function encodeCursor(cursor: ListCursor): string {
  return Buffer.from(JSON.stringify(cursor), 'utf8').toString('base64url');
}

export function decodeCursor(text: string): ListCursor | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (typeof value !== 'object' || value === null) return undefined;
    const { b, r } = value as { b?: unknown; r?: unknown };
    if (typeof b !== 'string' || !/^\d{6}$/.test(b) || typeof r !== 'string') return undefined;
    return { b, r };
  } catch {
    return undefined;
  }
}

/** OData string literal: single quotes doubled. */
export function odataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
