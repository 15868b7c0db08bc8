/**
 * Finds the statement an attempt already submitted, by the query tag it carries, in
 * INFORMATION_SCHEMA.QUERY_HISTORY_BY_USER. This is what makes `start` submit once per attempt
 * whatever instance or session runs it: request ids only deduplicate within one session
 * (execute.ts), and a re-delivered activity may run on another instance, or after the session it
 * submitted on expired.
 *
 * QUERY_HISTORY_BY_USER (docs.snowflake.com "QUERY_HISTORY, QUERY_HISTORY_BY_*") covers the
 * current user's queries of the last 7 days; without END_TIME_RANGE_END it includes queries still
 * running; RESULT_LIMIT (at most 10,000) keeps the most recent, before the WHERE filters them. A
 * service user that runs more than 10,000 statements between a submit and its re-delivery would
 * push the statement out of reach: the bound is documented in the step's README.
 */
import type { Connection } from './connection';
import { runSync } from './execute';

export const QUERY_HISTORY_LOOKUP =
  'SELECT QUERY_ID, EXECUTION_STATUS FROM TABLE(INFORMATION_SCHEMA.QUERY_HISTORY_BY_USER(RESULT_LIMIT => 10000)) WHERE QUERY_TAG = ? ORDER BY START_TIME';

export interface TaggedQuery {
  readonly queryId: string;
  /** QUERY_HISTORY's EXECUTION_STATUS, upper case (the docs list the values lower case). */
  readonly executionStatus: string;
}

/** The first statement submitted with `tag`, if any. The look-up itself carries no tag. */
export async function findTaggedQuery(connection: Connection, tag: string): Promise<TaggedQuery | undefined> {
  const rows = await runSync(connection, QUERY_HISTORY_LOOKUP, [tag]);
  for (const row of rows) {
    const queryId = row['QUERY_ID'];
    const status = row['EXECUTION_STATUS'];
    if (typeof queryId === 'string') return { queryId, executionStatus: typeof status === 'string' ? status.toUpperCase() : '' };
  }
  return undefined;
}
