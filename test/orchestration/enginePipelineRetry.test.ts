import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { secondsBetween, seedPipeline, engineHostForSuite } from './engineHarness';

describe('permanent failures and pipeline retry', () => {
  const engine = engineHostForSuite();

  test('an HTTP 401 fails the run after one attempt: nothing downstream starts and no pipeline retry waits for a failure that will not change', async () => {
    engine().fake.script('export', [{ fail: 'permanent', message: 'HTTP 401 Unauthorized: invalid x-functions-key', code: '401' }]);
    const run = await engine().run(seedPipeline(), 'perm-401');

    const starts = engine().fake.callsOf('perm-401', 'export');
    assert.equal(starts.length, 1, 'one attempt: the policy allows 4 and the seed a pipeline retry, permanent skips both');
    assert.equal(engine().fake.callsOf('perm-401', 'load').length, 0);
    assert.equal(engine().fake.callsOf('perm-401', 'transform').length, 0);

    assert.equal(run.status, 'failed');
    assert.equal(run.pipelineAttempt, 1);
    assert.equal(run.durationSeconds, 0, 'no 300 s wait for the pipeline retry');
    assert.deepEqual(run.error, { class: 'permanent', message: 'HTTP 401 Unauthorized: invalid x-functions-key', code: '401', stepId: 'export' });
    assert.deepEqual(run.steps.map((s) => s.status), ['failed', 'skipped', 'skipped']);
    assert.equal(engine().recorder.runs.get('perm-401')?.status, 'failed');
    assert.equal(engine().alerts.filter((a) => a.runId === 'perm-401').length, 1, 'the seed alerts on failure');
  });

  test('pipelineRetry.retryPermanent: true: the permanent failure is retried after the delay, attempt numbers continuing', async () => {
    engine().fake.script('export', [
      { fail: 'permanent', message: 'HTTP 401 Unauthorized: invalid x-functions-key', code: '401' },
      { fail: 'permanent', message: 'HTTP 401 Unauthorized: invalid x-functions-key', code: '401' },
    ]);
    const seed = seedPipeline();
    const run = await engine().run({ ...seed, pipelineRetry: { ...seed.pipelineRetry, retryPermanent: true } }, 'perm-401-retried');

    const starts = engine().fake.callsOf('perm-401-retried', 'export');
    assert.deepEqual(starts.map((c) => c.attempt), [1, 2]);
    assert.equal(secondsBetween(starts[0]!.at, starts[1]!.at), 300);
    assert.equal(run.status, 'failed');
    assert.equal(run.pipelineAttempt, 2);
  });

  test('the pipeline retry re-runs only the failed step and those after it, attempt numbers continuing', async () => {
    // The seed's load makes 4 tries (Prefect's retries=3); the pipeline retry gives it a fifth.
    engine().fake.script('load', [{ fail: 'transient' }, { fail: 'transient' }, { fail: 'transient' }, { fail: 'transient' }, { ok: { metrics: { rows_loaded: 10 } } }]);
    const run = await engine().run(seedPipeline(), 'rerun-failed');

    assert.equal(run.status, 'succeeded');
    assert.equal(run.pipelineAttempt, 2);
    assert.equal(engine().fake.callsOf('rerun-failed', 'export').length, 1, 'the succeeded export is kept');
    const loads = engine().fake.callsOf('rerun-failed', 'load');
    assert.deepEqual(loads.map((c) => c.attempt), [1, 2, 3, 4, 5]);
    assert.deepEqual([1, 2, 3, 4].map((i) => secondsBetween(loads[i - 1]!.at, loads[i]!.at)), [120, 120, 120, 300]);
    assert.equal(engine().fake.callsOf('rerun-failed', 'transform').length, 1);
    const [exportState, loadState] = run.steps;
    assert.equal(exportState?.attempts.length, 1);
    assert.deepEqual(loadState?.attempts.map((a) => a.status), ['failed', 'failed', 'failed', 'failed', 'succeeded']);
    assert.deepEqual(loadState?.metrics, { rows_loaded: 10 });
  });

  test('steps carried over from an earlier run are reused, not executed', async () => {
    const run = await engine().run(seedPipeline(), 'resume-1', {
      trigger: { kind: 'rerun', origin: 'rerun-failed' },
      resumeFrom: { runId: 'rerun-failed', steps: { export: { fromRunId: 'rerun-failed', output: { files: 2 } } } },
    });
    assert.equal(run.status, 'succeeded');
    assert.equal(engine().fake.callsOf('resume-1', 'export').length, 0);
    assert.deepEqual(run.steps.map((s) => s.status), ['reused', 'succeeded', 'succeeded']);
    assert.deepEqual(run.steps[0]?.output, { files: 2 });
  });
});
