/**
 * Issue 19 item 3: a lost `stepDone` notice delays a dependent by at most one check-in interval
 * beyond its dependency's end, wherever the dependency ran, and the history bound per execution
 * holds with every notice failing.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomDag, scriptDurations, shapePipeline, spans, type DagShape } from '../../bench/engine';
import { CHECK_IN_MS, HISTORY_BOUND } from '../../src/engine/runPipeline';
import { engineHostForSuite } from './engineHarness';

/** No execution's history holds more than this, whatever the number of steps. */
const EVENTS_PER_EXECUTION = HISTORY_BOUND;

describe('with every stepDone notice failing', () => {
  const engine = engineHostForSuite({ notifyStepDone: () => Promise.reject(new Error('storage unreachable')) });

  /** Every step starts within one check-in of its dependencies' end, never before it. */
  function assertWithinOneCheckIn(shape: DagShape, run: Parameters<typeof spans>[1]): void {
    for (const { id, start, ready } of spans(shape, run)) {
      assert.ok(start >= ready, `${id} starts before its dependencies end`);
      assert.ok(start - ready <= CHECK_IN_MS, `${id} starts ${(start - ready) / 60_000} min after its dependencies end`);
    }
  }

  test('a dependent of a step in its own sub-orchestration starts within one check-in, even when the notice retries straddle one', async () => {
    // a ends at 01:14, one minute before the 01:15 check-in; its notice is retried until about
    // 01:16:30. c must start by 01:29 (a's end + one check-in).
    const shape: DagShape = {
      name: 'straddle',
      steps: [
        { id: 'a', minutes: 14, dependsOn: [] },
        { id: 'b', minutes: 60, dependsOn: [] },
        { id: 'c', minutes: 1, dependsOn: ['a'] },
      ],
    };
    scriptDurations(engine(), shape);
    const run = await engine().run(shapePipeline(shape, 'straddle'), 'straddle');
    assert.equal(run.status, 'succeeded');
    assertWithinOneCheckIn(shape, run);
  });

  test('a dependent of a batch member starts within one check-in of the member`s end, not when its batch ends', async () => {
    const shape: DagShape = {
      name: 'member',
      steps: [
        { id: 'q', minutes: 1, dependsOn: [] },
        ...Array.from({ length: 11 }, (_, i) => ({ id: `w${i}`, minutes: 120, dependsOn: [] })),
        { id: 'd', minutes: 1, dependsOn: ['q'] },
      ],
    };
    scriptDurations(engine(), shape);
    const run = await engine().run(shapePipeline(shape, 'member'), 'member');
    assert.equal(run.status, 'succeeded');
    assertWithinOneCheckIn(shape, run);
  });

  test('a 400-step DAG keeps every execution under the history bound, and every dependent within one check-in', async () => {
    const shape = randomDag(11, 400);
    scriptDurations(engine(), shape);
    const run = await engine().run(shapePipeline(shape, 'lost-400'), 'lost-400');
    assert.equal(run.status, 'succeeded');
    const executions = engine().host.executions('lost-400');
    assert.ok(executions.length >= 2, 'the run continued as new');
    for (const [i, history] of executions.entries()) assert.ok(history.length <= EVENTS_PER_EXECUTION, `execution ${i + 1} holds ${history.length} events`);
    assertWithinOneCheckIn(shape, run);
  });
});

describe('a step instance that no longer exists', () => {
  const engine = engineHostForSuite({ historyBound: 70 });

  test('ends its step`s wait with a failure, a check-in after it was first found missing', async () => {
    const shape: DagShape = {
      name: 'vanished',
      steps: [{ id: 'long', minutes: 600, dependsOn: [] }, ...Array.from({ length: 8 }, (_, i) => ({ id: `y${i}`, minutes: 1 + i, dependsOn: [] }))],
    };
    scriptDurations(engine(), shape);
    await engine().start(shapePipeline(shape, 'vanished'), 'vanished');
    while (engine().host.executions('vanished').length < 2) await engine().host.advance(60_000);
    // Its step sub-orchestration is gone (terminated, then its history purged): only the run's
    // check-ins can notice.
    const instance = engine().host.instanceIds().find((id) => id.startsWith('vanished:long:'));
    assert.ok(instance, 'long runs in a sub-orchestration');
    await engine().host.client.terminate(instance, 'lost');
    await engine().host.runUntilIdle({ maxVirtualMs: 0 });
    await engine().host.client.purgeInstanceHistory(instance);
    const status = await engine().host.waitFor('vanished', { timeoutMs: 120_000 });
    const run = status.output as Parameters<typeof spans>[1];
    assert.equal(run.status, 'failed');
    const long = run.steps.find((s) => s.id === 'long');
    assert.equal(long?.status, 'failed');
    assert.match(long?.error?.message ?? '', /does not exist/);
    assert.ok(Date.parse(run.endedAt ?? '') - Date.parse(run.startedAt) <= 3 * CHECK_IN_MS, `ended ${run.endedAt}`);
  });
});
