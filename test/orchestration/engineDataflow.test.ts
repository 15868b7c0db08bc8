/**
 * Issue 13 item 5, the reference check: random DAGs with scripted durations on the dev host's
 * virtual clock. Every step starts exactly when the last of its dependencies ends (or at the run's
 * start); with `maxParallel`, never more than N run at once and no step waits while a slot is free.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunState } from '../../src/engine';
import { randomDag, scriptDurations, shapePipeline, type DagShape } from '../../bench/engine';
import { engineHostForSuite } from './engineHarness';

interface Span {
  readonly id: string;
  readonly start: number;
  readonly end: number;
  readonly ready: number;
}

/** Each step's first start, last end, and the moment its dependencies had all ended. */
function spans(shape: DagShape, run: RunState): Span[] {
  const byId = new Map(run.steps.map((s) => [s.id, s]));
  const startMs = (id: string) => Date.parse(byId.get(id)?.attempts[0]?.startedAt ?? '');
  const endMs = (id: string) => Date.parse(byId.get(id)?.attempts.at(-1)?.endedAt ?? '');
  return shape.steps.map((s) => ({
    id: s.id,
    start: startMs(s.id),
    end: endMs(s.id),
    ready: Math.max(Date.parse(run.startedAt), ...s.dependsOn.map(endMs)),
  }));
}

function runningAt(all: readonly Span[], t: number): number {
  return all.filter((s) => s.start <= t && t < s.end).length;
}

describe('each step starts the moment its own dependencies succeed', () => {
  const engine = engineHostForSuite();

  for (let seed = 1; seed <= 6; seed++) {
    test(`random 20-step DAG, seed ${seed}: every start equals the latest end of its dependencies`, async () => {
      const shape = randomDag(seed, 20);
      scriptDurations(engine(), shape);
      const run = await engine().run(shapePipeline(shape, `dataflow-${seed}`), `dataflow-${seed}`);
      assert.equal(run.status, 'succeeded');
      for (const span of spans(shape, run)) {
        assert.ok(Number.isFinite(span.start) && Number.isFinite(span.end), `${span.id} ran`);
        assert.equal(new Date(span.start).toISOString(), new Date(span.ready).toISOString(), `${span.id} starts when its dependencies end`);
      }
    });
  }

  for (const [seed, limit] of [
    [7, 2],
    [8, 3],
    [9, 4],
  ] as const) {
    test(`random 20-step DAG, seed ${seed}, maxParallel ${limit}: never more than ${limit} at once, no step waits while a slot is free`, async () => {
      const shape = randomDag(seed, 20);
      scriptDurations(engine(), shape);
      const run = await engine().run(shapePipeline(shape, `limited-${seed}`, { maxParallel: limit }), `limited-${seed}`);
      assert.equal(run.status, 'succeeded');
      const all = spans(shape, run);
      const instants = [...new Set(all.flatMap((s) => [s.start, s.end]))].sort((a, b) => a - b);
      for (const t of instants) assert.ok(runningAt(all, t) <= limit, `${runningAt(all, t)} steps run at ${new Date(t).toISOString()}`);
      let waited = 0;
      for (const span of all) {
        if (span.start === span.ready) continue;
        waited++;
        for (const t of instants.filter((i) => i >= span.ready && i < span.start)) {
          assert.equal(runningAt(all, t), limit, `${span.id} is ready at ${new Date(span.ready).toISOString()} but waits while a slot is free at ${new Date(t).toISOString()}`);
        }
      }
      assert.ok(waited > 0, 'the limit held some step back (the check above had something to check)');
    });
  }
});
