/**
 * Issue 13 item 2 for any DAG, not only wide waves: `runPipeline` continues as new every
 * `HISTORY_BOUND` waits, carrying the run's state, so what one wake-up replays stays bounded
 * however many steps the pipeline has — and the run means the same: every step still starts when its
 * dependencies end, a lost notice is found by `reconcileRun`, a cancel still cancels.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomDag, scriptDurations, shapePipeline, spans, type DagShape } from '../../bench/engine';
import type { RunState } from '../../src/engine';
import { CANCEL_EVENT, HISTORY_BOUND } from '../../src/engine/runPipeline';
import { engineHostForSuite } from './engineHarness';

/** No execution's history holds more than this, whatever the number of steps. */
const EVENTS_PER_EXECUTION = HISTORY_BOUND;

describe('a run of many steps continues as new and keeps its meaning', () => {
  const engine = engineHostForSuite();

  for (const size of [120, 240]) {
    test(`random ${size}-step DAG: bounded executions, every step starts when its dependencies end`, async () => {
      const shape = randomDag(size, size);
      scriptDurations(engine(), shape);
      const runId = `bounded-${size}`;
      const run = await engine().run(shapePipeline(shape, runId), runId);
      assert.equal(run.status, 'succeeded');
      const executions = engine().host.executions(runId);
      assert.ok(executions.length >= 2, `${executions.length} executions: the run continued as new`);
      for (const [i, history] of executions.entries()) assert.ok(history.length <= EVENTS_PER_EXECUTION, `execution ${i + 1} holds ${history.length} events`);
      for (const { id, start, ready } of spans(shape, run)) assert.equal(new Date(start).toISOString(), new Date(ready).toISOString(), `${id} starts when its dependencies end`);
    });
  }

  test('a chain of 100 steps, run inline one after another, continues as new too', async () => {
    const shape: DagShape = { name: 'chain', steps: Array.from({ length: 100 }, (_, i) => ({ id: `c${i}`, minutes: 1 + (i % 5), dependsOn: i === 0 ? [] : [`c${i - 1}`] })) };
    scriptDurations(engine(), shape);
    const run = await engine().run(shapePipeline(shape, 'bounded-chain'), 'bounded-chain');
    assert.equal(run.status, 'succeeded');
    const executions = engine().host.executions('bounded-chain');
    assert.ok(executions.length >= 2, `${executions.length} executions: the run continued as new`);
    for (const [i, history] of executions.entries()) assert.ok(history.length <= EVENTS_PER_EXECUTION, `execution ${i + 1} holds ${history.length} events`);
    for (const { id, start, ready } of spans(shape, run)) assert.equal(new Date(start).toISOString(), new Date(ready).toISOString(), `${id} starts when its dependency ends`);
  });

  test('a cancel raised after the run continued as new cancels it', async () => {
    const shape = randomDag(7, 200);
    scriptDurations(engine(), shape);
    const runId = 'bounded-cancel';
    await engine().start(shapePipeline(shape, runId), runId);
    while (engine().host.executions(runId).length < 2) await engine().host.advance(60_000);
    await engine().host.client.raiseEvent(runId, CANCEL_EVENT, { reason: 'stopped by ops' });
    const status = await engine().host.waitFor(runId);
    const run = status.output as RunState;
    assert.equal(run.status, 'cancelled');
    assert.equal(run.error?.message, 'run cancelled: stopped by ops');
    assert.ok(run.steps.some((s) => s.status === 'succeeded') && run.steps.some((s) => s.status === 'skipped'), 'cancelled midway');
  });
});

describe('a run that continued as new, whose notices never arrive', () => {
  // Every stepDone fails: results of steps started by an earlier execution reach the run only
  // through activity reconcileRun (their sub-orchestrations answer the execution that started them).
  const engine = engineHostForSuite({ notifyStepDone: () => Promise.reject(new Error('storage unreachable')) });

  test('still finishes with every step', async () => {
    const shape = randomDag(11, 400);
    scriptDurations(engine(), shape);
    const run = await engine().run(shapePipeline(shape, 'bounded-lost'), 'bounded-lost');
    assert.equal(run.status, 'succeeded');
    assert.ok(run.steps.every((s) => s.status === 'succeeded'));
    assert.ok(engine().host.executions('bounded-lost').length >= 2, 'the run continued as new');
  });
});
