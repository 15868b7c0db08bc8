/**
 * What `--follow` decides from a run's view: when to announce the pipeline retry and for when, and
 * how the run's end line reads. The views are shaped like GET /api/runs/{id} answers.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { awaitsPipelineRetry, logText, pipelineRetryDue, type RunViewJson } from '../../src/cli/follow';

const failedLoad = (errorClass: string): RunViewJson => ({
  runId: 'r1',
  pipeline: 'data-pipeline',
  status: 'running',
  pipelineAttempt: 1,
  metrics: {},
  steps: [
    { id: 'export', status: 'succeeded', attempts: [{ attempt: 1, status: 'succeeded', startedAt: '2026-11-29T02:00:00.000Z', endedAt: '2026-11-29T02:00:05.000Z' }] },
    {
      id: 'load',
      status: 'failed',
      attempts: [
        { attempt: 1, status: 'failed', startedAt: '2026-11-29T02:00:05.000Z', endedAt: '2026-11-29T02:00:06.000Z', error: { class: errorClass, message: 'locked' } },
        { attempt: 2, status: 'failed', startedAt: '2026-11-29T02:02:06.000Z', endedAt: '2026-11-29T02:02:07.000Z', error: { class: errorClass, message: 'locked' } },
      ],
      error: { class: errorClass, message: 'locked' },
    },
    { id: 'transform', status: 'skipped', attempts: [] },
  ],
});

describe('--follow and the pipeline retry', () => {
  test('a settled failed round of a running run: retry due at the last failure + delay', () => {
    const run = failedLoad('transient');
    assert.equal(awaitsPipelineRetry(run, 0), true);
    assert.deepEqual(pipelineRetryDue(run, { retries: 1, delay: 300 }), { pipelineAttempt: 1, failedAt: '2026-11-29T02:02:07.000Z', at: '2026-11-29T02:07:07.000Z' });
  });

  test('announced once per pipeline attempt; nothing while a step still runs or once the run ended', () => {
    const run = failedLoad('transient');
    assert.equal(awaitsPipelineRetry(run, 1), false);
    assert.equal(awaitsPipelineRetry({ ...run, steps: run.steps.map((s) => (s.id === 'transform' ? { ...s, status: 'pending' } : s)) }, 0), false);
    assert.equal(awaitsPipelineRetry({ ...run, status: 'failed' }, 0), false);
  });

  test('no retry announced when none is left, or when every failure is permanent and retryPermanent is off', () => {
    assert.equal(pipelineRetryDue({ ...failedLoad('transient'), pipelineAttempt: 2 }, { retries: 1, delay: 300 }), undefined);
    assert.equal(pipelineRetryDue(failedLoad('permanent'), { retries: 1, delay: 300 }), undefined);
    assert.equal(pipelineRetryDue(failedLoad('permanent'), { retries: 1, delay: 300, retryPermanent: true })?.at, '2026-11-29T02:07:07.000Z');
  });
});

describe('the run end line', () => {
  test('a cancellation is said once, with its reason when there is one', () => {
    assert.equal(logText('run cancelled: run cancelled'), 'run cancelled');
    assert.equal(logText('run cancelled: run cancelled: stopped by ops'), 'run cancelled: stopped by ops');
    assert.equal(logText('run failed: load: locked'), 'run failed: load: locked');
    assert.equal(logText('run succeeded'), 'run succeeded');
  });
});
