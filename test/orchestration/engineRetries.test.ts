import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { retryDelaySeconds } from '../../src/engine/retry';
import { pipeline, secondsBetween, seedPipeline, engineHostForSuite } from './engineHarness';

describe('step retries in virtual time', () => {
  const engine = engineHostForSuite();

  test('export fails transiently twice, then succeeds: 3 attempts, 60 s apart', async () => {
    engine().fake.script('export', [{ fail: 'transient' }, { fail: 'transient' }]);
    const run = await engine().run(seedPipeline(), 'retry-seed');

    assert.equal(run.status, 'succeeded');
    const starts = engine().fake.callsOf('retry-seed', 'export');
    assert.deepEqual(starts.map((c) => c.attempt), [1, 2, 3]);
    assert.deepEqual([secondsBetween(starts[0]!.at, starts[1]!.at), secondsBetween(starts[1]!.at, starts[2]!.at)], [60, 60]);
    const exportState = run.steps.find((s) => s.id === 'export');
    assert.deepEqual(exportState?.attempts.map((a) => a.status), ['failed', 'failed', 'succeeded']);
    assert.equal(exportState?.attempts[0]?.error?.class, 'transient');
  });

  test('with delays [60, 120, 300] the gaps are exactly those plus the jitter the policy allows', async () => {
    const p = pipeline({
      name: 'backoff',
      title: 'backoff',
      steps: [{ id: 'export', kind: 'azureFunction', url: 'https://fn.example/api/export', retry: { attempts: 4, delays: [60, 120, 300], jitter: 0.1 } }],
    });
    engine().fake.script('export', [{ fail: 'transient' }, { fail: 'transient' }, { fail: 'transient' }]);
    const run = await engine().run(p, 'retry-list');

    assert.equal(run.status, 'succeeded');
    const at = engine().fake.callsOf('retry-list', 'export').map((c) => c.at);
    assert.equal(at.length, 4);
    const gaps = [1, 2, 3].map((i) => secondsBetween(at[i - 1]!, at[i]!));
    const step = p.steps[0]!;
    const expected = [1, 2, 3].map((retry) => retryDelaySeconds(step.retry, retry, { runId: 'retry-list', stepId: 'export', attempt: retry }));
    assert.deepEqual(gaps, expected);
    [60, 120, 300].forEach((base, i) => assert.ok(gaps[i]! >= base && gaps[i]! <= base * 1.1, `gap ${gaps[i]} for base ${base}`));
  });

  test('without jitter the gaps are exactly the listed delays, the last repeating', async () => {
    const p = pipeline({
      name: 'backoff-exact',
      title: 'backoff',
      steps: [{ id: 'export', kind: 'azureFunction', url: 'https://fn.example/api/export', retry: { attempts: 5, delays: [60, 120, 300] } }],
    });
    engine().fake.script('export', [{ fail: 'transient' }, { fail: 'transient' }, { fail: 'transient' }, { fail: 'transient' }]);
    const run = await engine().run(p, 'retry-list-exact');
    assert.equal(run.status, 'succeeded');
    const at = engine().fake.callsOf('retry-list-exact', 'export').map((c) => c.at);
    assert.deepEqual([1, 2, 3, 4].map((i) => secondsBetween(at[i - 1]!, at[i]!)), [60, 120, 300, 300]);
  });

  test('a retry-after hint longer than the policy delay is honoured', async () => {
    const p = pipeline({
      name: 'throttled',
      title: 'throttled',
      steps: [{ id: 'export', kind: 'azureFunction', url: 'https://fn.example/api/export', retry: { attempts: 3, delays: 10 } }],
    });
    engine().fake.script('export', [{ retryAfter: 90 }]);
    const run = await engine().run(p, 'retry-after');
    assert.equal(run.status, 'succeeded');
    const at = engine().fake.callsOf('retry-after', 'export').map((c) => c.at);
    assert.equal(secondsBetween(at[0]!, at[1]!), 90);
    assert.equal(run.steps[0]?.attempts[0]?.error?.retryAfterSeconds, 90);
  });

  test('transient failures beyond the attempts fail the step and skip what depends on it', async () => {
    const p = pipeline({
      name: 'exhausted',
      title: 'exhausted',
      steps: [
        { id: 'export', kind: 'azureFunction', url: 'https://fn.example/api/export', retry: { attempts: 2, delays: 5 } },
        { id: 'after', kind: 'azureFunction', url: 'https://fn.example/api/after', dependsOn: ['export'] },
      ],
    });
    engine().fake.script('export', [{ fail: 'transient' }, { fail: 'transient', message: 'HTTP 502 Bad Gateway' }]);
    const run = await engine().run(p, 'retry-exhausted');
    assert.equal(run.status, 'failed');
    assert.equal(run.error?.stepId, 'export');
    assert.equal(run.error?.message, 'HTTP 502 Bad Gateway');
    assert.deepEqual(run.steps.map((s) => s.status), ['failed', 'skipped']);
    assert.equal(engine().fake.callsOf('retry-exhausted', 'after').length, 0);
  });
});
