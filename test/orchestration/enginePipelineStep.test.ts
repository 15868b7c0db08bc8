/**
 * A pipeline as a step (docs/pipelines.md, section 4), run by the engine in virtual time: the child
 * is a real run of the same host, started through `startRunOnce` under an id derived from the
 * parent run, step and attempt; the parent's step takes the child's outcome; cancel and rerun from
 * failed go down to the child. Every finished run (parents and children) is replayed from scratch
 * at the end of each suite (the determinism check).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { PipelineInput } from '../../src/pipelines/schema';
import { validatePipeline } from '../../src/pipelines/validate';
import type { RunState } from '../../src/engine/types';
import { childRunId, createPipelineAdapter } from '../../src/steps/pipeline/adapter';
import { parentPoller, wakeParentStep } from '../../src/steps/pipeline/wakeParent';
import { loadCatalog } from '../../src/pipelines/catalog';
import { createLogger } from '../../src/logging/logger';
import { engineHostForSuite, type EngineHost } from './engineHarness';

function pipelineOf(input: PipelineInput) {
  const checked = validatePipeline(input);
  if (!checked.ok) throw new Error(checked.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  return checked.pipeline;
}

/** A child with two steps (ids prefixed so each test scripts its own), and a parent calling it between two steps. */
function family(prefix: string, parentExtra: Partial<PipelineInput> = {}, reportPoll: string | null = '1m') {
  // null: the step's default pollInterval
  const child = pipelineOf({
    name: `${prefix}-report`,
    title: 'report',
    parameters: { day: { type: 'date' }, rows: { type: 'integer' }, label: { type: 'string', default: '-' } },
    steps: [
      { id: `${prefix}-a`, kind: 'azureFunction', url: 'https://example.test/a' },
      { id: `${prefix}-b`, kind: 'azureFunction', url: 'https://example.test/b', dependsOn: [`${prefix}-a`] },
    ],
  });
  const parent = pipelineOf({
    name: `${prefix}-etl`,
    title: 'etl',
    parameters: { day: { type: 'date', default: { run: 'logicalDate' } } },
    steps: [
      { id: 'export', kind: 'azureFunction', url: 'https://example.test/export', output: { object: { rows: 'integer' } } },
      {
        id: 'report',
        kind: 'pipeline',
        pipeline: child.name,
        dependsOn: ['export'],
        parameters: { day: { param: 'day' }, rows: { step: 'export', path: 'output.rows' }, label: 'day={param.day}' },
        ...(reportPoll === null ? {} : { pollInterval: reportPoll }),
      },
      { id: `${prefix}-after`, kind: 'azureFunction', url: 'https://example.test/after', dependsOn: ['report'], body: { child: { step: 'report', path: 'output.runId' } } },
    ],
    ...parentExtra,
  });
  return { child, parent };
}

const EXPORTED = { ok: { output: { rows: 42 } } };

const stepOf = (run: RunState, id: string) => run.steps.find((s) => s.id === id);

async function childState(engine: EngineHost, id: string): Promise<RunState> {
  const status = await engine.host.waitFor(id, { timeoutMs: 300_000 });
  return status.output as RunState;
}

describe('a pipeline as a step', () => {
  const engine = engineHostForSuite();

  test('the child is a normal run linked both ways: it gets the parameters (param, step output, template), the parent step takes its outcome and names it', async () => {
    const { child, parent } = family('ok');
    engine().deploy(child);
    engine().fake.script('export', [{ ok: { output: { rows: 42 } } }]).script('ok-a', [{ running: { polls: 3, pollAfterSeconds: 60 } }]);
    const run = await engine().run(parent, 'ok-parent-1', { parameters: { day: '2026-03-01' } });

    const childId = childRunId(child.name, 'ok-parent-1', 'report', 1);
    assert.equal(run.status, 'succeeded');
    assert.deepEqual(stepOf(run, 'report')?.output, { runId: childId, pipeline: child.name, status: 'succeeded' });
    assert.deepEqual(stepOf(run, 'report')?.metrics, { childSteps: 2, childStepsSucceeded: 2 });
    // A later step refers to the child run's id.
    assert.deepEqual(engine().fake.callsOf('ok-parent-1', 'ok-after')[0]?.upstream, { 'report.output.runId': childId });

    const record = await engine().store.getRun(childId);
    assert.equal(record?.pipeline, child.name);
    assert.deepEqual(record?.trigger, { kind: 'pipeline', origin: 'ok-parent-1/report' });
    assert.deepEqual(record?.parameters, { day: '2026-03-01', rows: 42, label: 'day=2026-03-01' });
    assert.equal(record?.status, 'succeeded');
    const childRun = await childState(engine(), childId);
    assert.deepEqual(childRun.steps.map((s) => s.status), ['succeeded', 'succeeded']);
    // The parent's step ended after the child did: it waited for it.
    assert.ok((stepOf(run, 'report')?.attempts[0]?.endedAt ?? '') >= (childRun.endedAt ?? 'z'), 'the step ends after its child');
  });

  test("the child fails: the parent's step fails with the child's failure (its step and message), the run fails", async () => {
    const { child, parent } = family('bad');
    engine().deploy(child);
    engine().fake.script('export', [EXPORTED]).script('bad-b', [{ fail: 'permanent', message: 'model orders failed to compile' }]);
    const run = await engine().run(parent, 'bad-parent-1');

    const childId = childRunId(child.name, 'bad-parent-1', 'report', 1);
    const report = stepOf(run, 'report');
    assert.equal(report?.status, 'failed');
    assert.match(report?.error?.message ?? '', new RegExp(`child run ${childId} \\(bad-report\\) failed at step bad-b: .*model orders failed to compile`));
    assert.equal(run.status, 'failed');
    assert.equal(run.error?.stepId, 'report');
    assert.equal(stepOf(run, 'bad-after')?.status, 'skipped');
    assert.equal((await engine().store.getRun(childId))?.status, 'failed');
  });

  test('cancelling the parent cancels the child (recorded like an API cancel); both end cancelled', async () => {
    const { child, parent } = family('stop');
    engine().deploy(child);
    engine().fake.script('export', [EXPORTED]).script('stop-a', [{ running: { polls: 100, pollAfterSeconds: 60 } }]);
    await engine().start(parent, 'stop-parent-1');
    await engine().host.advance(10 * 60_000);
    const childId = childRunId(child.name, 'stop-parent-1', 'report', 1);
    assert.equal((await engine().store.getRun(childId))?.status, 'running', 'the child runs while its parent waits');
    await engine().cancel('stop-parent-1', 'operator request');
    const status = await engine().host.waitFor('stop-parent-1', { timeoutMs: 300_000 });
    const run = status.output as RunState;

    assert.equal(run.status, 'cancelled');
    assert.equal(stepOf(run, 'report')?.status, 'cancelled');
    const childRun = await childState(engine(), childId);
    assert.equal(childRun.status, 'cancelled');
    assert.match(childRun.error?.message ?? '', /run cancelled: by run stop-parent-1/);
    assert.equal(stepOf(childRun, 'stop-a')?.status, 'cancelled');
    assert.ok(engine().fake.callsOf(childId, 'stop-a', 'cancel').length >= 1, "the child's running job was asked to stop");
  });

  test("rerun from failed of the parent reruns the child from its failed step: a new child, linked to the rerun, reusing the child's succeeded step", async () => {
    const { child, parent } = family('again');
    engine().deploy(child);
    engine().fake.script('export', [EXPORTED]).script('again-b', [{ fail: 'permanent', message: 'warehouse suspended' }]);
    const first = await engine().run(parent, 'again-parent-1');
    assert.equal(first.status, 'failed');
    const firstChild = childRunId(child.name, 'again-parent-1', 'report', 1);

    // The API's rerun from failed: export reused, report and after run again.
    const exported = stepOf(first, 'export');
    const rerun = await engine().run(parent, 'again-parent-2', {
      trigger: { kind: 'rerun', origin: 'again-parent-1' },
      resumeFrom: { runId: 'again-parent-1', steps: { export: { fromRunId: 'again-parent-1', ...(exported?.output === undefined ? {} : { output: exported.output }) } } },
    });
    assert.equal(rerun.status, 'succeeded');
    const secondChild = childRunId(child.name, 'again-parent-2', 'report', 1);
    assert.notEqual(secondChild, firstChild);
    assert.equal((stepOf(rerun, 'report')?.output as { runId?: string } | undefined)?.runId, secondChild);
    const childRun = await childState(engine(), secondChild);
    assert.deepEqual(childRun.steps.map((s) => [s.id, s.status]), [['again-a', 'reused'], ['again-b', 'succeeded']]);
    assert.equal(engine().fake.callsOf(secondChild, 'again-a').length, 0, "the child's succeeded step did not run again");
    assert.deepEqual((await engine().store.getRun(secondChild))?.trigger, { kind: 'pipeline', origin: 'again-parent-2/report' });
  });

  test('a start delivered twice starts one child: the second call follows the run the first one started', async () => {
    const { child, parent } = family('twice');
    engine().deploy(child, parent);
    const adapter = createPipelineAdapter({ catalog: { get: (name) => (name === child.name ? child : undefined) }, store: engine().store, now: () => engine().host.now() });
    const step = parent.steps.find((s) => s.id === 'report');
    assert.equal(step?.kind, 'pipeline');
    if (step?.kind !== 'pipeline') return;
    const lines: string[] = [];
    const ctx = {
      runId: 'twice-parent-1', pipeline: parent.name, stepId: 'report', attempt: 1, parameters: { day: '2026-03-01' }, trigger: { kind: 'manual' as const },
      upstream: { 'export.output.rows': 7 }, secrets: { get: () => Promise.resolve(''), invalidate: () => undefined }, settings: () => undefined,
      log: createLogger({ level: 'silent' }), report: (line: { msg: string }) => void lines.push(line.msg), durable: engine().host.client,
    };
    // The child may well have ended by the second call (the host runs it meanwhile): either answer is the child's.
    await adapter.start(step, ctx);
    await adapter.start(step, ctx);
    const childId = childRunId(child.name, 'twice-parent-1', 'report', 1);
    assert.deepEqual(lines.filter((l) => /^(started|following) child run/.test(l)), [`started child run ${childId} (${child.name})`, `following child run ${childId} (${child.name})`]);
    assert.equal(engine().host.instanceIds().filter((id) => id.startsWith(`${child.name}-child-`)).length, 1);
    await engine().host.waitFor(childId, { timeoutMs: 300_000 });
  });

  test("the run store down: a poll reads the child's Durable status and keeps following it; a cancel (the parent step's timeout) still reaches the child", async () => {
    const { child, parent } = family('down');
    engine().deploy(child, parent);
    engine().fake.script('down-a', [{ running: { polls: 100, pollAfterSeconds: 60 } }]);
    const real = engine().store;
    let down = false;
    // The Table service unreachable for the reads and writes the adapter makes after its start.
    const store = new Proxy(real, {
      get(target, prop, receiver) {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]): unknown => (down && (prop === 'getRun' || prop === 'claimCancel') ? Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:10002')) : (value as (...a: unknown[]) => unknown).apply(target, args));
      },
    });
    const adapter = createPipelineAdapter({ catalog: { get: (name) => (name === child.name ? child : undefined) }, store, now: () => engine().host.now() });
    const step = parent.steps.find((s) => s.id === 'report');
    if (step?.kind !== 'pipeline' || !adapter.poll || !adapter.cancel) throw new Error('no pipeline step, or an adapter that neither polls nor cancels');
    const ctx = {
      runId: 'down-parent-1', pipeline: parent.name, stepId: 'report', attempt: 1, parameters: { day: '2026-03-01' }, trigger: { kind: 'manual' as const },
      upstream: { 'export.output.rows': 7 }, secrets: { get: () => Promise.resolve(''), invalidate: () => undefined }, settings: () => undefined,
      log: createLogger({ level: 'silent' }), durable: engine().host.client,
    };
    const started = await adapter.start(step, ctx);
    assert.equal(started.status, 'running');
    const childId = childRunId(child.name, 'down-parent-1', 'report', 1);
    await engine().host.advance(60_000);
    down = true;
    const polled = await adapter.poll(step, { childRunId: childId }, ctx);
    assert.equal(polled.status, 'running', 'the attempt goes on following its child: a failed poll would fail it, and its retry would start a second child');
    await adapter.cancel(step, { childRunId: childId }, ctx);
    down = false;
    const childRun = await childState(engine(), childId);
    assert.equal(childRun.status, 'cancelled', 'the child does not run on beside the next attempt');
    assert.match(childRun.error?.message ?? '', /by run down-parent-1/);
  });
});

describe('a pipeline as a step, every step notice lost', () => {
  // Every `stepDone` notice fails: the run learns its steps' ends by checking in (reconcileRun), and
  // the pipeline step learns its child's end by reading the child's record and status.
  const engine = engineHostForSuite({ notifyStepDone: () => Promise.reject(new Error('storage unreachable')), historyBound: 60 });

  test("the parent still learns the child's end, across continues-as-new", async () => {
    const { child, parent } = family('lost');
    engine().deploy(child);
    engine().fake.script('export', [EXPORTED]).script('lost-a', [{ running: { polls: 20, pollAfterSeconds: 60 } }]);
    const run = await engine().run(parent, 'lost-parent-1');
    assert.equal(run.status, 'succeeded');
    assert.equal(stepOf(run, 'report')?.status, 'succeeded');
    assert.equal((await engine().store.getRun(childRunId(child.name, 'lost-parent-1', 'report', 1)))?.status, 'succeeded');
    assert.ok(engine().host.executions('lost-parent-1').length > 1, 'the parent continued as new while its child ran');
  });
});

/**
 * A child that ends wakes its parent's step at once (src/steps/pipeline/wakeParent.ts); the step's
 * polls, every 5 min by default, only catch a lost wake. The child's job polls every 47 s, so its
 * end falls between the parent's polls whatever their interval (30 s, 1 min or 5 min).
 */
async function runWithSlowChild(engine: EngineHost, prefix: string) {
  const { child, parent } = family(prefix, {}, null);
  engine.deploy(child);
  engine.fake.script('export', [EXPORTED]).script(`${prefix}-a`, [{ running: { polls: 3, pollAfterSeconds: 47 } }]);
  const runId = `${prefix}-parent-1`;
  const run = await engine.run(parent, runId);
  const childRun = await childState(engine, childRunId(child.name, runId, 'report', 1));
  const report = stepOf(run, 'report');
  assert.equal(run.status, 'succeeded');
  assert.equal(parent.steps.find((s) => s.id === 'report')?.pollInterval, 300, 'a pipeline step polls every 5 min unless told otherwise');
  const startedMs = Date.parse(report?.attempts[0]?.startedAt ?? '');
  const childEndMs = Date.parse(childRun.endedAt ?? '');
  const stepEndMs = Date.parse(report?.attempts[0]?.endedAt ?? '');
  assert.ok(Number.isFinite(startedMs) && Number.isFinite(childEndMs) && Number.isFinite(stepEndMs), 'the step and the child have their instants');
  return { startedMs, childEndMs, stepEndMs };
}

describe('a pipeline step learns its child ended', () => {
  const engine = engineHostForSuite();

  test("at the child's end instant: the child wakes the parent's step, which does not wait for its next poll", async () => {
    const { startedMs, childEndMs, stepEndMs } = await runWithSlowChild(engine(), 'wake');
    assert.ok(childEndMs - startedMs < 300_000, 'the child ends before the first poll');
    assert.equal(new Date(stepEndMs).toISOString(), new Date(childEndMs).toISOString(), 'the step ends when its child ends');
  });

  test("a wake is best-effort: a parent already ended, one that never polled, a duplicate or a crafted trigger fail nothing and wake no one else", async () => {
    const { child } = family('wake');
    const childId = childRunId(child.name, 'wake-parent-1', 'report', 1);
    const warnings: string[] = [];
    const log = { info: () => undefined, warn: (_fields: object, msg: string) => void warnings.push(msg) } as unknown as Parameters<typeof wakeParentStep>[2];
    const raised: string[] = [];
    const client = { raiseEvent: (id: string, name: string, data: unknown) => (raised.push(id), engine().host.client.raiseEvent(id, name, data)) };
    const trigger = { kind: 'pipeline' as const, origin: 'wake-parent-1/report' };
    assert.equal(parentPoller({ runId: childId, pipeline: child.name }, trigger), 'wake-parent-1:report:1');
    // The parent's step ended above: Durable answers 410, which raiseEvent takes as done — twice.
    await wakeParentStep({ run: { runId: childId, pipeline: child.name }, trigger }, client, log);
    await wakeParentStep({ run: { runId: childId, pipeline: child.name }, trigger }, client, log);
    assert.deepEqual(warnings, []);
    // A child of attempt 2 whose parent never started polling: 404, logged, not thrown.
    const ghost = childRunId(child.name, 'ghost-parent', 'report', 2);
    await wakeParentStep({ run: { runId: ghost, pipeline: child.name }, trigger: { kind: 'pipeline', origin: 'ghost-parent/report' } }, client, log);
    assert.equal(warnings.length, 1, 'the lost wake is logged');
    // A run whose trigger names a parent it is not the child of, a rerun, a run with no parent: no event.
    await wakeParentStep({ run: { runId: 'crafted-1', pipeline: child.name }, trigger }, client, log);
    await wakeParentStep({ run: { runId: childId, pipeline: child.name }, trigger: { kind: 'rerun', origin: 'wake-parent-1' } }, client, log);
    await wakeParentStep({ run: { runId: childId, pipeline: child.name }, trigger: { kind: 'manual' } }, client, log);
    assert.deepEqual(raised, ['wake-parent-1:report:1', 'wake-parent-1:report:1', 'ghost-parent:report:2']);
  });
});

describe('a pipeline step learns its child ended, every wake lost', () => {
  const engine = engineHostForSuite({ dropWakes: true });

  test('at its next poll: polling is the fallback for a lost wake', async () => {
    const { startedMs, childEndMs, stepEndMs } = await runWithSlowChild(engine(), 'nowake');
    // A first check 30 s after the start (adapter.ts FIRST_CHECK_SECONDS), then every pollInterval (300 s).
    const firstCheckMs = startedMs + 30_000;
    assert.ok(childEndMs > firstCheckMs, 'the child outlives the first check');
    const nextPollMs = firstCheckMs + Math.ceil((childEndMs - firstCheckMs) / 300_000) * 300_000;
    assert.ok(nextPollMs > childEndMs, "the child's end falls between two polls");
    assert.equal(new Date(stepEndMs).toISOString(), new Date(nextPollMs).toISOString(), 'the step ends at the first poll after its child ended');
  });
});

describe('pipeline steps at load', () => {
  const base = (name: string, steps: PipelineInput['steps'], extra: Partial<PipelineInput> = {}): PipelineInput => ({ name, title: name, steps, ...extra });
  const problems = (inputs: PipelineInput[], projects?: Parameters<typeof loadCatalog>[1]): string[] => {
    try {
      loadCatalog(inputs, projects);
      return [];
    } catch (error) {
      return ((error as { problems?: { path: string; message: string }[] }).problems ?? []).map((p) => `${p.path}: ${p.message}`);
    }
  };
  const child = base('child', [{ id: 'a', kind: 'azureFunction', url: 'https://x.test' }], { parameters: { day: { type: 'date' }, n: { type: 'integer', default: 1 } } });

  test('an unknown pipeline, unknown or missing parameters and a type that does not fit are refused, naming the path', () => {
    assert.deepEqual(problems([child, base('p', [{ id: 'call', kind: 'pipeline', pipeline: 'chld' }])]), ['p.steps[0].pipeline: unknown pipeline "chld" (known: child, p)']);
    assert.deepEqual(problems([child, base('p', [{ id: 'call', kind: 'pipeline', pipeline: 'child', parameters: { dya: '2026-01-01' } }])]), [
      'p.steps[0].parameters.dya: unknown parameter "dya" (declared by child: day, n)',
      'p.steps[0].parameters.day: required date parameter is missing: give it in the step\'s parameters',
    ]);
    assert.deepEqual(
      problems([child, base('p', [{ id: 'call', kind: 'pipeline', pipeline: 'child', parameters: { day: '2026-01-01', n: { param: 'flag' } } }], { parameters: { flag: { type: 'boolean', default: true } } })]),
      ['p.steps[0].parameters.n: gives boolean: parameter "n" of child is integer'],
    );
    assert.deepEqual(problems([child, base('p', [{ id: 'call', kind: 'pipeline', pipeline: 'child', parameters: { day: 'yesterday' } }])]), ['p.steps[0].parameters.day: expected a calendar date as YYYY-MM-DD']);
    assert.deepEqual(problems([child, base('p', [{ id: 'call', kind: 'pipeline', pipeline: 'child', parameters: { day: '{run.logicalDate}' } }])]), []);
  });

  test('cycles are refused naming the chain: a → b → a, through forEach, and longer chains', () => {
    const calls = (name: string, to: string, forEach = false): PipelineInput =>
      base(name, [{ id: 'call', kind: 'pipeline', pipeline: to, ...(forEach ? { forEach: { items: { param: 'xs' } } } : {}) }], forEach ? { parameters: { xs: { type: 'list', default: [1] } } } : {});
    assert.deepEqual(problems([calls('a', 'b'), calls('b', 'a')]), ['a.steps[0].pipeline: pipelines call each other in a cycle: a → b → a', 'b.steps[0].pipeline: pipelines call each other in a cycle: b → a → b']);
    assert.deepEqual(problems([calls('a', 'b', true), calls('b', 'c'), calls('c', 'a')]).slice(0, 1), ['a.steps[0].pipeline: pipelines call each other in a cycle: a → b → c → a']);
    assert.deepEqual(problems([calls('a', 'a')]), ['a.steps[0].pipeline: pipelines call each other in a cycle: a → a']);
  });

  test("a pipeline of another project is refused: a child would run outside the caller's project", () => {
    const other = { ...child, project: 'finance' };
    assert.deepEqual(problems([other, base('p', [{ id: 'call', kind: 'pipeline', pipeline: 'child', parameters: { day: '2026-01-01' } }])], { projects: { finance: {} } }), [
      'p.steps[0].pipeline: pipeline "child" belongs to project "finance", not "default": a pipeline step calls pipelines of its own project only',
    ]);
  });
});
