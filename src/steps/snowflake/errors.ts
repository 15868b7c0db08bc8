/**
 * Classifies what snowflake-sdk throws. The driver's errors carry a `name` (OperationFailedError:
 * Snowflake answered with an error code; NetworkError; RequestFailedError: an HTTP status;
 * ClientError: the driver refused), a `code` and a `sqlState`. They also carry the request and
 * response (login bodies hold credentials), so only a masked message is kept, never the error.
 */
import { PermanentError, RetryAfterError, TimeoutError, TransientError, type ClassifiedError } from '../../core/errors';
import { maskSecrets } from '../../logging/mask';

export interface SnowflakeFailure {
  readonly error: ClassifiedError;
  /** Credentials were rejected: drop cached secrets so a rotated one is read next attempt. */
  readonly auth: boolean;
  /** The session is no good any more: drop the cached connection. */
  readonly dropConnection: boolean;
}

/** Session codes the driver reports when a session expired or vanished: reconnect, then retry. */
const SESSION_CODES = new Set(['390104', '390111', '390112', '390114']);

/**
 * Snowflake error codes worth another attempt. 000625 (SQLSTATE 57014) is a DML statement given up
 * because 20 statements already wait on the table's lock ("…was aborted because the number of
 * waiters for this lock exceeds the 20 statements limit"): the lock frees, a later attempt runs.
 * 000603 is an internal error, 000610 a warehouse suspended while the query ran. 000630 (a
 * statement or queue timeout) is classified by the setting that stopped it where the adapter can
 * read it (statementTimeout.ts); a 000630 that arrives without that reading stays transient. A
 * warehouse that is still resuming is no error at all: the query waits with status
 * RESUMING_WAREHOUSE (queryStatus.ts).
 */
const TRANSIENT_CODES = new Set(['000625', '000603', '000610', '000630']);

/**
 * Codes that the SQLSTATE-57 ("operator intervention") rule below would call transient but that
 * fail the same way on every attempt: 000606 (57P03) the session has no usable warehouse (none
 * named, no USAGE, or it cannot resume), 000604 (57014) "SQL execution canceled", which someone
 * (an admin, SYSTEM$CANCEL_QUERY, our own cancel) asked for. Retrying them only delays the alert.
 */
const PERMANENT_CODES = new Set(['000606', '000604']);

/** SQLSTATE classes that mean "try again": connection, transaction rollback, operator, internal. */
const TRANSIENT_SQLSTATE_CLASSES = new Set(['08', '40', '57', 'XX']);

/** Driver codes (error_code.ts) for a request attempted while disconnected: reconnect and retry. */
const DRIVER_DISCONNECTED = new Set([405503, 407002]);

interface DriverError {
  name?: unknown;
  code?: unknown;
  sqlState?: unknown;
  message?: unknown;
  response?: { statusCode?: unknown; status?: unknown; headers?: Record<string, unknown> } | undefined;
}

function asDriverError(error: unknown): DriverError {
  return typeof error === 'object' && error !== null ? (error) : {};
}

function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message : typeof asDriverError(error).message === 'string' ? String(asDriverError(error).message) : String(error);
  return maskSecrets(text.replace(/\s+/g, ' ').trim()).slice(0, 1000);
}

/** The session behind a cached connection is gone (expired, logged out, dropped by Snowflake). */
export function isSessionGone(error: unknown): boolean {
  const e = asDriverError(error);
  const code = typeof e.code === 'string' || typeof e.code === 'number' ? String(e.code) : '';
  return (e.name === 'OperationFailedError' && SESSION_CODES.has(code)) || (e.name === 'ClientError' && DRIVER_DISCONNECTED.has(Number(code)));
}

export function isAuthCode(code: string): boolean {
  return /^390\d{3}$/.test(code) && !SESSION_CODES.has(code);
}

export function classifySnowflakeError(error: unknown, what: string): SnowflakeFailure {
  if (error instanceof PermanentError || error instanceof TransientError || error instanceof TimeoutError) {
    return { error, auth: false, dropConnection: error instanceof TimeoutError };
  }
  const e = asDriverError(error);
  const name = typeof e.name === 'string' ? e.name : '';
  const code = typeof e.code === 'string' || typeof e.code === 'number' ? String(e.code) : undefined;
  const sqlState = typeof e.sqlState === 'string' ? e.sqlState : undefined;
  const message = `Snowflake ${what} failed: ${messageOf(error)}${code ? ` (code ${code}${sqlState ? `, SQLSTATE ${sqlState}` : ''})` : ''}`;

  if (name === 'OperationFailedError' && code) {
    if (SESSION_CODES.has(code)) return { error: new TransientError(message, { code }), auth: false, dropConnection: true };
    if (isAuthCode(code)) return { error: new PermanentError(message, { code }), auth: true, dropConnection: true };
    if (PERMANENT_CODES.has(code)) return { error: new PermanentError(message, { code }), auth: false, dropConnection: false };
    if (TRANSIENT_CODES.has(code) || (sqlState && TRANSIENT_SQLSTATE_CLASSES.has(sqlState.slice(0, 2)))) {
      return { error: new TransientError(message, { code }), auth: false, dropConnection: false };
    }
    // Compilation errors, missing objects, privileges: the same SQL fails the same way again.
    return { error: new PermanentError(message, { code }), auth: false, dropConnection: false };
  }
  if (name === 'NetworkError') return { error: new TransientError(message, { code: 'network' }), auth: false, dropConnection: true };
  if (name === 'RequestFailedError') {
    const status = Number(e.response?.statusCode ?? e.response?.status);
    const statusCode = Number.isFinite(status) ? String(status) : code;
    if (status === 401 || status === 403) return { error: new PermanentError(message, { code: statusCode }), auth: true, dropConnection: true };
    if (status === 429 || status === 503) {
      const retryAfter = Number(e.response?.headers?.['retry-after']);
      if (Number.isFinite(retryAfter) && retryAfter > 0) {
        return { error: new RetryAfterError(message, retryAfter, { code: statusCode }), auth: false, dropConnection: false };
      }
    }
    if (status === 408 || status === 429 || status >= 500 || !Number.isFinite(status)) {
      return { error: new TransientError(message, { code: statusCode }), auth: false, dropConnection: true };
    }
    return { error: new PermanentError(message, { code: statusCode }), auth: false, dropConnection: true };
  }
  if (name === 'ClientError' && code && DRIVER_DISCONNECTED.has(Number(code))) {
    return { error: new TransientError(message, { code }), auth: false, dropConnection: true };
  }
  if (name === 'ClientError' || name === 'InvalidParameterError') {
    // The driver refused our options (bad account name, key it cannot read…): configuration.
    return { error: new PermanentError(message, code ? { code } : {}), auth: false, dropConnection: true };
  }
  return { error: new TransientError(message, code ? { code } : {}), auth: false, dropConnection: true };
}
