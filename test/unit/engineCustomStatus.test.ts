import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CUSTOM_STATUS_MAX_BYTES, forCustomStatus, stepForCustomStatus, utf16JsonBytes, type RunStatusSummary } from '../../src/engine/customStatus';
import type { RunState, StepAttemptSummary, StepState } from '../../src/engine/types';

const STARTED = '2026-03-02T01:00:00.000Z';

function attempts(count: number, message: string): StepAttemptSummary[] {
  return Array.from({ length: count }, (_, n) => ({
    attempt: n + 1,
    startedAt: STARTED,
    endedAt: STARTED,
    durationSeconds: 1,
    status: 'failed' as const,
    error: { class: 'transient' as const, message },
  }));
}

function runOf(steps: StepState[], extra: Partial<RunState> = {}): RunState {
  return { runId: 'r1', pipeline: 'p', status: 'running', pipelineAttempt: 1, startedAt: STARTED, steps, ...extra };
}

function isSummary(value: RunState | RunStatusSummary): value is RunStatusSummary {
  return !('steps' in value);
}

describe('custom status under the extension limit (16 KB counted as UTF-16 bytes)', () => {
  test('UTF-16 bytes: two per string unit, four for a character outside the BMP', () => {
    assert.equal(utf16JsonBytes('abc'), 10); // "abc" with its quotes
    assert.equal(utf16JsonBytes('é'), 6);
    assert.equal(utf16JsonBytes('😀'), 8);
  });

  test('a state that fits is published whole', () => {
    const tiny = runOf([{ id: 'a', status: 'succeeded', attempts: [], output: { ok: true } }]);
    assert.equal(forCustomStatus(tiny), tiny);
  });

  test('outputs go first, then old attempts; the latest attempt is kept', () => {
    const big = runOf(
      Array.from({ length: 6 }, (_, i) => ({
        id: `s${i}`,
        status: 'failed' as const,
        output: { blob: 'x'.repeat(3000) },
        attempts: attempts(30, 'HTTP 503 Service Unavailable from the export function'),
      })),
    );
    const small = forCustomStatus(big);
    assert.ok(utf16JsonBytes(small) <= CUSTOM_STATUS_MAX_BYTES);
    assert.ok(!isSummary(small));
    assert.equal(small.steps.length, 6);
    assert.equal(small.steps[0]?.output, undefined);
    assert.equal(small.steps[0]?.attempts.at(-1)?.attempt, 30, 'the latest attempt is kept');
  });

  test('non-ASCII text counts double: a state of 9,000 “é” is over the limit although 18 KB in UTF-8 would pass under 30,000', () => {
    const state = runOf([{ id: 'a', status: 'succeeded', attempts: [], output: 'é'.repeat(9000) }]);
    assert.ok(utf16JsonBytes(state) > CUSTOM_STATUS_MAX_BYTES);
    const fitted = forCustomStatus(state);
    assert.ok(!isSummary(fitted));
    assert.equal(fitted.steps[0]?.output, undefined);
    assert.equal(fitted.steps[0]?.status, 'succeeded');
  });

  test('long step errors become short summaries before steps lose their errors', () => {
    const steps = Array.from({ length: 40 }, (_, i) => ({
      id: `step-${i}`,
      status: 'failed' as const,
      attempts: attempts(1, 'y'.repeat(2000)),
      error: { class: 'permanent' as const, message: 'y'.repeat(2000) },
    }));
    const fitted = forCustomStatus(runOf(steps));
    assert.ok(utf16JsonBytes(fitted) <= CUSTOM_STATUS_MAX_BYTES);
    assert.ok(!isSummary(fitted));
    assert.equal(fitted.steps.length, 40);
    assert.equal(fitted.steps[0]?.status, 'failed');
    assert.ok((fitted.steps[0]?.error?.message.length ?? 0) <= 300);
  });

  for (const count of [135, 200, 1000]) {
    test(`${count} steps with 8 KB outputs and retried attempts fit, down to a fixed-size summary`, () => {
      const steps = Array.from({ length: count }, (_, i) => ({
        id: `load-a-rather-long-step-identifier-${i}`,
        status: i % 3 === 0 ? ('failed' as const) : ('succeeded' as const),
        attempts: attempts(3, 'Snowflake 000625: statement reached its lock wait timeout'),
        output: { files: 'f'.repeat(8 * 1024) },
        ...(i % 3 === 0 ? { error: { class: 'permanent' as const, message: 'z'.repeat(5000) } } : {}),
      }));
      const fitted = forCustomStatus(runOf(steps, { status: 'failed', endedAt: STARTED, error: { class: 'permanent', message: 'w'.repeat(9000), stepId: 'load-0' } }));
      assert.ok(utf16JsonBytes(fitted) <= CUSTOM_STATUS_MAX_BYTES, `${utf16JsonBytes(fitted)} bytes`);
      if (isSummary(fitted)) {
        assert.equal(fitted.stepCount, count);
        assert.equal(Object.values(fitted.stepsByStatus).reduce((a, b) => a + b, 0), count);
        assert.equal(fitted.stepsByStatus.failed, Math.ceil(count / 3));
        assert.equal(fitted.fullState, '/api/runs/r1');
        assert.equal(fitted.status, 'failed');
      } else {
        assert.equal(fitted.steps.length, count);
      }
    });
  }

  test('the summary stays bounded even with the longest run id and escaped error text', () => {
    const steps = Array.from({ length: 2000 }, (_, i) => ({ id: `s${i}`, status: 'pending' as const, attempts: [] }));
    const fitted = forCustomStatus(runOf(steps, { runId: 'r'.repeat(5000), pipeline: 'p'.repeat(5000), error: { class: 'permanent', message: '\u0001'.repeat(100_000) } }));
    assert.ok(isSummary(fitted));
    assert.ok(utf16JsonBytes(fitted) <= CUSTOM_STATUS_MAX_BYTES);
  });

  test('a step sub-orchestration status with an 8 KB output and long errors fits', () => {
    const step: StepState = {
      id: 'export',
      status: 'running',
      attempts: attempts(100, 'é'.repeat(1000)),
      output: { body: 'o'.repeat(8 * 1024) },
      error: { class: 'transient', message: 'é'.repeat(20_000) },
    };
    const fitted = stepForCustomStatus(step);
    assert.ok(utf16JsonBytes(fitted) <= CUSTOM_STATUS_MAX_BYTES);
    assert.equal(fitted.id, 'export');
    assert.equal(fitted.status, 'running');
    const small: StepState = { id: 'export', status: 'succeeded', attempts: [], output: { rows: 3 } };
    assert.equal(stepForCustomStatus(small), small);
  });
});
