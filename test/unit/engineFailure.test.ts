import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PermanentError, RetryAfterError, TimeoutError, toActivityError } from '../../src/core/errors';
import { readTaskFailure } from '../../src/engine/failure';

describe('reading a task failure in the orchestrator', () => {
  test('finds the class and hint inside the host’s Reason/Details wrapping', () => {
    const thrown = toActivityError(new RetryAfterError('HTTP 429 Too Many Requests', 90, { code: '429' }));
    const asHostSends = new Error(`Activity function 'startStep' failed: ${thrown.message} \n ${thrown.stack ?? ''}`);
    assert.deepEqual(readTaskFailure(asHostSends), { class: 'transient', message: 'HTTP 429 Too Many Requests', retryAfterSeconds: 90, code: '429' });
  });

  test('reads structured failure details when the host sends them', () => {
    const thrown = toActivityError(new PermanentError('HTTP 401 Unauthorized', { code: '401' }));
    const error = Object.assign(new Error('TaskFailedError: see details'), {
      failureDetails: { errorType: 'Error', errorMessage: 'wrapper', innerFailure: { errorMessage: thrown.message } },
    });
    assert.deepEqual(readTaskFailure(error), { class: 'permanent', message: 'HTTP 401 Unauthorized', code: '401' });
  });

  test('classified errors thrown inside the orchestrator keep their class', () => {
    assert.equal(readTaskFailure(new TimeoutError('too slow')).class, 'timeout');
  });

  test('a failure without a marker counts as transient', () => {
    assert.deepEqual(readTaskFailure(new Error('socket hang up\n at x')), { class: 'transient', message: 'socket hang up' });
    assert.equal(readTaskFailure('weird').class, 'transient');
  });
});
