import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunState } from '../../src/engine';
import { pipeline, engineHostForSuite } from './engineHarness';

/** The most steps whose attempts overlap at any instant (virtual time), among `ids`. */
function peakOverlap(run: RunState, ids?: readonly string[]): number {
  const spans = run.steps
    .filter((s) => !ids || ids.includes(s.id))
    .flatMap((s) => s.attempts.map((a) => [Date.parse(a.startedAt), Date.parse(a.endedAt ?? a.startedAt)] as const));
  const edges = spans.flatMap(([start, end]) => [[start, 1] as const, [end, -1] as const]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let peak = 0;
  for (const [, delta] of edges) peak = Math.max(peak, (now += delta));
  return peak;
}

const copies = Array.from({ length: 7 }, (_, i) => `copy${i}`);
const limited = pipeline({
  name: 'limited',
  title: 'limited',
  maxParallel: 5,
  concurrencyGroups: { warehouse: { maxParallel: 3 } },
  steps: [
    ...copies.map((id) => ({ id, kind: 'azureFunction' as const, url: `https://fn.example/api/${id}`, group: 'warehouse', pollInterval: '1m' })),
    { id: 'notifyA', kind: 'azureFunction', url: 'https://fn.example/api/a', pollInterval: '1m' },
    { id: 'notifyB', kind: 'azureFunction', url: 'https://fn.example/api/b', pollInterval: '1m' },
    { id: 'notifyC', kind: 'azureFunction', url: 'https://fn.example/api/c', pollInterval: '1m' },
  ],
});

describe('concurrency limits', () => {
  const engine = engineHostForSuite();

  test('never more than the group limit of its steps, nor more than maxParallel steps of the run, at once', async () => {
    for (const [i, id] of copies.entries()) engine().fake.script(id, [{ running: { polls: i % 3, pollAfterSeconds: 60 } }]);
    for (const id of ['notifyA', 'notifyB', 'notifyC']) engine().fake.script(id, [{ running: { polls: 1, pollAfterSeconds: 60 } }]);
    const run = await engine().run(limited, 'limited-1');

    assert.equal(run.status, 'succeeded');
    assert.ok(run.steps.every((s) => s.status === 'succeeded' && s.attempts.length === 1));
    assert.equal(peakOverlap(run, copies), 3, 'the warehouse group runs 3 at once, no more');
    assert.equal(peakOverlap(run), 5, 'the run runs 5 at once, no more');
  });
});
