/** One error, eight attempts: said in full once, then referred to (issue 22). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { repeatedErrorCompactor, sameErrorAs } from '../../src/core/repeatedErrors';

const LONG = "Snowflake query failed: Statement '01b6' has locked table 'MA_TABLE_DESTINATION' (code 000625)";

test('a failed run log: the error in full once, then "same error as attempt 1", the end line too', () => {
  const compact = repeatedErrorCompactor();
  const log = [
    'step load attempt 1 started',
    `step load attempt 1 failed (transient): ${LONG}`,
    `step load attempt 2 failed (transient): ${LONG}`,
    `step load attempt 3 failed (transient): another error`,
    `step export attempt 1 failed (transient): ${LONG}`,
    `run failed: ${LONG}`,
  ].map(compact);
  assert.deepEqual(log, [
    'step load attempt 1 started',
    `step load attempt 1 failed (transient): ${LONG}`,
    'step load attempt 2 failed (transient): same error as attempt 1',
    'step load attempt 3 failed (transient): another error',
    // Another step's first failure is its own: said in full.
    `step export attempt 1 failed (transient): ${LONG}`,
    'run failed: same error as load attempt 1 (above)',
  ]);
  assert.equal(log.filter((l) => l.includes(LONG)).length, 2);
});

test('attempt lists refer to the first attempt with the same error', () => {
  const attempts = [{ attempt: 1, error: { message: LONG } }, { attempt: 2, error: { message: LONG } }, { attempt: 3 }, { attempt: 4, error: { message: 'other' } }];
  assert.deepEqual(attempts.map((_a, i) => sameErrorAs(attempts, i)), [undefined, 1, undefined, undefined]);
});
