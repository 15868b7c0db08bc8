import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { baseDelaySeconds, jitterFraction, retryDelaySeconds, shouldRetry } from '../../src/engine/retry';
import { retryPolicySchema, type RetryPolicy } from '../../src/pipelines/schema';

const policy = (input: unknown): RetryPolicy => retryPolicySchema.parse(input);
const key = { runId: 'run-1', stepId: 'export', attempt: 1 };

describe('retry delays', () => {
  test('one delay applies to every retry', () => {
    assert.deepEqual([1, 2, 3].map((r) => baseDelaySeconds(60, r)), [60, 60, 60]);
  });

  test('a list gives one delay per retry and its last entry repeats', () => {
    const delays = policy({ attempts: 6, delays: [60, 120, 300] }).delays;
    assert.deepEqual([1, 2, 3, 4, 5].map((r) => baseDelaySeconds(delays, r)), [60, 120, 300, 300, 300]);
  });

  test('exponential backoff grows by its factor and stops at its cap', () => {
    const delays = policy({ attempts: 8, delays: { initial: '10s', factor: 3, max: '2m' } }).delays;
    assert.deepEqual([1, 2, 3, 4, 5].map((r) => baseDelaySeconds(delays, r)), [10, 30, 90, 120, 120]);
  });

  test('jitter adds at most the allowed fraction, the same on every replay, different across attempts', () => {
    const p = policy({ attempts: 5, delays: 100, jitter: 0.2 });
    const values = Array.from({ length: 50 }, (_, i) => retryDelaySeconds(p, 1, { ...key, attempt: i + 1 }));
    for (const v of values) assert.ok(v >= 100 && v < 120, `delay ${v} outside [100, 120)`);
    assert.ok(new Set(values).size > 10, 'jitter spreads retries');
    assert.equal(retryDelaySeconds(p, 1, key), retryDelaySeconds(p, 1, key));
    assert.equal(jitterFraction('run-1', 'export', 1), jitterFraction('run-1', 'export', 1));
    assert.notEqual(jitterFraction('run-1', 'export', 1), jitterFraction('run-2', 'export', 1));
  });

  test('a retry-after hint longer than the policy delay wins; a shorter one does not', () => {
    const p = policy({ attempts: 3, delays: 60 });
    assert.equal(retryDelaySeconds(p, 1, key, 90), 90);
    assert.equal(retryDelaySeconds(p, 1, key, 5), 60);
  });
});

describe('which failures retry', () => {
  const p = policy({ attempts: 3, delays: 60 });
  test('transient and timeout failures retry until the attempts are used', () => {
    assert.equal(shouldRetry(p, { class: 'transient', message: 'x' }, 1), true);
    assert.equal(shouldRetry(p, { class: 'timeout', message: 'x' }, 2), true);
    assert.equal(shouldRetry(p, { class: 'transient', message: 'x' }, 3), false);
  });
  test('permanent and cancelled failures never retry', () => {
    assert.equal(shouldRetry(p, { class: 'permanent', message: 'HTTP 401' }, 1), false);
    assert.equal(shouldRetry(p, { class: 'cancelled', message: 'x' }, 1), false);
  });
  test('retryOn limits the classes retried', () => {
    const onlyTransient = policy({ attempts: 3, retryOn: ['transient'] });
    assert.equal(shouldRetry(onlyTransient, { class: 'timeout', message: 'x' }, 1), false);
    assert.equal(shouldRetry(onlyTransient, { class: 'transient', message: 'x' }, 1), true);
  });
});
