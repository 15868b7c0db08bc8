/**
 * The `snowflake` step: runs a COPY INTO built from structured fields, or SQL with bind
 * parameters, as an asynchronous Snowflake query. `start` submits it (and waits a moment, so a
 * short statement finishes in one activity); otherwise it hands the orchestrator the query id to
 * poll. Every statement carries `QUERY_TAG = <runId>:<stepId>:<attempt>` and a request id derived
 * from it, so Snowflake's query history traces each attempt and a re-delivered activity does not
 * submit twice.
 */
import { createHash } from 'node:crypto';
import { PermanentError, TransientError } from '../../core/errors';
import type { Json, JsonObject } from '../../core/json';
import { maskDeep, maskSecrets, rememberSecretValue } from '../../logging/mask';
import { fillJson, fillTemplate, type RunValues } from '../../pipelines/runValues';
import { isSnowflakeIdentifier, type ConfigValue } from '../../pipelines/schema';
import { resolveValue } from '../../secrets/types';
import type { AdapterFor, StepContext } from '../adapter';
import type { StepMetrics, StepOutcome } from '../protocol';
import { copyIntoLines } from '../resultLines';
import { buildCopyInto } from './copyInto';
import { copyMetrics, isCopyIntoResult, summarizeCopyInto, type Row } from './copyResult';
import {
  connect,
  connectionKey,
  connectionOptions,
  loadSnowflakeSdk,
  sharedConnections,
  type Connection,
  type ConnectionCache,
  type ConnectionSettings,
  type Credentials,
  type Sdk,
} from './connection';
import { classifySnowflakeError, isSessionGone } from './errors';

type SnowflakeStep = Parameters<AdapterFor<'snowflake'>['start']>[0];

/** App setting that points the driver at another endpoint (local stand-in, private link). */
export const ACCESS_URL_SETTING = 'SNOWFLAKE_ACCESS_URL';
/** App setting naming the user-assigned managed identity for workload identity auth. */
export const CLIENT_ID_SETTING = 'AZURE_CLIENT_ID';

export interface SnowflakeAdapterDeps {
  /** The driver; default: snowflake-sdk, required on first use. */
  readonly loadSdk?: () => Sdk;
  /** Connection cache; default: the instance-wide one (warm instances reuse sessions). */
  readonly connections?: ConnectionCache;
  /** Endpoint override; wins over the SNOWFLAKE_ACCESS_URL setting. */
  readonly accessUrl?: string;
  /** How long `start` waits for a quick statement before handing back a poll handle. */
  readonly inlineWaitMs?: number;
  /** Deadline for one driver call (login, submit, status, result fetch). */
  readonly callTimeoutMs?: number;
  /** Upper bound of the first poll delay, in seconds (later polls use the step's pollInterval). */
  readonly firstPollSeconds?: number;
}

const OUTPUT_ROWS = 20;
/** "No record of the query" answers accepted in a row, as snowflake-sdk's `asyncNoDataMaxRetry` (connection.js). */
const MAX_UNKNOWN_CHECKS = 24;
const OUTPUT_TEXT = 200;

export function createSnowflakeAdapter(deps: SnowflakeAdapterDeps = {}): AdapterFor<'snowflake'> {
  const loadSdk = deps.loadSdk ?? loadSnowflakeSdk;
  const connections = deps.connections ?? sharedConnections;
  const inlineWaitMs = deps.inlineWaitMs ?? 1500;
  const callTimeoutMs = deps.callTimeoutMs ?? 60_000;
  const firstPollSeconds = deps.firstPollSeconds ?? 10;

  /** Resolves the connection, connects (or reuses), runs `use`, and classifies what it throws. */
  /**
   * Resolves the connection, connects (or reuses the cached session), runs `use`, and classifies
   * what it throws. A cached session Snowflake no longer knows is replaced once, within the same
   * attempt: the statement never reached Snowflake, so running it on a fresh session is safe.
   */
  async function withConnection<T>(step: SnowflakeStep, ctx: StepContext, what: string, use: (c: Connection) => Promise<T>): Promise<T> {
    const resolved = await resolveConnection(step, ctx, deps.accessUrl);
    const key = connectionKey(resolved.settings, resolved.credentials.type);
    for (let round = 1; ; round += 1) {
      let connection: Connection;
      try {
        connection = await connections.get(key, () =>
          deadline(connect(loadSdk(), connectionOptions(resolved.settings, resolved.credentials)), callTimeoutMs, 'login'),
        );
      } catch (error) {
        throw fail(error, 'login', resolved.secretNames, ctx, key, true);
      }
      try {
        return await use(connection);
      } catch (error) {
        if (round === 1 && isSessionGone(error)) {
          ctx.log.info('Snowflake session expired or was closed; logging in again');
          connections.drop(key);
          continue;
        }
        throw fail(error, what, resolved.secretNames, ctx, key, false);
      }
    }
  }

  function fail(error: unknown, what: string, secretNames: readonly string[], ctx: StepContext, key: string, login: boolean): Error {
    let failure = classifySnowflakeError(error, what);
    // A key the driver cannot parse, or any other non-driver failure while logging in, is the
    // credential's fault: fail now and re-read the secret next attempt.
    if (login && failure.error instanceof TransientError && !isDriverError(error)) {
      failure = { error: new PermanentError(failure.error.message, { code: 'auth' }), auth: true, dropConnection: true };
    }
    if (failure.auth) for (const name of secretNames) ctx.secrets.invalidate(name);
    if (failure.dropConnection || failure.auth) connections.drop(key);
    ctx.log.warn({ code: failure.error.code, class: failure.error.failureClass }, maskSecrets(failure.error.message));
    return failure.error;
  }

  async function finish(step: SnowflakeStep, connection: Connection, queryId: string, ctx: StepContext): Promise<StepOutcome> {
    const rows = await deadline(fetchRows(connection, queryId), callTimeoutMs, 'result fetch');
    return succeeded(step, queryId, rows, ctx);
  }

  /**
   * Checks the query: finished (rows), failed (throws the query's own error), still running, or
   * not known yet. Query monitoring can lag a fresh submit: the driver reads an empty answer as
   * NO_QUERY_DATA, and Snowflake's drivers keep polling through "no data" (snowflake-sdk
   * connection.js getResultsFromQueryId, where NO_DATA is a running status, up to
   * `asyncNoDataMaxRetry`). The caller bounds how many "unknown" answers it accepts.
   */
  async function check(connection: Connection, queryId: string): Promise<{ state: 'running' | 'unknown' | 'done'; status: string }> {
    const status = await deadline(connection.getQueryStatus(queryId), callTimeoutMs, 'status check');
    if (status === 'NO_QUERY_DATA' || status === 'NO_DATA') return { state: 'unknown', status };
    // RESUMING_WAREHOUSE, QUEUED, QUEUED_REPARING_WAREHOUSE… are waits, not failures; the status is
    // shown on the running step so a user sees why it is slow.
    if (connection.isStillRunning(status as Parameters<Connection['isStillRunning']>[0])) return { state: 'running', status };
    if (status === 'SUCCESS') return { state: 'done', status };
    // Failed or aborted: fetching the result yields the query's own error code and message.
    await deadline(fetchRows(connection, queryId, false), callTimeoutMs, 'result fetch');
    throw new TransientError(`Snowflake query ${queryId} ended with status ${status}`, { code: status });
  }

  return {
    async start(step, ctx) {
      const { sqlText, binds } = statementOf(step, ctx);
      const tag = `${ctx.runId}:${ctx.stepId}:${ctx.attempt}`;
      return withConnection(step, ctx, 'query', async (connection) => {
        const queryId = await deadline(submit(connection, sqlText, binds, tag), callTimeoutMs, 'submit');
        ctx.log.info({ queryId, queryTag: tag }, 'Snowflake query submitted');
        const started = Date.now();
        let unknown = 0;
        let status: string | undefined;
        for (const pause of [100, 250, 500, 1000, 1000]) {
          const waited = Date.now() - started;
          if (waited + pause > inlineWaitMs) break;
          await sleep(pause);
          const checked = await check(connection, queryId);
          if (checked.state === 'done') return finish(step, connection, queryId, ctx);
          unknown = checked.state === 'unknown' ? unknown + 1 : 0;
          status = checked.status;
        }
        return running(queryId, 1, Math.min(firstPollSeconds, step.pollInterval), unknown, status);
      });
    },

    async poll(step, handle, ctx) {
      const queryId = queryIdOf(handle);
      const polls = typeof handle['polls'] === 'number' ? handle['polls'] : 1;
      const unknownBefore = typeof handle['unknown'] === 'number' ? handle['unknown'] : 0;
      return withConnection(step, ctx, 'query', async (connection) => {
        const { state, status } = await check(connection, queryId);
        if (state === 'done') return finish(step, connection, queryId, ctx);
        if (state === 'running') return running(queryId, polls + 1, step.pollInterval, 0, status);
        const unknown = unknownBefore + 1;
        if (unknown > MAX_UNKNOWN_CHECKS) {
          // The request id makes the next attempt's submit safe: Snowflake answers a request id it
          // has seen with the query it started instead of running it twice.
          throw new TransientError(`Snowflake has no record of query ${queryId} after ${unknown} status checks; the step will submit it again`, { code: 'NO_QUERY_DATA' });
        }
        return running(queryId, polls + 1, step.pollInterval, unknown, status);
      });
    },

    async cancel(step, handle, ctx) {
      try {
        const queryId = queryIdOf(handle);
        await withConnection(step, ctx, 'cancel', (connection) =>
          deadline(submitSync(connection, 'SELECT SYSTEM$CANCEL_QUERY(?)', [queryId]), callTimeoutMs, 'cancel'),
        );
      } catch (error) {
        ctx.log.warn({ err: maskSecrets(String(error)) }, 'could not cancel the Snowflake query');
      }
    },
  };
}

// ── Resolution ────────────────────────────────────────────────────────────────────────────────────

interface ResolvedConnection {
  readonly settings: ConnectionSettings;
  readonly credentials: Credentials;
  /** Secrets this connection was built from: invalidated when Snowflake rejects the login. */
  readonly secretNames: readonly string[];
}

const ACCOUNT = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/;

async function resolveConnection(step: SnowflakeStep, ctx: StepContext, accessUrlOverride: string | undefined): Promise<ResolvedConnection> {
  const secretNames: string[] = [];
  const get = async (value: ConfigValue): Promise<string> => {
    const resolved = await resolveValue(value, ctx.secrets, ctx.settings);
    if (typeof value === 'object' && 'secret' in value) {
      secretNames.push(value.secret);
      rememberSecretValue(resolved);
    }
    return resolved.trim();
  };
  const secret = async (name: string): Promise<string> => {
    secretNames.push(name);
    const value = await ctx.secrets.get(name);
    rememberSecretValue(value);
    return value;
  };
  const identifier = async (value: ConfigValue, what: string): Promise<string> => {
    const resolved = await get(value);
    // Checked again here: a value read from a secret or setting never met the schema.
    if (!isSnowflakeIdentifier(resolved, 1)) throw new PermanentError(`Snowflake ${what} from ${describe(value)} is not a valid identifier`, { code: 'config' });
    return resolved;
  };

  const { connection } = step;
  const account = await get(connection.account);
  if (!ACCOUNT.test(account)) throw new PermanentError(`Snowflake account from ${describe(connection.account)} is not an account identifier`, { code: 'config' });
  const user = await get(connection.user);
  // eslint-disable-next-line no-control-regex -- a user name with control characters is refused
  if (user === '' || /[\u0000-\u001f]/.test(user)) throw new PermanentError(`Snowflake user from ${describe(connection.user)} is empty or holds control characters`, { code: 'config' });
  const accessUrl = accessUrlOverride ?? ctx.settings(ACCESS_URL_SETTING);
  if (accessUrl !== undefined && accessUrl !== '' && !/^https?:\/\/[^\s]+$/.test(accessUrl)) {
    throw new PermanentError(`app setting ${ACCESS_URL_SETTING} is not an http(s) URL`, { code: 'config' });
  }
  const settings: ConnectionSettings = {
    account,
    user,
    warehouse: await identifier(connection.warehouse, 'warehouse'),
    database: await identifier(connection.database, 'database'),
    schema: await identifier(connection.schema, 'schema'),
    ...(connection.role ? { role: await identifier(connection.role, 'role') } : {}),
    ...(accessUrl ? { accessUrl: accessUrl.replace(/\/+$/, '') } : {}),
  };
  const { auth } = connection;
  let credentials: Credentials;
  switch (auth.type) {
    case 'password':
      credentials = { type: 'password', password: await secret(auth.password.secret) };
      break;
    case 'keyPair':
      credentials = {
        type: 'keyPair',
        privateKey: normalizePem(await secret(auth.privateKey.secret)),
        ...(auth.passphrase ? { passphrase: await secret(auth.passphrase.secret) } : {}),
      };
      rememberSecretValue(credentials.privateKey);
      break;
    case 'oauth':
      credentials = { type: 'oauth', token: await secret(auth.token.secret) };
      break;
    case 'workloadIdentity': {
      const clientId = ctx.settings(CLIENT_ID_SETTING);
      credentials = { type: 'workloadIdentity', ...(clientId ? { clientId } : {}) };
      break;
    }
  }
  return { settings, credentials, secretNames };
}

function describe(value: ConfigValue): string {
  if (typeof value === 'string') return 'the definition';
  return 'secret' in value ? `secret ${value.secret}` : `setting ${value.setting}`;
}

/** Key Vault and app settings often flatten a PEM onto one line with literal `\n`s. */
function normalizePem(value: string): string {
  return value.includes('\\n') && !value.includes('\n') ? value.replace(/\\n/g, '\n') : value;
}

// ── Statements ────────────────────────────────────────────────────────────────────────────────────

type Bind = string | number | boolean | null;

/**
 * The statement with the run's values in it: filled into COPY INTO's stage path (which
 * `buildCopyInto` quotes as a string literal), or sent as bind variables. Never into SQL text.
 */
export function statementOf(step: SnowflakeStep, values: RunValues): { sqlText: string; binds: Bind[] } {
  const { statement } = step;
  if ('copyInto' in statement) {
    const { path } = statement.copyInto;
    return { sqlText: buildCopyInto({ ...statement.copyInto, ...(path === undefined ? {} : { path: fillTemplate(path, values) }) }), binds: [] };
  }
  return { sqlText: statement.sql, binds: statement.binds.map((bind) => asBind(fillJson(bind, values))) };
}

/** A parameter's value as a bind; values are scalars by their declared types, anything else goes as JSON text. */
function asBind(value: Json): Bind {
  return typeof value === 'object' && value !== null ? JSON.stringify(value) : value;
}

/**
 * A stable request id per attempt and statement: Snowflake answers a resubmitted request id with
 * the query it first started, so a re-delivered activity does not run the statement twice.
 */
function requestIdFor(tag: string, sqlText: string, binds: Bind[]): string {
  const hex = createHash('sha256').update(JSON.stringify(['durable-pipelines', tag, sqlText, binds])).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((parseInt(hex.slice(16, 18), 16) & 0x3f) | 0x80).toString(16)}${hex.slice(18, 20)}-${hex.slice(20, 32)}`;
}

function submit(connection: Connection, sqlText: string, binds: Bind[], tag: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    connection.execute({
      sqlText,
      ...(binds.length > 0 ? { binds } : {}),
      asyncExec: true,
      // With asyncExec alone the driver hands `complete` a null error even when the submit failed
      // (statement.js invokeStatementComplete); with streamResult it passes the error through.
      streamResult: true,
      requestId: requestIdFor(tag, sqlText, binds),
      parameters: { QUERY_TAG: tag },
      complete: (error, statement) => {
        if (error) return reject(error);
        const queryId = statement.getQueryId();
        if (!queryId) return reject(new TransientError('Snowflake accepted the query but returned no query id'));
        resolve(queryId);
      },
    });
  });
}

function submitSync(connection: Connection, sqlText: string, binds: Bind[]): Promise<Row[]> {
  return new Promise<Row[]>((resolve, reject) => {
    connection.execute({ sqlText, binds, complete: (error, _statement, rows) => (error ? reject(error) : resolve((rows ?? []) as Row[])) });
  });
}

/** Rows of a finished query, read by query id (works from any session of the same user). */
function fetchRows(connection: Connection, queryId: string, checkedSuccess = true): Promise<Row[]> {
  return new Promise<Row[]>((resolve, reject) => {
    const options = { queryId, complete: (error: Error | undefined, _s: unknown, rows: unknown[] | undefined) => (error ? reject(error) : resolve((rows ?? []) as Row[])) };
    if (checkedSuccess) connection.getResultsFromQueryId(options as Parameters<Connection['getResultsFromQueryId']>[0]).catch(reject);
    else connection.fetchResult(options);
  });
}

// ── Outcomes ──────────────────────────────────────────────────────────────────────────────────────

/** `unknown`: status checks in a row that found no record of the query (see `check`); `queryStatus`: Snowflake's last word. */
function running(queryId: string, polls: number, pollAfterSeconds: number, unknown: number, queryStatus?: string): StepOutcome {
  return {
    status: 'running',
    handle: { queryId, polls, ...(unknown > 0 ? { unknown } : {}) },
    pollAfterSeconds: Math.max(1, pollAfterSeconds),
    ...(queryStatus === undefined ? {} : { metrics: { queryStatus } }),
  };
}

function queryIdOf(handle: JsonObject): string {
  const queryId = handle['queryId'];
  if (typeof queryId !== 'string' || !/^[0-9a-f-]{36}$/i.test(queryId)) throw new PermanentError('poll handle holds no Snowflake query id', { code: 'handle' });
  return queryId;
}

function succeeded(step: SnowflakeStep, queryId: string, rows: Row[], ctx: Pick<StepContext, 'report'>): StepOutcome {
  const isCopy = 'copyInto' in step.statement || isCopyIntoResult(rows);
  if (isCopy) {
    const summary = summarizeCopyInto(rows);
    // Reported before the maxErrors verdict, so a failed load still shows which files broke.
    copyIntoLines(summary, queryId).forEach((line) => ctx.report?.(line));
    const metrics: StepMetrics = maskDeep(copyMetrics(summary));
    if (step.maxErrors !== undefined && summary.errorsSeen > step.maxErrors) {
      throw new PermanentError(
        maskSecrets(
          `COPY INTO saw ${summary.errorsSeen} errors, more than maxErrors ${step.maxErrors} ` +
            `(${summary.filesLoaded} files loaded, ${summary.filesPartiallyLoaded} partially, ${summary.filesFailed} failed; ` +
            `${summary.rowsLoaded} of ${summary.rowsParsed} rows loaded; query ${queryId})` +
            (summary.firstError ? `; first error: ${summary.firstError}` : ''),
        ),
        { code: 'max-errors' },
      );
    }
    const files: Json = summary.files.slice(0, OUTPUT_ROWS).map((f) => ({
      file: f.file,
      status: f.status,
      rowsParsed: f.rowsParsed,
      rowsLoaded: f.rowsLoaded,
      errorsSeen: f.errorsSeen,
      firstError: f.firstError === null ? null : clip(f.firstError),
    }));
    return { status: 'succeeded', output: maskDeep({ queryId, files, filesTotal: summary.files.length }), metrics };
  }
  ctx.report?.({ level: 'info', msg: `query ${queryId} returned ${rows.length} row${rows.length === 1 ? '' : 's'}` });
  const shown: Json = rows.slice(0, OUTPUT_ROWS).map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, jsonCell(v)])));
  return { status: 'succeeded', output: maskDeep({ queryId, rowCount: rows.length, rows: shown }), metrics: { rowCount: rows.length } };
}

function jsonCell(value: unknown): Json {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'string') return clip(value);
  if (value instanceof Date) return value.toISOString();
  return clip(typeof value === 'bigint' ? value.toString() : (JSON.stringify(value) ?? 'null'));
}

function clip(value: string): string {
  return value.length <= OUTPUT_TEXT ? value : `${value.slice(0, OUTPUT_TEXT - 1)}…`;
}

// ── Small helpers ─────────────────────────────────────────────────────────────────────────────────

function isDriverError(error: unknown): boolean {
  const name = typeof error === 'object' && error !== null ? (error as { name?: unknown }).name : undefined;
  return typeof name === 'string' && /^(OperationFailedError|NetworkError|RequestFailedError|ClientError|InvalidParameterError|TimeoutError|TransientError)$/.test(name);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Bounds a driver call: the driver retries 5xx answers on its own, for a long time. */
function deadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TransientError(`Snowflake ${what} took longer than ${Math.round(ms / 1000)} s`, { code: 'timeout' })), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
