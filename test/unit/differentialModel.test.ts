/**
 * The reference model of the differential check (test/orchestration/differential/model.ts) on runs
 * worked out by hand from the docs: if the model is wrong, the differential check blames the engine
 * for it, so the model's own rules are pinned here.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CHECK_IN_MS, retryDelaySeconds, simulate, type AttemptScript, type Scenario, type StepSpec } from '../orchestration/differential/model';

const ok = (seconds: number): AttemptScript => ({ seconds, outcome: 'succeeded' });
const transient = (seconds: number, retryAfterSeconds?: number): AttemptScript => ({ seconds, outcome: 'transient', ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }) });
const permanent = (seconds: number): AttemptScript => ({ seconds, outcome: 'permanent' });

function step(id: string, dependsOn: string[], script: AttemptScript[], extra: Partial<StepSpec> = {}): StepSpec {
  return { id, dependsOn, attempts: 1, delays: 0, retryOn: ['transient', 'timeout'], script, after: ok(0), ...extra };
}

function scenario(steps: StepSpec[], extra: Partial<Scenario> = {}): Scenario {
  return { name: 'hand', steps, groups: {}, pipelineRetry: { retries: 0, delaySeconds: 0, retryPermanent: false }, drops: { kind: 'none' }, ...extra };
}

/** Each step as `status: start–end outcome, …` in seconds. */
function summary(s: Scenario, options: Parameters<typeof simulate>[1] = {}): Record<string, string> {
  const p = simulate(s, options);
  return Object.fromEntries(p.steps.map((x) => [x.id, `${x.status}: ${x.attempts.map((a) => `${a.start / 1000}–${a.end / 1000} ${a.outcome}`).join(', ')}`]));
}

describe('reference model: documented rules on hand-worked runs', () => {
  test('a step starts when its dependencies succeed; the run ends with the last step', () => {
    const s = scenario([step('a', [], [ok(60)]), step('b', [], [ok(10)]), step('c', ['a', 'b'], [ok(30)])]);
    assert.deepEqual(summary(s), { a: 'succeeded: 0–60 succeeded', b: 'succeeded: 0–10 succeeded', c: 'succeeded: 60–90 succeeded' });
    assert.deepEqual(simulate(s).outcome, { status: 'succeeded' });
    assert.deepEqual(simulate(s).end, { lo: 90_000, hi: 90_000 });
  });

  test('retry delays: a number, a list whose last entry repeats, exponential capped at max; Retry-After is a floor', () => {
    assert.deepEqual([1, 2, 3].map((k) => retryDelaySeconds(30, k)), [30, 30, 30]);
    assert.deepEqual([1, 2, 3, 4].map((k) => retryDelaySeconds([10, 20], k)), [10, 20, 20, 20]);
    assert.deepEqual([1, 2, 3, 4].map((k) => retryDelaySeconds({ initial: 10, factor: 2, max: 30 }, k)), [10, 20, 30, 30]);
    const s = scenario([step('a', [], [transient(5), transient(5, 100), ok(5)], { attempts: 3, delays: [10, 20] })]);
    assert.deepEqual(summary(s), { a: 'succeeded: 0–5 failed:transient, 15–20 failed:transient, 120–125 succeeded' });
  });

  test('permanent failures and classes outside retryOn are not retried; dependents are skipped', () => {
    const s = scenario([step('a', [], [permanent(5)], { attempts: 3 }), step('b', [], [transient(5)], { attempts: 3, retryOn: ['timeout'] }), step('c', ['a'], [])]);
    assert.deepEqual(summary(s), { a: 'failed: 0–5 failed:permanent', b: 'failed: 0–5 failed:transient', c: 'skipped: ' });
    const p = simulate(s);
    assert.deepEqual(p.outcome, { status: 'failed' });
    assert.deepEqual(p.failedFirst, [{ stepId: 'a', class: 'permanent' }]);
  });

  test('a step timeout fails a polled attempt with class timeout at start + timeout, then the policy applies', () => {
    const s = scenario([step('a', [], [ok(100), ok(20)], { attempts: 2, delays: 5, timeoutSeconds: 30 })]);
    assert.deepEqual(summary(s), { a: 'succeeded: 0–30 failed:timeout, 35–55 succeeded' });
  });

  test('pipeline retry re-runs what did not succeed after the delay, attempt numbers continue; not after permanent-only failures', () => {
    const steps = [step('a', [], [ok(10)]), step('b', ['a'], [permanent(5), ok(5)]), step('c', ['b'], [])];
    const off = scenario(steps, { pipelineRetry: { retries: 1, delaySeconds: 300, retryPermanent: false } });
    assert.deepEqual(summary(off), { a: 'succeeded: 0–10 succeeded', b: 'failed: 10–15 failed:permanent', c: 'skipped: ' });
    const on = scenario(steps, { pipelineRetry: { retries: 1, delaySeconds: 300, retryPermanent: true } });
    assert.deepEqual(summary(on), { a: 'succeeded: 0–10 succeeded', b: 'succeeded: 10–15 failed:permanent, 315–320 succeeded', c: 'succeeded: 320–320 succeeded' });
    assert.deepEqual(simulate(on).steps.find((x) => x.id === 'b')?.attempts.map((a) => a.n), [1, 2]);
  });

  test('maxParallel: earlier steps in the definition first, a retry wait keeps its slot', () => {
    const s = scenario([step('a', [], [transient(10), ok(10)], { attempts: 2, delays: 50 }), step('b', [], [ok(10)]), step('c', [], [ok(10)])], { maxParallel: 2 });
    assert.deepEqual(summary(s), { a: 'succeeded: 0–10 failed:transient, 60–70 succeeded', b: 'succeeded: 0–10 succeeded', c: 'succeeded: 10–20 succeeded' });
  });

  test('a step admitted at an instant keeps its slot against a step that becomes ready later at that instant', () => {
    // b and c are ready at 0 and both fit; a ends at 0 and makes d ready, but c already has the group's slot.
    const s = scenario([step('a', [], [ok(0)], { group: 'g1' }), step('d', ['a'], [ok(0)], { group: 'g0' }), step('c', [], [ok(5)], { group: 'g0' })], { groups: { g0: 1, g1: 1 } });
    assert.deepEqual(summary(s), { a: 'succeeded: 0–0 succeeded', d: 'succeeded: 5–5 succeeded', c: 'succeeded: 0–5 succeeded' });
    const observed = simulate(s, { observed: { starts: new Map([['a', [0]], ['c', [0]], ['d', [5000]]]) } });
    assert.deepEqual(observed.violations, []);
  });

  test('a group limit holds back only the steps of its group', () => {
    const s = scenario([step('a', [], [ok(30)], { group: 'wh' }), step('b', [], [ok(10)], { group: 'wh' }), step('c', [], [ok(10)])], { groups: { wh: 1 } });
    assert.deepEqual(summary(s), { a: 'succeeded: 0–30 succeeded', b: 'succeeded: 30–40 succeeded', c: 'succeeded: 0–10 succeeded' });
  });

  test('cancel: ended steps keep their end, a running attempt ends cancelled, a retry wait is cancelled, a pending step is skipped', () => {
    const s = scenario(
      [step('a', [], [ok(10)]), step('b', [], [ok(100)]), step('c', [], [transient(10), ok(10)], { attempts: 2, delays: 60 }), step('d', ['b'], [])],
      { cancel: { via: 'api', at: { kind: 'instant', seconds: 45.5 } } },
    );
    assert.deepEqual(summary(s, { plannedCancelAt: 45_500 }), { a: 'succeeded: 0–10 succeeded', b: 'cancelled: 0–45.5 cancelled', c: 'cancelled: 0–10 failed:transient', d: 'skipped: ' });
    const p = simulate(s, { plannedCancelAt: 45_500 });
    assert.deepEqual(p.outcome, { status: 'cancelled' });
    assert.deepEqual(p.stopJobs, [{ stepId: 'b', attempt: 1, at: 45_500 }]);
  });

  test('a run timeout during the pipeline retry wait ends the run at once; steps keep their states', () => {
    const s = scenario([step('a', [], [transient(10)]), step('b', ['a'], [])], { timeoutSeconds: 100.5, pipelineRetry: { retries: 1, delaySeconds: 300, retryPermanent: false } });
    assert.deepEqual(summary(s), { a: 'failed: 0–10 failed:transient', b: 'skipped: ' });
    assert.deepEqual(simulate(s).outcome, { status: 'failed', class: 'timeout' });
    assert.deepEqual(simulate(s).end, { lo: 100_500, hi: 100_500 });
  });

  test('observed starts: exact when every notice arrives, within one check-in when notices are lost, none after the end', () => {
    const steps = [step('a', [], [ok(60)]), step('b', ['a'], [ok(10)])];
    const late = (s: Scenario, bStart: number) => simulate(s, { observed: { starts: new Map([['a', [0]], ['b', [bStart]]]) } }).violations.map((v) => v.kind);
    assert.deepEqual(late(scenario(steps), 60_000), []);
    assert.deepEqual(late(scenario(steps), 61_000), ['first start late']);
    const lossy = scenario(steps, { drops: { kind: 'all' } });
    assert.deepEqual(late(lossy, 60_000 + CHECK_IN_MS), []);
    assert.deepEqual(late(lossy, 61_000 + CHECK_IN_MS), ['first start late']);
    assert.deepEqual(simulate(lossy, { observed: { starts: new Map([['a', [0]], ['b', [600_000]]]) } }).end, { lo: 610_000, hi: 610_000 + CHECK_IN_MS });
    const cancelled = scenario(steps, { cancel: { via: 'event', at: { kind: 'instant', seconds: 30.5 } } });
    const p = simulate(cancelled, { observed: { starts: new Map([['a', [0]], ['b', [60_000]]]), cancelAt: 30_500 } });
    assert.deepEqual(p.violations.map((v) => v.kind), ['start after the run ended']);
    assert.deepEqual(p.steps.map((x) => x.status), ['cancelled', 'skipped']);
  });

  test('lost notices with a limit: another contender may take the freed slot first, but the slot never stays unused for more than a check-in', () => {
    const s = scenario([step('a', [], [ok(60)]), step('b', [], [ok(10)]), step('c', [], [ok(10)])], { maxParallel: 1, drops: { kind: 'all' } });
    const kinds = (c: number, b: number) => simulate(s, { observed: { starts: new Map([['a', [0]], ['b', [b]], ['c', [c]]]) } }).violations.map((v) => `${v.kind} ${v.stepId}`);
    assert.deepEqual(kinds(300_000, 310_000), []);
    assert.deepEqual(kinds(61_000 + CHECK_IN_MS, 71_000 + CHECK_IN_MS), ['first start late b']);
    assert.deepEqual(kinds(30_000, 70_000), ['start beyond the limits c']);
  });

  test('a cancel tied with an end: the end counts as before it; a step due at that instant may stay unstarted', () => {
    const steps = [step('a', [], [ok(60)]), step('b', ['a'], [ok(10)])];
    const s = scenario(steps, { cancel: { via: 'event', at: { kind: 'afterNotice', stepId: 'a' } } });
    const p = simulate(s, { observed: { starts: new Map([['a', [0]]]), cancelAt: 60_000 } });
    assert.deepEqual(p.violations, []);
    assert.deepEqual(p.steps.map((x) => x.status), ['succeeded', 'skipped']);
    assert.deepEqual(p.outcome, { status: 'cancelled' });
  });

  /** A forEach step `f` over `scripts.length` items (docs/pipelines.md §3), each item answering from its script. */
  const forEachOf = (id: string, dependsOn: string[], scripts: AttemptScript[][], forEach: NonNullable<StepSpec['forEach']>, extra: Partial<StepSpec> = {}): StepSpec[] => [
    step(id, dependsOn, [], { forEach, ...extra }),
    ...scripts.map((script, i) => step(`${id}[${i}]`, [], script, { itemOf: id, ...extra })),
  ];
  const ordered = (s: Scenario): Scenario => ({ ...s, steps: [...s.steps.filter((x) => x.itemOf === undefined), ...s.steps.filter((x) => x.itemOf !== undefined)] });

  test('forEach: items start while their step runs, at most its maxParallel at once, in item order; the step succeeds when every item did; a dependent waits for it', () => {
    const s = ordered(scenario([step('a', [], [ok(10)]), ...forEachOf('f', ['a'], [[ok(60)], [ok(30)], [ok(30)]], { maxParallel: 2, onItemFailure: 'finishOthers' }), step('z', ['f'], [ok(5)])]));
    assert.deepEqual(summary(s), {
      a: 'succeeded: 0–10 succeeded',
      f: 'succeeded: ',
      z: 'succeeded: 70–75 succeeded',
      'f[0]': 'succeeded: 10–70 succeeded',
      'f[1]': 'succeeded: 10–40 succeeded',
      'f[2]': 'succeeded: 40–70 succeeded',
    });
  });

  test('forEach: a failed item (after its retries) fails the step once the others finished, or at once with failFast (items not started skipped, those in flight finish)', () => {
    const items = [[ok(60)], [transient(5), permanent(5)], [ok(10)], [ok(10)]];
    const finish = ordered(scenario([...forEachOf('f', [], items, { maxParallel: 2, onItemFailure: 'finishOthers' }, { attempts: 2, delays: 5 }), step('z', ['f'], [])]));
    const a = summary(finish);
    assert.equal(a['f'], 'failed: ');
    assert.equal(a['f[1]'], 'failed: 0–5 failed:transient, 10–15 failed:permanent');
    assert.equal(a['f[3]'], 'succeeded: 25–35 succeeded');
    assert.equal(a['z'], 'skipped: ');
    assert.deepEqual(simulate(finish).end, { lo: 60_000, hi: 60_000 });
    const fast = ordered(scenario(forEachOf('f', [], items, { maxParallel: 2, onItemFailure: 'failFast' }, { attempts: 2, delays: 5 })));
    const b = summary(fast);
    assert.equal(b['f'], 'failed: ');
    assert.equal(b['f[0]'], 'succeeded: 0–60 succeeded');
    assert.equal(b['f[2]'], 'skipped: ');
    assert.equal(b['f[3]'], 'skipped: ');
    assert.deepEqual(simulate(fast).failedFirst, [{ stepId: 'f', class: 'permanent' }]);
  });

  test('forEach: items count against the run maxParallel; a cancel during items cancels those in flight, skips the rest, and the step is cancelled', () => {
    const s = ordered(scenario([step('a', [], [ok(100)]), ...forEachOf('f', [], [[ok(50)], [ok(50)], [ok(50)]], { maxParallel: 3, onItemFailure: 'finishOthers' })], { maxParallel: 2 }));
    assert.deepEqual(summary(s, { plannedCancelAt: 60_500 }), {
      a: 'cancelled: 0–60.5 cancelled',
      f: 'cancelled: ',
      'f[0]': 'succeeded: 0–50 succeeded',
      'f[1]': 'cancelled: 50–60.5 cancelled',
      'f[2]': 'skipped: ',
    });
  });

  test('a start call answering at once in the very instant a tied cancel is taken: either it had answered, or it was still out and ends cancelled (engine README)', () => {
    const s = scenario([step('a', [], [ok(0)]), step('b', [], [ok(100)])], { cancel: { via: 'api', at: { kind: 'atStart', stepId: 'a', call: 1 } } });
    const p = simulate(s, { observed: { starts: new Map([['a', [0]], ['b', [0]]]), cancelAt: 0 } });
    const a = p.steps.find((x) => x.id === 'a');
    assert.equal(a?.status, 'succeeded');
    assert.deepEqual(a?.orCancelledAtTie?.attempts, [{ n: 1, start: 0, end: 0, outcome: 'cancelled' }]);
    // Only at such a tie: a polled job started at the cancel's instant, or a cancel at a clean instant, has no alternative.
    const polled = simulate(scenario([step('a', [], [ok(30)]), step('b', [], [ok(100)])], { cancel: { via: 'api', at: { kind: 'atStart', stepId: 'a', call: 1 } } }), { observed: { starts: new Map([['a', [0]], ['b', [0]]]), cancelAt: 0 } });
    assert.equal(polled.steps.find((x) => x.id === 'a')?.orCancelledAtTie, undefined);
    const clean = simulate(scenario([step('a', [], [ok(0)]), step('b', [], [ok(100)])], { cancel: { via: 'api', at: { kind: 'instant', seconds: 0 } } }), { observed: { starts: new Map([['a', [0]], ['b', [0]]]), cancelAt: 0 } });
    assert.equal(clean.steps.find((x) => x.id === 'a')?.orCancelledAtTie, undefined);
  });
});
