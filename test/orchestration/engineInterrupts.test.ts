/**
 * Issue 19 items 1, 2 and 7: what a cancel and a run timeout do to steps that ended, run, wait for a
 * retry, or wait to start — wherever the step runs (inline, own sub-orchestration, batch member).
 * The table these tests follow is in src/engine/README.md ("Interrupts").
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { scriptDurations, shapePipeline, type DagShape } from '../../bench/engine';
import type { RunState, StepState } from '../../src/engine';
import { pipeline, secondsBetween, engineHostForSuite, START, type EngineHost } from './engineHarness';

const step = (run: RunState, id: string): StepState => {
  const found = run.steps.find((s) => s.id === id);
  if (!found) throw new Error(`no step ${id}`);
  return found;
};

/** Starts `runId`, moves virtual time to `atSeconds` after the start, cancels it, and returns its final state. */
async function cancelAt(engine: EngineHost, runId: string, atSeconds: number): Promise<RunState> {
  const target = START.getTime() + atSeconds * 1000;
  await engine.host.advance(target - engine.host.now().getTime());
  await engine.cancel(runId, 'operator request');
  const status = await engine.host.waitFor(runId);
  return status.output as RunState;
}

/** Two steps at once (so each runs in its own sub-orchestration); `a` fails transiently and retries 10 min later. */
function retryingPair(name: string, extra: { timeout?: string } = {}) {
  return pipeline({
    name,
    title: name,
    ...extra,
    steps: [
      { id: 'a', kind: 'azureFunction', url: 'https://fn.example/api/a', retry: { attempts: 5, delays: 600 } },
      { id: 'b', kind: 'azureFunction', url: 'https://fn.example/api/b', pollInterval: 60 },
      { id: 'c', kind: 'azureFunction', url: 'https://fn.example/api/c', dependsOn: ['a', 'b'] },
    ],
  });
}

describe('a cancel', () => {
  const engine = engineHostForSuite();

  test('leaves a batch member that already succeeded succeeded, with its attempt', async () => {
    // 12 steps start together: more than FAN_OUT, so they run in batch nodes. q ends after a
    // minute; nothing waits for q alone, so only its batch node would report it — at the end.
    const shape: DagShape = {
      name: 'wide-cancel',
      steps: [{ id: 'q', minutes: 1, dependsOn: [] }, ...Array.from({ length: 11 }, (_, i) => ({ id: `w${i}`, minutes: 60, dependsOn: [] }))],
    };
    scriptDurations(engine(), shape);
    await engine().start(shapePipeline(shape, 'wide-cancel'), 'wide-cancel');
    const run = await cancelAt(engine(), 'wide-cancel', 600.5);
    assert.equal(run.status, 'cancelled');
    const q = step(run, 'q');
    assert.equal(q.status, 'succeeded', JSON.stringify(q));
    assert.deepEqual(q.attempts.map((a) => [a.status, a.endedAt]), [['succeeded', new Date(START.getTime() + 60_000).toISOString()]]);
    for (let i = 0; i < 11; i++) {
      const w = step(run, `w${i}`);
      assert.equal(w.status, 'cancelled');
      assert.deepEqual(w.attempts.map((a) => a.status), ['cancelled'], `w${i}: its attempt in progress ends cancelled`);
      assert.equal(w.attempts[0]?.endedAt, run.endedAt, `w${i}: the attempt ends at the cancel`);
    }
    assert.equal(run.endedAt, new Date(START.getTime() + 600_500).toISOString());
    // The run store agrees: q's attempt succeeded, the others' ended cancelled.
    const stored = await engine().store.getAttempts('wide-cancel');
    assert.deepEqual(stored.filter((a) => a.stepId === 'q').map((a) => a.status), ['succeeded']);
    assert.deepEqual([...new Set(stored.filter((a) => a.stepId !== 'q').map((a) => a.status))], ['cancelled']);
  });

  test('keeps every attempt of a step waiting for its retry in a sub-orchestration', async () => {
    engine().fake.script('a', [{ fail: 'transient' }]);
    engine().fake.script('b', [{ running: { polls: 10_000, pollAfterSeconds: 60 } }]);
    await engine().start(retryingPair('pair-cancel'), 'pair-cancel');
    const run = await cancelAt(engine(), 'pair-cancel', 300.5);
    assert.equal(run.status, 'cancelled');
    const a = step(run, 'a');
    assert.equal(a.status, 'cancelled');
    assert.deepEqual(a.attempts.map((x) => [x.status, x.error?.class]), [['failed', 'transient']], 'the failed attempt is kept; no new one');
    const b = step(run, 'b');
    assert.deepEqual(b.attempts.map((x) => [x.status, x.endedAt]), [['cancelled', run.endedAt]]);
    assert.equal(step(run, 'c').status, 'skipped');
    assert.equal(engine().fake.callsOf('pair-cancel', 'b', 'cancel').length, 1, "b's polled job was asked to stop");
  });

  test('starts no attempt after the run ended in a step`s own sub-orchestration', async () => {
    engine().fake.script('a', [{ fail: 'transient' }]);
    engine().fake.script('b', [{ running: { polls: 10_000, pollAfterSeconds: 60 } }]);
    await engine().start(retryingPair('late-cancel'), 'late-cancel');
    const run = await cancelAt(engine(), 'late-cancel', 300.5);
    assert.equal(run.status, 'cancelled');
    await engine().host.advance(3 * 3600_000);
    const late = engine().fake.calls.filter((c) => c.runId === 'late-cancel' && c.method === 'start' && c.at.getTime() > Date.parse(run.endedAt ?? ''));
    assert.deepEqual(late.map((c) => `${c.stepId} #${c.attempt}`), []);
  });

  test('starts no attempt after the run ended inside a batch node', async () => {
    const wide = pipeline({
      name: 'wide-retry',
      title: 'wide retry',
      steps: Array.from({ length: 12 }, (_, i) => ({ id: `r${i}`, kind: 'azureFunction' as const, url: `https://fn.example/api/r${i}`, retry: { attempts: 5, delays: 600 } })),
    });
    for (let i = 0; i < 12; i++) engine().fake.script(`r${i}`, [{ fail: 'transient' }, { fail: 'transient' }]);
    await engine().start(wide, 'wide-retry');
    const run = await cancelAt(engine(), 'wide-retry', 300.5);
    assert.equal(run.status, 'cancelled');
    await engine().host.advance(3 * 3600_000);
    const late = engine().fake.calls.filter((c) => c.runId === 'wide-retry' && c.method === 'start' && c.at.getTime() > Date.parse(run.endedAt ?? ''));
    assert.deepEqual(late.map((c) => `${c.stepId} #${c.attempt}`), []);
  });
});

describe('a run timeout', () => {
  const engine = engineHostForSuite();

  test('keeps the attempts of a step in a sub-orchestration', async () => {
    engine().fake.script('a', [{ fail: 'transient' }]);
    engine().fake.script('b', [{ running: { polls: 10_000, pollAfterSeconds: 60 } }]);
    const run = await engine().run(retryingPair('pair-timeout', { timeout: '5m' }), 'pair-timeout');
    assert.equal(run.status, 'failed');
    assert.equal(run.error?.class, 'timeout');
    assert.equal(secondsBetween(run.startedAt, run.endedAt ?? ''), 300);
    const a = step(run, 'a');
    assert.equal(a.status, 'cancelled');
    assert.deepEqual(a.attempts.map((x) => [x.status, x.error?.class]), [['failed', 'transient']]);
    assert.deepEqual(step(run, 'b').attempts.map((x) => [x.status, x.endedAt]), [['cancelled', run.endedAt]]);
    assert.equal(step(run, 'c').status, 'skipped');
  });

  test('starts no attempt after the run ended', async () => {
    engine().fake.script('a', [{ fail: 'transient' }]);
    engine().fake.script('b', [{ running: { polls: 10_000, pollAfterSeconds: 60 } }]);
    const run = await engine().run(retryingPair('late-timeout', { timeout: '5m' }), 'late-timeout');
    assert.equal(run.status, 'failed');
    await engine().host.advance(3 * 3600_000);
    const late = engine().fake.calls.filter((c) => c.runId === 'late-timeout' && c.method === 'start' && c.at.getTime() > Date.parse(run.endedAt ?? ''));
    assert.deepEqual(late.map((c) => `${c.stepId} #${c.attempt}`), []);
  });
});

describe('a synchronous call out when the run is cancelled', () => {
  // The user activity answers only when the test lets it: after the cancel.
  let entered = (): void => undefined;
  let release = (): void => undefined;
  const inside = new Promise<void>((resolve) => (entered = resolve));
  const gate = new Promise<void>((resolve) => (release = resolve));
  const engine = engineHostForSuite({
    userActivities: {
      slowCall: async () => {
        entered();
        await gate;
        return { rows: 7 };
      },
    },
  });

  test('cannot be stopped: the run ends its attempt cancelled at the cancel; the call`s answer, after it, is kept in the run store, marked as after the end', async () => {
    const p = pipeline({ name: 'sync-late', title: 'sync late', steps: [{ id: 'call', kind: 'activity', activity: 'slowCall' }, { id: 'after', kind: 'azureFunction', url: 'https://fn.example/api/after', dependsOn: ['call'] }] });
    await engine().start(p, 'sync-late');
    await inside;
    const cancelledAt = engine().host.now().toISOString();
    await engine().cancel('sync-late', 'operator request');
    release();
    const run = (await engine().host.waitFor('sync-late')).output as RunState;
    assert.equal(run.status, 'cancelled');
    assert.equal(run.endedAt, cancelledAt);
    assert.deepEqual(step(run, 'call').attempts.map((a) => [a.status, a.endedAt]), [['cancelled', cancelledAt]], 'the run ended the attempt at the cancel');
    assert.equal(step(run, 'call').status, 'cancelled');
    await engine().host.runUntilIdle();
    const recorded = (await engine().store.getAttempts('sync-late')).find((a) => a.stepId === 'call');
    assert.deepEqual([recorded?.status, recorded?.finishedAfterEnd], ['succeeded', true], 'the real outcome, flagged');
    assert.equal((await engine().store.getRun('sync-late'))?.status, 'cancelled', 'the late answer does not change the run');
    assert.equal(engine().fake.callsOf('sync-late', 'after').length, 0);
  });
});
