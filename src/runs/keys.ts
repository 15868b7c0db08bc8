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

/**
 * Index partition `a~<month>`: one row per run ({ runId, pipeline }), written once when the run
 * row is created. Pipeline and status filters run inside it (docs/run-store.md, "Listings").
 */
export function indexPartition(bucket: string): string {
  return `a${SEP}${bucket}`;
}

/**
 * The same month's runs of one project (`p~<project>~<month>`) or carrying one tag
 * (`t~<tag>~<month>`): what `--project` and `--tag` listings walk, so a filter reads only the runs
 * that match it (docs/run-store.md, "Projects and tags").
 */
export function projectIndexPartition(project: string, bucket: string): string {
  return `p${SEP}${encodeKeyPart(project)}${SEP}${bucket}`;
}

export function tagIndexPartition(tag: string, bucket: string): string {
  return `t${SEP}${encodeKeyPart(tag)}${SEP}${bucket}`;
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

/**
 * Log row keys sort in write order without a counter to read first: the write time (ms), a
 * sequence that keeps one process's lines in order within a millisecond, and a random tail so two
 * processes writing in the same millisecond never collide. The part after `log~` is the cursor.
 */
export function logRowKey(cursor: string): string {
  return `log${SEP}${cursor}`;
}
export const LOG_CURSOR = /^\d{13}~\d{4}~[0-9a-z]{6}$/u;

/** Issues log cursors in this process's write order (see logRowKey). */
export class LogCursorClock {
  private lastMs = 0;
  private seq = 0;
  next(nowMs: number): string {
    if (nowMs > this.lastMs) {
      this.lastMs = nowMs;
      this.seq = 0;
    } else {
      this.seq += 1;
      if (this.seq > 9999) {
        this.lastMs += 1;
        this.seq = 0;
      }
    }
    const tail = Math.floor(Math.random() * 36 ** 6).toString(36).padStart(6, '0');
    return `${String(this.lastMs).padStart(13, '0')}${SEP}${String(this.seq).padStart(4, '0')}${SEP}${tail}`;
  }
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

/** Store-wide bounds of the months that hold runs, so listings know where to stop walking. */
export const META_PARTITION = 'meta';
export const META_ROW = '';
/** Marks a run's end in its partition: inserted once, so a second end cannot overwrite the first. */
export const END_ROW = 'end';

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
