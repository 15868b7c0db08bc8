/**
 * Issue 19 item 4 and issue 18 item 5: nothing the run needs is lost at a `continueAsNew`. On the
 * Azure Storage backend an event raised to a run that has just continued as new, batched with the
 * first answer to its new execution, is deleted (Azure/durabletask#1399); the development host
 * delivers events that way (src/devhost/continue-window.ts, its default). Here the
 * event lands exactly there — raised while the new execution's first `reconcileRun` is answering,
 * after that answer was read — and the run must recover it at once, not at its next check-in.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { scriptDurations, shapePipeline, type DagShape } from '../../bench/engine';
import { notifyStepDone } from '../../src/activities/notifyStepDone';
import { CHECK_IN_MS, type RunState, type StepState } from '../../src/engine';
import { STEP_DONE_EVENT } from '../../src/steps/protocol';
import { engineHostForSuite } from './engineHarness';

const step = (run: RunState, id: string): StepState => {
  const found = run.steps.find((s) => s.id === id);
  if (!found) throw new Error(`no step ${id}`);
  return found;
};

/** A small history budget: the run continues as new every few waits. */
const SMALL_BOUND = 70;

describe('a cancel raised with the first answer of a continued execution', () => {
  const log: string[] = [];
  let at: number | undefined;
  const engine = engineHostForSuite({
    historyBound: SMALL_BOUND,
    devHost: { log: (line) => log.push(line) },
    async afterReconcile(input, answer) {
      // The first question of the run's second execution: the cancel arrives now, after the
      // cancel store was read for this answer, and is batched with it.
      if (at === undefined && engine().host.executions(input.runId).length === 2) {
        at = engine().host.now().getTime();
        await engine().cancel(input.runId, 'operator request');
      }
      return answer;
    },
  });

  test('ends the run at once, cancelled, and starts nothing after it', async () => {
    // Steps in sub-orchestrations, each polled once at its end: nothing of the run acts at the
    // continue's instant, so only the run itself can notice the cancel then.
    const shape: DagShape = { name: 'parallel', steps: [...Array.from({ length: 8 }, (_, i) => ({ id: `y${i}`, minutes: 6 + i, dependsOn: [] })), { id: 'after', minutes: 1, dependsOn: ['y7'] }] };
    scriptDurations(engine(), shape);
    const run = await engine().run(shapePipeline(shape, 'continue-cancel'), 'continue-cancel');
    assert.ok(at !== undefined, 'the run continued as new and the cancel was raised with its first answer');
    assert.ok(log.some((l) => /continue-cancel: external event "cancel" deleted/.test(l)), 'the development host deleted the cancel event, as Azure Storage does');
    assert.equal(run.status, 'cancelled');
    assert.equal(run.endedAt, new Date(at).toISOString(), 'cancelled at once');
    const late = engine().fake.calls.filter((c) => c.runId === 'continue-cancel' && c.method === 'start' && c.at.getTime() > at!);
    assert.deepEqual(late.map((c) => c.stepId), []);
  });
});

describe('a stepDone notice delivered with the first answer of a continued execution', () => {
  const log: string[] = [];
  let at: number | undefined;
  const engine = engineHostForSuite({
    historyBound: SMALL_BOUND,
    devHost: { log: (line) => log.push(line) },
    // x's own notices never arrive: the run carries x into a new execution without knowing it ended.
    notifyStepDone: (input, client) => {
      const results = (input as { results?: { state?: { id?: string } }[] }).results ?? [];
      if (results.some((r) => r.state?.id === 'x')) return Promise.reject(new Error('storage unreachable'));
      return notifyStepDone(input, client);
    },
    async afterReconcile(input, answer) {
      const found = answer.results.find((r) => (r.state as { id?: string } | undefined)?.id === 'x');
      if (at !== undefined || !found) return answer;
      // This answer read x's sub-orchestration a moment before x ended; x's notice then arrived in
      // the same batch as the answer.
      at = engine().host.now().getTime();
      await engine().host.client.raiseEvent(input.runId, STEP_DONE_EVENT, { results: [found] });
      return { ...answer, results: answer.results.filter((r) => r !== found) };
    },
  });

  test('is recovered at once: the step that waits for it starts then, not at the next check-in', async () => {
    const shape: DagShape = {
      name: 'notice',
      steps: [
        { id: 'x', minutes: 5, dependsOn: [] },
        { id: 'd', minutes: 1, dependsOn: ['x'] },
        ...Array.from({ length: 8 }, (_, i) => ({ id: `y${i}`, minutes: 6 + i, dependsOn: [] })),
      ],
    };
    scriptDurations(engine(), shape);
    const run = await engine().run(shapePipeline(shape, 'continue-notice'), 'continue-notice');
    assert.equal(run.status, 'succeeded');
    assert.ok(at !== undefined, 'x was carried into a new execution and its notice raised with that execution`s first answer');
    assert.ok(log.some((l) => /continue-notice: external event "stepDone" deleted/.test(l)), 'the development host deleted the notice, as Azure Storage does');
    const dStart = Date.parse(step(run, 'd').attempts[0]?.startedAt ?? '');
    assert.equal(new Date(dStart).toISOString(), new Date(at).toISOString(), 'd starts the moment the run learns x ended');
    const xEnd = Date.parse(step(run, 'x').attempts.at(-1)?.endedAt ?? '');
    assert.ok(dStart < (Math.floor(xEnd / CHECK_IN_MS) + 1) * CHECK_IN_MS, 'before the next check-in');
  });
});
