/**
 * What a query status from Snowflake's monitoring endpoint means for an attempt.
 *
 * snowflake-sdk (lib/constants/query_status.js) sorts the statuses into `runningStatuses`
 * (RUNNING, RESUMING_WAREHOUSE, QUEUED, QUEUED_REPARING_WAREHOUSE, NO_DATA) and `errorStatuses`
 * (ABORTING, FAILED_WITH_ERROR, ABORTED, FAILED_WITH_INCIDENT, DISCONNECTED, BLOCKED), and leaves
 * RESTARTED in neither. Its error list mixes statements that ended with statements that still live:
 * BLOCKED is a statement waiting on a lock (QUERY_HISTORY lists "blocked" among the execution
 * statuses of a running query, and the wait ends by itself: the lock frees or LOCK_TIMEOUT fails
 * it), ABORTING is on its way to ABORTED, RESTARTED is Snowflake running it again. Fetching the
 * result of such a statement and failing the attempt would let the next attempt submit the same
 * work while the first still runs. So only the statuses that are an end count as one; everything
 * else, DISCONNECTED and any status this code does not know included, is waited through (the step's
 * `timeout` bounds the wait and cancels the statement).
 */

/** Ended: rows to read, or the query's own error to read. */
const SUCCEEDED = 'SUCCESS';
const ENDED_BADLY = new Set(['FAILED_WITH_ERROR', 'FAILED_WITH_INCIDENT', 'ABORTED']);

/**
 * `queries: []` from the monitoring endpoint: Snowflake has no record of the query id. Since
 * snowflake-sdk #882 (connection.js getResultsFromQueryId) the driver gives up on it at once
 * instead of polling; so do we.
 */
export const UNKNOWN_QUERY = 'NO_QUERY_DATA';
/** A record without data yet: every driver polls through it, snowflake-sdk up to `asyncNoDataMaxRetry`. */
export const NO_DATA = 'NO_DATA';
/** snowflake-sdk connection.js `asyncNoDataMaxRetry`. */
export const MAX_NO_DATA_CHECKS = 24;

export type QueryState = 'succeeded' | 'ended-badly' | 'unknown' | 'no-data' | 'waiting';

export function queryStateOf(status: string): QueryState {
  if (status === SUCCEEDED) return 'succeeded';
  if (ENDED_BADLY.has(status)) return 'ended-badly';
  if (status === UNKNOWN_QUERY) return 'unknown';
  if (status === NO_DATA) return 'no-data';
  return 'waiting';
}
