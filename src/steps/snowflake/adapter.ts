/**
 * The `snowflake` step: runs a COPY INTO built from structured fields, or SQL with bind
 * parameters, as an asynchronous Snowflake query. `start` submits it (and waits a moment, so a
 * short statement finishes in one activity); otherwise it hands the orchestrator the query id to
 * poll. Every statement carries `QUERY_TAG = <runId>:<stepId>:<attempt>`; before submitting,
 * `start` looks that tag up in the user's query history and follows the statement it finds, so a
 * re-delivered start (another instance, another session, a re-login) does not submit twice.
 */
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
import { deadline, fetchRows, queryTagFor, runSync, submit, type Bind } from './execute';
import { findTaggedQuery } from './queryHistory';
import { MAX_NO_DATA_CHECKS, queryStateOf } from './queryStatus';
import { STATEMENT_TIMEOUT_CODE, statementTimeoutFailure } from './statementTimeout';

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
const OUTPUT_TEXT = 200;

export function createSnowflakeAdapter(deps: SnowflakeAdapterDeps = {}): AdapterFor<'snowflake'> {
  const loadSdk = deps.loadSdk ?? loadSnowflakeSdk;
  const connections = deps.connections ?? sharedConnections;
  const inlineWaitMs = deps.inlineWaitMs ?? 1500;
  const callTimeoutMs = deps.callTimeoutMs ?? 60_000;
  const firstPollSeconds = deps.firstPollSeconds ?? 10;

  /**
   * Resolves the connection, connects (or reuses the cached session), runs `use`, and classifies
   * what it throws. A session Snowflake no longer knows (expired, dropped) is replaced once, within
   * the same attempt, and `use` runs again on the new one: `start` looks its tag up first, so a
   * statement the lost session had already submitted is followed, not submitted again.
   */
  async function withConnection<T>(step: SnowflakeStep, ctx: StepContext, what: string, use: (c: Connection, settings: ConnectionSettings) => Promise<T>): Promise<T> {
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
        return await use(connection, resolved.settings);
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
   * Checks the query (queryStatus.ts): succeeded, ended badly (throws the query's own error),
   * no data yet, or still alive in any other status (RUNNING, QUEUED, BLOCKED, RESTARTED,
   * ABORTING, DISCONNECTED…), which is shown on the running step so a user sees why it is slow.
   * A query id the monitoring endpoint does not know (NO_QUERY_DATA) is looked up by its tag in
   * the query history: whether monitoring can lag a fresh submit is undocumented (JDBC and the
   * Python connector poll through it, snowflake-sdk gives up at once since #882), so a query the
   * history knows is followed by what the history says, and one it does not know fails the
   * attempt at once, as snowflake-sdk does.
   */
  async function check(connection: Connection, settings: ConnectionSettings, queryId: string, tag: string): Promise<{ state: 'waiting' | 'no-data' | 'done'; status: string }> {
    let status = await deadline(connection.getQueryStatus(queryId), callTimeoutMs, 'status check');
    if (queryStateOf(status) === 'unknown') {
      const known = await deadline(findTaggedQuery(connection, tag), callTimeoutMs, 'query history look-up');
      if (known?.queryId !== queryId) {
        throw new TransientError(`Snowflake has no record of query ${queryId}; the step will submit the statement again on its next attempt`, { code: 'NO_QUERY_DATA' });
      }
      status = known.executionStatus;
    }
    switch (queryStateOf(status)) {
      case 'succeeded':
        return { state: 'done', status };
      case 'unknown':
      case 'no-data':
        return { state: 'no-data', status };
      case 'waiting':
        return { state: 'waiting', status };
      case 'ended-badly':
        break;
    }
    // Fetching the result of a query that ended badly yields its own error code and message.
    try {
      await deadline(fetchRows(connection, queryId, false), callTimeoutMs, 'result fetch');
    } catch (error) {
      const { code, message } = error as { code?: unknown; message?: unknown };
      if (String(code) === STATEMENT_TIMEOUT_CODE && typeof message === 'string') throw await statementTimeoutFailure(connection, message, settings.warehouse, callTimeoutMs);
      throw error;
    }
    throw new TransientError(`Snowflake query ${queryId} ended with status ${status}`, { code: status });
  }

  return {
    async start(step, ctx) {
      const { sqlText, binds } = statementOf(step, ctx);
      const tag = queryTagFor(ctx);
      return withConnection(step, ctx, 'query', async (connection, settings) => {
        const earlier = await deadline(findTaggedQuery(connection, tag), callTimeoutMs, 'query history look-up');
        let queryId: string;
        if (earlier) {
          queryId = earlier.queryId;
          ctx.log.info({ queryId, queryTag: tag, executionStatus: earlier.executionStatus }, 'this attempt already submitted its statement (found by its query tag); following it');
        } else {
          queryId = await deadline(submit(connection, sqlText, binds, tag), callTimeoutMs, 'submit');
          ctx.log.info({ queryId, queryTag: tag }, 'Snowflake query submitted');
        }
        const started = Date.now();
        let noData = 0;
        let status: string | undefined;
        for (const pause of [100, 250, 500, 1000, 1000]) {
          const waited = Date.now() - started;
          if (waited + pause > inlineWaitMs) break;
          await sleep(pause);
          const checked = await check(connection, settings, queryId, tag);
          if (checked.state === 'done') return finish(step, connection, queryId, ctx);
          noData = checked.state === 'no-data' ? noData + 1 : 0;
          status = checked.status;
        }
        return running(queryId, 1, Math.min(firstPollSeconds, step.pollInterval), noData, status);
      });
    },

    async poll(step, handle, ctx) {
      const queryId = queryIdOf(handle);
      const polls = typeof handle['polls'] === 'number' ? handle['polls'] : 1;
      const noDataBefore = typeof handle['noData'] === 'number' ? handle['noData'] : 0;
      return withConnection(step, ctx, 'query', async (connection, settings) => {
        const { state, status } = await check(connection, settings, queryId, queryTagFor(ctx));
        if (state === 'done') return finish(step, connection, queryId, ctx);
        if (state === 'waiting') return running(queryId, polls + 1, step.pollInterval, 0, status);
        const noData = noDataBefore + 1;
        if (noData > MAX_NO_DATA_CHECKS) {
          throw new TransientError(`Snowflake returned no data on query ${queryId} in ${noData} status checks in a row (snowflake-sdk gives up after ${MAX_NO_DATA_CHECKS})`, { code: 'NO_DATA' });
        }
        return running(queryId, polls + 1, step.pollInterval, noData, status);
      });
    },

    async cancel(step, handle, ctx) {
      try {
        const queryId = queryIdOf(handle);
        await withConnection(step, ctx, 'cancel', (connection) =>
          deadline(runSync(connection, 'SELECT SYSTEM$CANCEL_QUERY(?)', [queryId]), callTimeoutMs, 'cancel'),
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

// ── Outcomes ──────────────────────────────────────────────────────────────────────────────────────

/** `noData`: status checks in a row that answered NO_DATA (see `check`); `queryStatus`: Snowflake's last word. */
function running(queryId: string, polls: number, pollAfterSeconds: number, noData: number, queryStatus?: string): StepOutcome {
  return {
    status: 'running',
    handle: { queryId, polls, ...(noData > 0 ? { noData } : {}) },
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
