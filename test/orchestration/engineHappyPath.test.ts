import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pipeline, seedPipeline, engineHostForSuite } from './engineHarness';

describe('seed pipeline, happy path', () => {
  const engine = engineHostForSuite({
      userActivities: {
        countRows: (input) => Promise.resolve({ counted: (input.input as { table: string }).table, rows: 42 }),
      },
    });

  test('runs export → load → transform in order and succeeds, with attempts and durations per step', async () => {
    const seed = seedPipeline();
    engine().fake.script('load', [{ ok: { metrics: { rows_loaded: 1200, files_loaded: 3 } } }]);
    const run = await engine().run(seed, 'happy-1');

    assert.equal(run.status, 'succeeded');
    assert.deepEqual(run.steps.map((s) => [s.id, s.status]), [['export', 'succeeded'], ['load', 'succeeded'], ['transform', 'succeeded']]);
    assert.deepEqual(engine().fake.calls.filter((c) => c.runId === 'happy-1').map((c) => `${c.method}:${c.stepId}`), ['start:export', 'start:load', 'start:transform']);
    for (const step of run.steps) {
      assert.equal(step.attempts.length, 1, `${step.id} attempts`);
      const [attempt] = step.attempts;
      assert.equal(attempt?.status, 'succeeded');
      assert.equal(typeof attempt?.durationSeconds, 'number');
      assert.ok(attempt?.startedAt && attempt.endedAt);
    }
    assert.deepEqual(run.steps[1]?.metrics, { rows_loaded: 1200, files_loaded: 3 });
    assert.equal(typeof run.durationSeconds, 'number');
    assert.equal(engine().recorder.runs.get('happy-1')?.status, 'succeeded');
    assert.equal(engine().recorder.attempts.get('happy-1/load/1')?.status, 'succeeded');
    assert.equal(engine().alerts.length, 0, 'the seed alerts on failure only');
  });

  test('a step of kind activity calls the registered user activity and keeps its result as the step output', async () => {
    const p = pipeline({
      name: 'with-custom-step',
      title: 'custom',
      steps: [
        { id: 'export', kind: 'azureFunction', url: 'https://fn.example/api/export' },
        { id: 'count', kind: 'activity', activity: 'countRows', input: { table: 'orders' }, dependsOn: ['export'] },
      ],
    });
    const run = await engine().run(p, 'custom-1');
    assert.equal(run.status, 'succeeded');
    assert.deepEqual(run.steps[1]?.output, { counted: 'orders', rows: 42 });
    assert.equal(engine().recorder.attempts.get('custom-1/count/1')?.status, 'succeeded');
  });
});
