import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeSteps, encodeSteps } from '../../src/engine/carry';
import { mergeStepDeltas, RunTracker } from '../../src/engine/state';

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

describe('run state across a continue-as-new', () => {
  test('the carry keeps a few bytes per step; the archive and the carry together give back every attempt', () => {
    const t = new RunTracker(run, T0);
    t.attemptStarted('a', 1, T0);
    t.attemptFailed('a', T0 + 1_000, { class: 'transient', message: 'HTTP 503' });
    t.attemptStarted('a', 2, T0 + 2_000);
    t.attemptSucceeded('a', T0 + 3_000, { rows: 3 }, undefined);
    t.attemptStarted('b', 1, T0);
    t.attemptFailed('b', T0 + 1_000, { class: 'permanent', message: 'HTTP 401' });
    t.stepFailed('b', { class: 'permanent', message: 'HTTP 401' });
    const archive = t.takeArchive();
    const carry = encodeSteps(t.carried());
    assert.deepEqual(carry, { statuses: 'sf', attempts: [2, 1], permanent: [1] });
    assert.ok(JSON.stringify(carry).length < 60, 'a few bytes per step');

    // The next execution: only what it needs to decide.
    const next = new RunTracker(run, T0, decodeSteps({ ...carry, startedMs: T0, pipelineAttempt: 1, retriesLeft: 1, continued: 1, archives: 1 }, ['a', 'b']));
    assert.equal(next.status('a'), 'succeeded');
    assert.equal(next.attemptCount('a'), 2);
    assert.equal(next.failedPermanently('b'), true);
    assert.deepEqual(next.step('a').attempts, []);
    // A pipeline retry re-runs b, numbering on.
    next.resetUnsucceeded();
    next.attemptStarted('b', next.attemptCount('b') + 1, T0 + 10_000);
    next.attemptSucceeded('b', T0 + 11_000, undefined, undefined);
    const archived = new Map(archive.map((s) => [s.id, s]));
    next.restoreArchived(archived);
    const final = next.snapshot('succeeded', T0 + 11_000);
    assert.deepEqual(final.steps.map((s) => [s.id, s.status, s.attempts.map((a) => `${a.attempt}:${a.status}`)]), [
      ['a', 'succeeded', ['1:failed', '2:succeeded']],
      ['b', 'succeeded', ['1:failed', '2:succeeded']],
    ]);
    assert.deepEqual(final.steps[0]?.output, { rows: 3 });
  });

  test('deltas of one step fold in order, a repeated attempt once', () => {
    const first = { id: 'a', status: 'failed' as const, attempts: [{ attempt: 1, startedAt: 'x', status: 'failed' as const }], error: { class: 'transient' as const, message: 'm' } };
    const second = { id: 'a', status: 'succeeded' as const, attempts: [{ attempt: 1, startedAt: 'x', status: 'failed' as const }, { attempt: 2, startedAt: 'y', status: 'succeeded' as const }] };
    const merged = mergeStepDeltas(first, second);
    assert.deepEqual(merged.attempts.map((a) => a.attempt), [1, 2]);
    assert.equal(merged.status, 'succeeded');
    assert.equal(merged.error, undefined);
  });

  test('a carry that does not fit the definition is refused', () => {
    assert.throws(() => decodeSteps({ statuses: 's', attempts: [1], permanent: [], startedMs: T0, pipelineAttempt: 1, retriesLeft: 0, continued: 1, archives: 0 }, ['a', 'b']), /1 steps, the definition 2/);
  });
});

describe('an interrupted step', () => {
  test('its attempt in progress ends cancelled at the run`s instant; a step waiting for its retry makes no new attempt', () => {
    const t = new RunTracker(run, T0);
    t.attemptStarted('a', 1, T0);
    t.interrupt('a', T0 + 90_500, 'cancelled');
    t.attemptStarted('b', 1, T0);
    t.attemptFailed('b', T0 + 1_000, { class: 'transient', message: 'HTTP 503' });
    t.waiting('b', T0 + 600_000);
    t.interrupt('b', T0 + 90_500, 'timedOut');
    const [a, b] = t.snapshot('cancelled', T0 + 90_500).steps;
    assert.deepEqual([a?.status, a?.attempts.map((x) => [x.status, x.endedAt, x.error?.message])], ['cancelled', [['cancelled', '2026-03-02T01:01:30.500Z', 'run cancelled']]]);
    assert.deepEqual([b?.status, b?.attempts.map((x) => x.status), b?.error?.message], ['cancelled', ['failed'], 'run timed out']);
  });
});
