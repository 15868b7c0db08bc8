import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { forCustomStatus, RunTracker, utf8Length } from '../../src/engine/state';
import type { RunState } from '../../src/engine/types';

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

  test('custom status stays under the extension’s 16 KB limit, trimming outputs first, then old attempts', () => {
    const big: RunState = {
      runId: 'r1',
      pipeline: 'p',
      status: 'running',
      pipelineAttempt: 1,
      startedAt: '2026-03-02T01:00:00.000Z',
      steps: Array.from({ length: 6 }, (_, i) => ({
        id: `s${i}`,
        status: 'failed' as const,
        output: { blob: 'x'.repeat(3000) },
        attempts: Array.from({ length: 30 }, (_, n) => ({ attempt: n + 1, startedAt: '2026-03-02T01:00:00.000Z', status: 'failed' as const, error: { class: 'transient' as const, message: 'HTTP 503 Service Unavailable from the export function' } })),
      })),
    };
    const small = forCustomStatus(big);
    assert.ok(JSON.stringify(small).length <= 15_000);
    assert.equal(small.steps.length, 6);
    assert.equal(small.steps[0]?.output, undefined);
    assert.ok((small.steps[0]?.attempts.length ?? 0) >= 1);
    assert.equal(small.steps[0]?.attempts.at(-1)?.attempt, 30, 'the latest attempt is kept');
    const tiny: RunState = { ...big, steps: [{ id: 'a', status: 'succeeded', attempts: [], output: { ok: true } }] };
    assert.equal(forCustomStatus(tiny), tiny);
  });

  test('sizes are measured in UTF-8 bytes', () => {
    assert.equal(utf8Length('abc'), 3);
    assert.equal(utf8Length('échec'), 6);
    assert.equal(utf8Length('→'), 3);
    assert.equal(utf8Length('😀'), 4);
  });
});
