import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RunTracker } from '../../src/engine/state';

const run = { runId: 'r1', pipeline: { name: 'p', steps: [{ id: 'a' }, { id: 'b' }] } };
const T0 = Date.parse('2026-03-02T01:00:00Z');

describe('run state', () => {
  test('attempts carry start, end and duration; retries keep earlier attempts', () => {
    const t = new RunTracker(run, T0);
    t.attemptStarted('a', 1, T0);
    t.attemptFailed('a', T0 + 5_000, { class: 'transient', message: 'HTTP 503' });
    t.waiting('a', T0 + 65_000);
    assert.equal(t.snapshot('running').steps[0]?.nextAt, '2026-03-02T01:01:05.000Z');
    t.attemptStarted('a', 2, T0 + 65_000);
    t.attemptSucceeded('a', T0 + 70_000, { rows: 3 }, { rows: 3 });
    const s = t.snapshot('succeeded', T0 + 70_000);
    assert.equal(s.durationSeconds, 70);
    assert.deepEqual(s.steps[0]?.attempts.map((a) => [a.attempt, a.status, a.durationSeconds]), [[1, 'failed', 5], [2, 'succeeded', 5]]);
    assert.equal(s.steps[0]?.status, 'succeeded');
    assert.equal(s.steps[1]?.status, 'pending');
  });

  test('a pipeline retry resets what did not succeed and keeps the attempts', () => {
    const t = new RunTracker(run, T0);
    t.attemptStarted('a', 1, T0);
    t.attemptSucceeded('a', T0, undefined, undefined);
    t.attemptStarted('b', 1, T0);
    t.attemptFailed('b', T0, { class: 'permanent', message: 'HTTP 401' });
    t.stepFailed('b', { class: 'permanent', message: 'HTTP 401' });
    assert.deepEqual(t.resetUnsucceeded(), ['b']);
    assert.equal(t.status('a'), 'succeeded');
    assert.equal(t.status('b'), 'pending');
    assert.equal(t.attemptCount('b'), 1);
  });
});
