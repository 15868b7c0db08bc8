import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventType } from '../../src/devhost/history';
import { FAN_OUT } from '../../src/engine';
import { pipeline, engineHostForSuite } from './engineHarness';

const WIDTH = 3 * FAN_OUT + 4;

const wide = pipeline({
  name: 'wide-wave',
  title: 'wide wave',
  pipelineRetry: { retries: 0, delay: 0 },
  steps: [
    { id: 'export', kind: 'azureFunction', url: 'https://fn.example/api/export' },
    ...Array.from({ length: WIDTH }, (_, i) => ({
      id: `load${i}`,
      kind: 'azureFunction' as const,
      url: `https://fn.example/api/load/${i}`,
      dependsOn: ['export'],
      pollInterval: '1m',
      retry: { attempts: 2, delays: 30 },
    })),
    { id: 'publish', kind: 'azureFunction', url: 'https://fn.example/api/publish', dependsOn: Array.from({ length: WIDTH }, (_, i) => `load${i}`) },
  ],
});

describe('a wave wider than the fan-out limit', () => {
  const engine = engineHostForSuite();

  test('every step runs once per attempt, keeps its own retries, and the join starts after all of them', async () => {
    engine().fake.script('load5', [{ fail: 'transient', message: 'HTTP 503' }]);
    for (let i = 0; i < WIDTH; i++) engine().fake.script(`load${i}`, [{ running: { polls: i % 7, pollAfterSeconds: 60 } }]);
    const run = await engine().run(wide, 'wide-1');

    assert.equal(run.status, 'succeeded');
    assert.equal(run.steps.length, WIDTH + 2);
    assert.ok(run.steps.every((s) => s.status === 'succeeded'));
    for (let i = 0; i < WIDTH; i++) {
      assert.equal(engine().fake.callsOf('wide-1', `load${i}`).length, i === 5 ? 2 : 1, `load${i} started once per attempt`);
    }
    assert.deepEqual(run.steps.find((s) => s.id === 'load5')?.attempts.map((a) => a.status), ['failed', 'succeeded']);
    const loadEnds = run.steps.filter((s) => s.id.startsWith('load')).map((s) => Date.parse(s.attempts.at(-1)?.endedAt ?? ''));
    const publishStart = Date.parse(run.steps.at(-1)?.attempts[0]?.startedAt ?? '');
    assert.equal(publishStart, Math.max(...loadEnds), 'publish starts when the last load ends');
  });

  test('no orchestration of the run awaits more than FAN_OUT children; the parent hears once per batch node, not per step', () => {
    const ids = engine().host.instanceIds().filter((id) => id === 'wide-1' || id.startsWith('wide-1:'));
    for (const id of ids) {
      for (const history of engine().host.executions(id)) {
        const children = history.filter((e) => e.EventType === EventType.SubOrchestrationInstanceCreated).length;
        assert.ok(children <= FAN_OUT, `${id} started ${children} sub-orchestrations`);
      }
    }
    // Only the join waits for the loads, and it needs all of them: each batch node reports its steps
    // in one stepDone when its last one ends (src/engine/stepDone.ts), so the parent wakes once per
    // batch node, however wide the wave.
    const parentHistory = engine().host.executions('wide-1').flat();
    const batches = parentHistory.filter((e) => e.EventType === EventType.SubOrchestrationInstanceCreated).length;
    assert.ok(batches < WIDTH / 2, `${batches} batch nodes for ${WIDTH} steps`);
    const stepDone = parentHistory.filter((e) => e.EventType === EventType.EventRaised && e['Name'] === 'stepDone').length;
    assert.equal(stepDone, batches, 'one stepDone per batch node');
    const parentEvents = engine().host.stats('wide-1').totalHistoryEvents;
    assert.ok(parentEvents < 3 * WIDTH, `the parent's history (${parentEvents} events) stays small`);
  });
});
