/**
 * COPY INTO from the structured `copyInto` fields. Nothing from the definition reaches the SQL
 * raw: identifiers follow the one rule that definition validation uses too
 * (pipelines/snowflakeIdentifier.ts), rendered unquoted only when they are plain ASCII words (so
 * the seed's statement reads as people write it) and double-quoted otherwise; every other value
 * is an escaped string literal, a checked keyword, or a number. The schema already rejects what
 * this module refuses; it re-checks, because SQL is the last place to catch a mistake.
 */
import { PermanentError } from '../../core/errors';
import type { CopyIntoSpec } from '../../pipelines/schema';
import { checkIdentifier, literalTextProblem, renderCheckedIdentifier } from '../../pipelines/snowflakeIdentifier';

/** A stage path that cannot start a comment (`--`, `//`) and needs no quoting. */
const PLAIN_PATH = /^(?!.*--)[A-Za-z0-9_=.-]+(?:\/[A-Za-z0-9_=.-]+)*\/?$/;

const FORMAT_OPTION = /^[A-Z][A-Z_]*$/;
const ON_ERROR = /^(?:CONTINUE|SKIP_FILE|ABORT_STATEMENT|SKIP_FILE_\d+%?)$/;
const FORMAT_TYPES = new Set(['CSV', 'JSON', 'AVRO', 'ORC', 'PARQUET', 'XML']);
const MATCH_BY = new Set(['CASE_SENSITIVE', 'CASE_INSENSITIVE', 'NONE']);

export class UnsafeSqlInputError extends PermanentError {}

function reject(what: string, value: string, problem?: string): never {
  throw new UnsafeSqlInputError(`COPY INTO: refusing ${what} ${JSON.stringify(value)}${problem ? `: ${problem}` : ''}`, { code: 'unsafe-input' });
}

/** `db.schema.name` (up to `maxParts` parts): plain parts as written, others double-quoted. */
export function renderIdentifier(name: string, maxParts: number): string {
  const check = checkIdentifier(name, maxParts);
  if (!check.ok) reject('identifier', name, check.problem);
  return renderCheckedIdentifier(check.parts);
}

/**
 * A Snowflake string literal. Backslash is an escape character inside Snowflake literals, so it is
 * doubled along with the single quote; control and invisible characters are refused.
 */
export function sqlString(value: string): string {
  const problem = literalTextProblem(value);
  if (problem) reject('text', value, problem);
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

function formatOptionValue(value: string | number | boolean): string {
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) reject('format option value', String(value));
    return String(value);
  }
  return sqlString(value);
}

function renderFileFormat(format: CopyIntoSpec['fileFormat']): string {
  if ('name' in format) return `(FORMAT_NAME = ${sqlString(renderIdentifier(format.name, 3))})`;
  if (!FORMAT_TYPES.has(format.type)) reject('file format type', format.type);
  const parts = [`TYPE = ${sqlString(format.type)}`];
  for (const [key, value] of Object.entries(format.options)) {
    if (!FORMAT_OPTION.test(key) || key === 'TYPE') reject('file format option', key);
    parts.push(`${key} = ${formatOptionValue(value)}`);
  }
  return `(${parts.join(' ')})`;
}

/** `@stage/path`, or the quoted form `'@stage/path'` when the path needs it. */
function renderLocation(stage: string, path: string | undefined): string {
  const base = `@${renderIdentifier(stage, 3)}`;
  if (path === undefined || path === '') return base;
  const trimmed = path.replace(/^\/+/, '');
  if (trimmed === '') return base;
  if (PLAIN_PATH.test(trimmed)) return `${base}/${trimmed}`;
  return sqlString(`${base}/${trimmed}`);
}

/** The COPY INTO statement for a validated `copyInto` spec. */
export function buildCopyInto(spec: CopyIntoSpec): string {
  const clauses = [`COPY INTO ${renderIdentifier(spec.table, 3)}`, `FROM ${renderLocation(spec.stage, spec.path)}`];
  if (spec.pattern !== undefined) clauses.push(`PATTERN = ${sqlString(spec.pattern)}`);
  clauses.push(`FILE_FORMAT = ${renderFileFormat(spec.fileFormat)}`);
  if (!ON_ERROR.test(spec.onError)) reject('ON_ERROR', spec.onError);
  clauses.push(`ON_ERROR = ${sqlString(spec.onError)}`);
  if (spec.purge) clauses.push('PURGE = TRUE');
  if (spec.matchByColumnName !== undefined) {
    if (!MATCH_BY.has(spec.matchByColumnName)) reject('MATCH_BY_COLUMN_NAME', spec.matchByColumnName);
    clauses.push(`MATCH_BY_COLUMN_NAME = ${spec.matchByColumnName}`);
  }
  if (spec.force) clauses.push('FORCE = TRUE');
  return clauses.join(' ');
}
