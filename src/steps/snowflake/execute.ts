/**
 * The driver calls the snowflake step makes, as promises: submit a statement asynchronously, run a
 * short one and read its rows, read a finished query's rows by id, all bounded by a deadline
 * (the driver retries 5xx answers on its own, for a long time).
 */
import { createHash } from 'node:crypto';
import { TransientError } from '../../core/errors';
import type { Connection } from './connection';
import type { Row } from './copyResult';

export type Bind = string | number | boolean | null;

/**
 * The attempt's query tag, `<runId>:<stepId>:<attempt>`: what Snowflake's query history shows, and
 * the key a re-delivered start looks its statement up by (queryHistory.ts).
 */
export function queryTagFor(ctx: { readonly runId: string; readonly stepId: string; readonly attempt: number }): string {
  return `${ctx.runId}:${ctx.stepId}:${ctx.attempt}`;
}

/**
 * A stable request id per attempt and statement. Snowflake answers a request id it has seen *in
 * the same session* with the query it started (the driver's own retries of one request rely on
 * it); another session runs it again (snowflake-sdk test/integration/testExecute.js), which is why
 * `start` looks the tag up first.
 */
export function requestIdFor(tag: string, sqlText: string, binds: readonly Bind[]): string {
  const hex = createHash('sha256').update(JSON.stringify(['durable-pipelines', tag, sqlText, binds])).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((parseInt(hex.slice(16, 18), 16) & 0x3f) | 0x80).toString(16)}${hex.slice(18, 20)}-${hex.slice(20, 32)}`;
}

/** Submits with `asyncExec` and the attempt's tag; resolves with the query id. */
export function submit(connection: Connection, sqlText: string, binds: readonly Bind[], tag: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    connection.execute({
      sqlText,
      ...(binds.length > 0 ? { binds: [...binds] } : {}),
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

/** Runs a short statement in the session and resolves with its rows. */
export function runSync(connection: Connection, sqlText: string, binds: readonly Bind[] = []): Promise<Row[]> {
  return new Promise<Row[]>((resolve, reject) => {
    connection.execute({ sqlText, binds: [...binds], complete: (error, _statement, rows) => (error ? reject(error) : resolve((rows ?? []) as Row[])) });
  });
}

/**
 * Rows of a finished query, read by query id (any session of the same user can). `checkedSuccess`
 * false reads the result of a query that ended badly, which yields the query's own error.
 */
export function fetchRows(connection: Connection, queryId: string, checkedSuccess = true): Promise<Row[]> {
  return new Promise<Row[]>((resolve, reject) => {
    const options = { queryId, complete: (error: Error | undefined, _s: unknown, rows: unknown[] | undefined) => (error ? reject(error) : resolve((rows ?? []) as Row[])) };
    if (checkedSuccess) connection.getResultsFromQueryId(options as Parameters<Connection['getResultsFromQueryId']>[0]).catch(reject);
    else connection.fetchResult(options);
  });
}

/** Bounds a driver call: the driver retries 5xx answers on its own, for a long time. */
export function deadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TransientError(`Snowflake ${what} took longer than ${Math.round(ms / 1000)} s`, { code: 'timeout' })), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
