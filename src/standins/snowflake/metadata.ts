/**
 * The two metadata statements the snowflake step runs besides its own, answered from what the
 * stand-in has seen, with Snowflake's columns:
 *
 *   SELECT <columns> FROM TABLE(INFORMATION_SCHEMA.QUERY_HISTORY_BY_USER([USER_NAME => '…',] [RESULT_LIMIT => n]))
 *     [WHERE QUERY_TAG = ? | '<tag>'] [ORDER BY START_TIME [ASC|DESC]]
 *   (also QUERY_HISTORY and QUERY_HISTORY_BY_SESSION)
 *
 * docs.snowflake.com "QUERY_HISTORY, QUERY_HISTORY_BY_*": queries of the last 7 days; USER_NAME
 * defaults to CURRENT_USER, SESSION_ID to CURRENT_SESSION; RESULT_LIMIT defaults to 100 (at most
 * 10,000) and keeps the most recent; without END_TIME_RANGE_END "the function returns all queries,
 * including those that are still running". EXECUTION_STATUS is one of resuming_warehouse,
 * running, queued, blocked, success, failed_with_error, failed_with_incident (the page lists them
 * lower case; the column holds them upper case, as the drivers' status names). A canceled
 * statement is failed_with_error with code 000604.
 *
 *   SHOW PARAMETERS LIKE '<pattern>' IN SESSION | IN WAREHOUSE <name>
 *
 * answers `key, value, default, level, description, type` (docs.snowflake.com "SHOW PARAMETERS"),
 * values as text, `level` empty when the default applies.
 *
 * Anything else in that shape is refused with a compilation error, so an adapter that drifts from
 * what Snowflake accepts fails here too.
 */
import type { CellValue, ColumnSpec, QueryRecord, ResultSpec, SnowflakeErrorSpec } from './server';

/** Statement timeouts by level; unset = Snowflake's default (172,800 s; 0 = no queue timeout). */
export interface TimeoutParameters {
  readonly session?: Partial<Record<TimeoutParameter, number>>;
  readonly warehouse?: Partial<Record<TimeoutParameter, number>>;
}

export type TimeoutParameter = 'STATEMENT_TIMEOUT_IN_SECONDS' | 'STATEMENT_QUEUED_TIMEOUT_IN_SECONDS';

export const DEFAULT_TIMEOUT_PARAMETERS: TimeoutParameters = {};

const DEFAULTS: Record<TimeoutParameter, number> = { STATEMENT_TIMEOUT_IN_SECONDS: 172800, STATEMENT_QUEUED_TIMEOUT_IN_SECONDS: 0 };
const DESCRIPTIONS: Record<TimeoutParameter, string> = {
  STATEMENT_TIMEOUT_IN_SECONDS: 'Timeout in seconds for statements: statements are automatically canceled if they run for longer; if set to zero, max value (604800) is enforced.',
  STATEMENT_QUEUED_TIMEOUT_IN_SECONDS: 'Timeout in seconds for queued statements: statements will automatically be canceled if they are queued on a warehouse for longer than this amount of time; disabled if set to zero.',
};

/** Who is asking: the session's id, user and warehouse. */
export interface Asker {
  readonly sessionId: number;
  readonly user: string;
  readonly warehouse: string | undefined;
}

const HISTORY = /^\s*SELECT\s+(.+?)\s+FROM\s+TABLE\s*\(\s*INFORMATION_SCHEMA\.(QUERY_HISTORY(?:_BY_USER|_BY_SESSION)?)\s*\(([^)]*)\)\s*\)\s*(.*?)\s*;?\s*$/is;
const SHOW_PARAMETERS = /^\s*SHOW\s+PARAMETERS\s+LIKE\s+'([^']*)'\s+IN\s+(SESSION|WAREHOUSE\s+("?)([A-Za-z0-9_$]+)\3)\s*;?\s*$/i;

const HISTORY_COLUMNS: Record<string, { type: ColumnSpec['type']; of: (q: QueryRecord, history: HistoryView) => CellValue }> = {
  QUERY_ID: { type: 'text', of: (q) => q.id },
  QUERY_TEXT: { type: 'text', of: (q) => q.sql },
  QUERY_TAG: { type: 'text', of: (q) => (typeof q.parameters['QUERY_TAG'] === 'string' ? q.parameters['QUERY_TAG'] : '') },
  SESSION_ID: { type: 'fixed', of: (q) => q.sessionId },
  USER_NAME: { type: 'text', of: (q) => q.user },
  EXECUTION_STATUS: { type: 'text', of: (q, h) => h.executionStatus(q) },
  ERROR_CODE: { type: 'text', of: (q, h) => h.errorOf(q)?.code ?? null },
  ERROR_MESSAGE: { type: 'text', of: (q, h) => h.errorOf(q)?.message ?? null },
};

/** What the stand-in knows of a query beyond its record. */
export interface HistoryView {
  executionStatus(q: QueryRecord): string;
  errorOf(q: QueryRecord): SnowflakeErrorSpec | undefined;
}

/** Is this one of the metadata statements (answered here rather than scripted)? */
export function isMetadataQuery(sql: string): boolean {
  return HISTORY.test(sql) || /^\s*SHOW\s+PARAMETERS\b/i.test(sql);
}

export function answerMetadataQuery(
  sql: string,
  bindings: Record<string, { type: string; value: unknown }> | undefined,
  asker: Asker,
  queries: readonly QueryRecord[],
  history: HistoryView,
  parameters: TimeoutParameters,
): { result: ResultSpec } | { error: SnowflakeErrorSpec } {
  const show = SHOW_PARAMETERS.exec(sql);
  if (show) return showParameters(show[1] ?? '', show[4], parameters);
  const match = HISTORY.exec(sql);
  if (!match) return compilationError(`syntax error: the stand-in answers QUERY_HISTORY and SHOW PARAMETERS in one shape only: ${sql.slice(0, 120)}`);
  const [, selectList = '', fn = '', args = '', rest = ''] = match;

  const columns = selectList.split(',').map((c) => c.trim().toUpperCase());
  for (const column of columns) if (!(column in HISTORY_COLUMNS)) return compilationError(`invalid identifier '${column}'`, '000904');

  const named = new Map<string, string>();
  for (const part of args.split(',').map((a) => a.trim()).filter(Boolean)) {
    const arg = /^([A-Z_]+)\s*=>\s*(.+)$/i.exec(part);
    if (!arg?.[1] || !arg[2]) return compilationError(`invalid argument ${part}`);
    named.set(arg[1].toUpperCase(), arg[2].trim());
  }
  const limitText = named.get('RESULT_LIMIT') ?? '100';
  const limit = Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10000) return compilationError(`RESULT_LIMIT must be between 1 and 10000, got ${limitText}`, '001044');

  let rows = queries.filter((q) => q.user === asker.user);
  if (fn.toUpperCase() === 'QUERY_HISTORY_BY_USER' && named.has('USER_NAME')) {
    const user = /^'"?([^'"]+)"?'$/.exec(named.get('USER_NAME') ?? '')?.[1]?.toUpperCase();
    rows = queries.filter((q) => q.user === user);
  }
  if (fn.toUpperCase() === 'QUERY_HISTORY_BY_SESSION') rows = rows.filter((q) => q.sessionId === asker.sessionId);
  // The most recent `limit` queries, then the SQL predicates over them.
  rows = rows.slice(-limit);

  const clauses = /^(?:WHERE\s+QUERY_TAG\s*=\s*(\?|'((?:[^']|'')*)'))?\s*(?:ORDER\s+BY\s+START_TIME(?:\s+(ASC|DESC))?)?$/i.exec(rest);
  if (!clauses) return compilationError(`the stand-in filters query history by QUERY_TAG only: ${rest}`);
  const [, placeholder, literal, direction] = clauses;
  if (placeholder !== undefined) {
    const tag = placeholder === '?' ? bindings?.['1']?.value : literal?.replace(/''/g, "'");
    if (typeof tag !== 'string') return compilationError('Bind variable ? not set.', '002049');
    rows = rows.filter((q) => HISTORY_COLUMNS['QUERY_TAG']?.of(q, history) === tag);
  }
  rows = [...rows].sort((a, b) => a.startedAt - b.startedAt);
  if (direction?.toUpperCase() === 'DESC') rows.reverse();

  return {
    result: {
      columns: columns.map((name) => ({ name, type: HISTORY_COLUMNS[name]?.type ?? 'text' })),
      rows: rows.map((q) => columns.map((name) => HISTORY_COLUMNS[name]?.of(q, history) ?? null)),
      statementTypeId: 0x1000,
    },
  };
}

function showParameters(pattern: string, warehouse: string | undefined, parameters: TimeoutParameters): { result: ResultSpec } {
  const like = new RegExp(`^${pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/%/g, '.*').replace(/_/g, '.')}$`, 'i');
  const level = warehouse === undefined ? 'SESSION' : 'WAREHOUSE';
  const set = (warehouse === undefined ? parameters.session : parameters.warehouse) ?? {};
  const keys = (Object.keys(DEFAULTS) as TimeoutParameter[]).filter((key) => like.test(key));
  return {
    result: {
      columns: ['key', 'value', 'default', 'level', 'description', 'type'].map((name) => ({ name, type: 'text' as const })),
      rows: keys.map((key) => {
        const value = set[key];
        return [key, String(value ?? DEFAULTS[key]), String(DEFAULTS[key]), value === undefined ? '' : level, DESCRIPTIONS[key], 'NUMBER'];
      }),
      statementTypeId: 0x4000,
    },
  };
}

function compilationError(message: string, code = '001003'): { error: SnowflakeErrorSpec } {
  return { error: { code, message: `SQL compilation error:\n${message}`, sqlState: '42000' } };
}
