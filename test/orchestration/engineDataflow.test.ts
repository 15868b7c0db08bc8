/**
 * Issue 13 item 5, the reference check: random DAGs with scripted durations on the dev host's
 * virtual clock. Every step starts exactly when the last of its dependencies ends (or at the run's
 * start); with `maxParallel`, never more than N run at once and no step waits while a slot is free.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomDag, scriptDurations, shapePipeline, spans, type DagShape, type StepSpan } from '../../bench/engine';
import { EventType } from '../../src/devhost/history';
import { CHECK_IN_MS } from '../../src/engine/runPipeline';
import { engineHostForSuite } from './engineHarness';

function runningAt(all: readonly StepSpan[], t: number): number {
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

describe('a wide wave reports by batch node, except the steps another step waits for', () => {
  const engine = engineHostForSuite();

  test('in a wave of 25, the quick step with a dependent hands over at its own end, not its batch`s', async () => {
    // 24 slow independent steps and one quick step `q` with a dependent `d`: started together they
    // run in batch nodes; `d` must start when `q` ends, not when q's batch node ends.
    const shape: DagShape = {
      name: 'wide-with-chain',
      // q first: it shares its batch node with the slow w0, w1.
      steps: [
        { id: 'q', minutes: 2, dependsOn: [] },
        ...Array.from({ length: 24 }, (_, i) => ({ id: `w${i}`, minutes: 30 + i, dependsOn: [] })),
        { id: 'd', minutes: 3, dependsOn: ['q'] },
      ],
    };
    scriptDurations(engine(), shape);
    const run = await engine().run(shapePipeline(shape, 'wide-with-chain'), 'wide-with-chain');
    assert.equal(run.status, 'succeeded');
    const batches = engine().host.instanceIds().filter((id) => id.startsWith('wide-with-chain:') && id.includes(':batch'));
    assert.ok(batches.length > 0, 'the wave ran in batch nodes');
    for (const span of spans(shape, run)) assert.equal(new Date(span.start).toISOString(), new Date(span.ready).toISOString(), `${span.id} starts when its dependencies end`);
    const notices = engine().host.executions('wide-with-chain').flat().filter((e) => e.EventType === EventType.EventRaised && e['Name'] === 'stepDone').length;
    assert.ok(notices < 25, `${notices} stepDone notices for 26 steps: the wave reports by batch node`);
  });
});

describe('a stepDone notice that never arrives', () => {
  // Every notice fails (a transient error, as when storage is unreachable): the steps' results
  // still reach the run, from their sub-orchestrations' completions, at its next check-in.
  const engine = engineHostForSuite({ notifyStepDone: () => Promise.reject(new Error('storage unreachable')) });

  test('costs the run at most one check-in, never a hung run', async () => {
    const shape: DagShape = {
      name: 'lost-notice',
      steps: [
        { id: 'a', minutes: 1, dependsOn: [] },
        { id: 'b', minutes: 30, dependsOn: [] },
        { id: 'c', minutes: 1, dependsOn: ['a'] },
      ],
    };
    scriptDurations(engine(), shape);
    const run = await engine().run(shapePipeline(shape, 'lost-notice'), 'lost-notice');
    assert.equal(run.status, 'succeeded');
    assert.ok(run.steps.every((s) => s.status === 'succeeded'), JSON.stringify(run.steps.map((s) => [s.id, s.status])));
    // b's notice is retried, then given up; at the first check-in after b ended the run reads b's
    // end from its sub-orchestration (its final state, published before the notice), not waiting
    // for the retries to run out.
    const bEnd = Date.parse(run.steps.find((s) => s.id === 'b')?.attempts.at(-1)?.endedAt ?? '');
    const ended = Date.parse(run.endedAt ?? '');
    assert.ok(ended >= bEnd && ended <= bEnd + CHECK_IN_MS, `ended ${run.endedAt}, b ended ${new Date(bEnd).toISOString()}`);
  });
});
