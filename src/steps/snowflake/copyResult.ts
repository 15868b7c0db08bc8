/**
 * Reads COPY INTO's result set (one row per file: file, status, rows_parsed, rows_loaded,
 * error_limit, errors_seen, first_error, first_error_line, …) into the step's metrics.
 * When no file was new, Snowflake answers a single `status` row ("Copy executed with 0 files
 * processed."), which reads as zero files.
 */
import type { StepMetrics } from '../protocol';

export type Row = Record<string, unknown>;

export interface CopyFileResult {
  readonly file: string;
  readonly status: string;
  readonly rowsParsed: number;
  readonly rowsLoaded: number;
  readonly errorsSeen: number;
  readonly firstError: string | null;
  readonly firstErrorLine: number | null;
}

export interface CopyIntoSummary {
  readonly filesLoaded: number;
  readonly filesPartiallyLoaded: number;
  /** LOAD_FAILED and LOAD_SKIPPED (a file SKIP_FILE gave up on). */
  readonly filesFailed: number;
  readonly rowsParsed: number;
  readonly rowsLoaded: number;
  readonly errorsSeen: number;
  /** The first error of the first file that had one, with the file named. */
  readonly firstError: string | null;
  readonly files: readonly CopyFileResult[];
}

const FIRST_ERROR_MAX = 500;

/** Column lookup that ignores case: the driver keys rows by the names Snowflake sent. */
function field(row: Row, name: string): unknown {
  if (name in row) return row[name];
  const upper = name.toUpperCase();
  for (const [key, value] of Object.entries(row)) if (key.toUpperCase() === upper) return value;
  return undefined;
}

function count(value: unknown): number {
  if (typeof value === 'number') return Number.isFinite(value) ? value : 0;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && /^\d+$/.test(value.trim())) return Number(value);
  return 0;
}

function text(value: unknown): string | null {
  if (value === null || value === undefined || value === '') return null;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export function isCopyIntoResult(rows: readonly Row[]): boolean {
  return rows.length > 0 && rows.every((r) => field(r, 'file') !== undefined && field(r, 'rows_loaded') !== undefined);
}

export function summarizeCopyInto(rows: readonly Row[]): CopyIntoSummary {
  const files: CopyFileResult[] = rows
    .filter((r) => field(r, 'file') !== undefined)
    .map((r) => ({
      file: text(field(r, 'file')) ?? '',
      status: (text(field(r, 'status')) ?? '').toUpperCase(),
      rowsParsed: count(field(r, 'rows_parsed')),
      rowsLoaded: count(field(r, 'rows_loaded')),
      errorsSeen: count(field(r, 'errors_seen')),
      firstError: text(field(r, 'first_error')),
      firstErrorLine: field(r, 'first_error_line') == null ? null : count(field(r, 'first_error_line')),
    }));
  const withError = files.find((f) => f.firstError !== null);
  const firstError = withError
    ? truncate(`${withError.file}${withError.firstErrorLine === null ? '' : ` line ${withError.firstErrorLine}`}: ${withError.firstError}`)
    : null;
  return {
    filesLoaded: files.filter((f) => f.status === 'LOADED').length,
    filesPartiallyLoaded: files.filter((f) => f.status === 'PARTIALLY_LOADED').length,
    filesFailed: files.filter((f) => f.status === 'LOAD_FAILED' || f.status === 'LOAD_SKIPPED').length,
    rowsParsed: files.reduce((n, f) => n + f.rowsParsed, 0),
    rowsLoaded: files.reduce((n, f) => n + f.rowsLoaded, 0),
    errorsSeen: files.reduce((n, f) => n + f.errorsSeen, 0),
    firstError,
    files,
  };
}

export function copyMetrics(summary: CopyIntoSummary): StepMetrics {
  return {
    filesLoaded: summary.filesLoaded,
    filesPartiallyLoaded: summary.filesPartiallyLoaded,
    filesFailed: summary.filesFailed,
    rowsParsed: summary.rowsParsed,
    rowsLoaded: summary.rowsLoaded,
    errorsSeen: summary.errorsSeen,
    firstError: summary.firstError,
  };
}

function truncate(value: string): string {
  return value.length <= FIRST_ERROR_MAX ? value : `${value.slice(0, FIRST_ERROR_MAX - 1)}…`;
}
