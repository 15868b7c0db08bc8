/**
 * forEach (docs/pipelines.md, section 3) in virtual time: items over a parameter and over an
 * upstream result, the step's own maxParallel, the item outputs list and summed metrics, a failed
 * item failing the step after the others (or at once with failFast), a rerun from failed running
 * only the failed items, and a run long enough to continue as new. Every finished run is replayed
 * from scratch at the end (the determinism check).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { PipelineInput } from '../../src/pipelines/schema';
import { validatePipeline } from '../../src/pipelines/validate';
import type { RunState } from '../../src/engine/types';
import { engineHostForSuite, secondsBetween, snowflakeConnection, START } from './engineHarness';

function pipelineOf(input: PipelineInput) {
  const checked = validatePipeline(input);
  if (!checked.ok) throw new Error(checked.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  return checked.pipeline;
}

const load = (forEach: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  id: 'load',
  kind: 'snowflake' as const,
  connection: snowflakeConnection,
  statement: { copyInto: { table: 'RAW.EVENTS', stage: 'S', path: 'exports/{item}/', fileFormat: { type: 'JSON' as const } } },
  forEach,
  ...extra,
});

function overParameter(name: string, forEach: Record<string, unknown> = {}, extraSteps: PipelineInput['steps'] = []): PipelineInput {
  return {
    name,
    title: name,
    parameters: { tables: { type: 'list', default: ['a', 'b', 'c', 'd', 'e'] } },
    steps: [load({ items: { param: 'tables' }, ...forEach }) as PipelineInput['steps'][number], ...extraSteps],
  };
}

const noopCalls: { runId: string; input: unknown }[] = [];

const byId = (run: RunState, id: string) => run.steps.find((s) => s.id === id);

describe('forEach', () => {
  const engine = engineHostForSuite({
    historyBound: 120,
    userActivities: {
      noop: (input) => {
        noopCalls.push({ runId: input.runId, input: input.input });
        return Promise.resolve({ done: input.stepId });
      },
    },
  });

  test('each item runs the step with its item; at most maxParallel at once; output is the items’ outputs in order, metrics summed', async () => {
    for (const t of ['a', 'b', 'c', 'd', 'e']) engine().fake.script(`load[${'abcde'.indexOf(t)}]`, [{ running: { polls: 1, pollAfterSeconds: 60, then: { ok: { output: { table: t }, metrics: { rowsLoaded: 10 } } } } }]);
    const run = await engine().run(pipelineOf(overParameter('fe-basic', { maxParallel: 2 }, [{ id: 'after', kind: 'activity', activity: 'noop', dependsOn: ['load'], when: 'steps.load.metrics.rowsLoaded == 50' }])), 'fe-basic-1');

    assert.equal(run.status, 'succeeded', JSON.stringify(run.steps.map((s) => [s.id, s.status, s.error?.message])));
    const step = byId(run, 'load');
    assert.equal(step?.status, 'succeeded');
    assert.deepEqual(step?.output, [{ table: 'a' }, { table: 'b' }, { table: 'c' }, { table: 'd' }, { table: 'e' }]);
    assert.deepEqual(step?.metrics, { rowsLoaded: 50 });
    assert.deepEqual(step?.items, { total: 5, succeeded: 5 });
    const starts = [0, 1, 2, 3, 4].map((i) => engine().fake.callsOf('fe-basic-1', `load[${i}]`)[0]!.at);
    // Two at a time, each 2 minutes (start, one poll at 60 s, done at 120 s): 0, 0, 2, 2, 4 minutes.
    assert.deepEqual(starts.map((at) => secondsBetween(START, at)), [0, 0, 120, 120, 240]);
    assert.equal(byId(run, 'after')?.status, 'succeeded', 'the summed metric reached the when');
  });

  test('a forEach step whose failure a `failed` dependent handled leaves the run succeeded (its failed items are handled with it)', async () => {
    engine().fake.script('load[2]', [{ fail: 'permanent', message: 'no such folder' }]);
    const run = await engine().run(
      pipelineOf(overParameter('fe-handled', { maxParallel: 5 }, [{ id: 'notify', kind: 'activity', activity: 'noop', dependsOn: ['load'], conditions: { load: 'failed' } }])),
      'fe-handled-1',
    );
    assert.equal(byId(run, 'load')?.status, 'failed', 'the step keeps its failure');
    assert.equal(byId(run, 'notify')?.status, 'succeeded');
    assert.equal(run.status, 'succeeded', `docs/pipelines.md: a handled failure does not fail the run (${JSON.stringify(run.error)})`);
  });

  test('a failed item fails the step after the others finished (finishOthers); each item keeps its attempts', async () => {
    engine().fake.script('load[1]', [{ fail: 'permanent', message: 'no such folder' }]);
    const run = await engine().run(pipelineOf(overParameter('fe-fail', { maxParallel: 5 })), 'fe-fail-1');
    assert.equal(run.status, 'failed');
    const step = byId(run, 'load');
    assert.equal(step?.status, 'failed');
    assert.match(step?.error?.message ?? '', /^1 of 5 items did not succeed; item 1: no such folder/);
    assert.deepEqual(step?.items, { total: 5, succeeded: 4, failed: 1 });
    assert.equal((step?.output as unknown[]).length, 5);
    assert.equal((step?.output as unknown[])[1], null, 'the failed item has no output');
    assert.equal(run.error?.stepId, 'load');
  });

  test('failFast: after a failure no further item starts and the step fails at once', async () => {
    engine().fake.script('load[0]', [{ fail: 'permanent', message: 'boom' }]);
    const run = await engine().run(pipelineOf(overParameter('fe-fast', { maxParallel: 1, onItemFailure: 'failFast' })), 'fe-fast-1');
    assert.equal(byId(run, 'load')?.status, 'failed');
    assert.deepEqual(byId(run, 'load')?.items, { total: 5, failed: 1, skipped: 4 });
    for (const i of [1, 2, 3, 4]) assert.equal(engine().fake.callsOf('fe-fast-1', `load[${i}]`).length, 0);
  });

  test('rerun from failed re-runs only the failed items, reusing the others', async () => {
    engine().fake.script('load[3]', [{ fail: 'permanent', message: 'bad file' }]);
    const first = await engine().run(pipelineOf(overParameter('fe-rerun', { maxParallel: 5 })), 'fe-rerun-1');
    assert.equal(first.status, 'failed');
    const carried = Object.fromEntries(first.steps.filter((s) => s.status === 'succeeded').map((s) => [s.id, { fromRunId: 'fe-rerun-1', ...(s.output === undefined ? {} : { output: s.output }) }]));
    const rerun = await engine().run(pipelineOf(overParameter('fe-rerun', { maxParallel: 5 })), 'fe-rerun-2', { trigger: { kind: 'rerun', origin: 'fe-rerun-1' }, resumeFrom: { runId: 'fe-rerun-1', steps: carried } });
    assert.equal(rerun.status, 'succeeded');
    assert.deepEqual([0, 1, 2, 3, 4].map((i) => engine().fake.callsOf('fe-rerun-2', `load[${i}]`).length), [0, 0, 0, 1, 0]);
    assert.deepEqual(byId(rerun, 'load')?.items, { total: 5, reused: 4, succeeded: 1 });
  });

  test('a cancel while items run: items in flight cancelled, items not started skipped, the step cancelled (not failed), the run cancelled', async () => {
    const cancelled = async (runId: string, maxParallel: number): Promise<RunState> => {
      for (let i = 0; i < 5; i++) engine().fake.script(`load[${i}]`, [{ running: { polls: 10, pollAfterSeconds: 60, then: { ok: { output: { i } } } } }]);
      await engine().start(pipelineOf(overParameter(runId, { maxParallel })), runId);
      await engine().host.advance(120_500);
      await engine().cancel(runId, 'operator request');
      return (await engine().host.waitFor(runId)).output as RunState;
    };
    // Every item in flight at the cancel: each ends cancelled, and so does the step.
    const all = await cancelled('fe-cancel-all', 5);
    assert.equal(all.status, 'cancelled');
    assert.equal(byId(all, 'load')?.status, 'cancelled', JSON.stringify(all.steps.map((x) => [x.id, x.status, x.attempts.length])));
    assert.equal(byId(all, 'load')?.error?.message, 'run cancelled');
    assert.deepEqual(byId(all, 'load')?.items, { total: 5, cancelled: 5 });
    // Two in flight, three not started yet.
    const some = await cancelled('fe-cancel-some', 2);
    assert.equal(byId(some, 'load')?.status, 'cancelled');
    assert.deepEqual([0, 1, 2, 3, 4].map((i) => byId(some, `load[${i}]`)?.status), ['cancelled', 'cancelled', 'skipped', 'skipped', 'skipped']);
  });

  test('a pipeline retry runs a failed item again once, its attempt numbers continuing (a one-item list: the item ran inline)', async () => {
    engine().fake.script('load[0]', [{ fail: 'permanent', message: 'no such folder' }, { ok: { output: { i: 0 } } }]);
    const run = await engine().run(
      pipelineOf({ ...overParameter('fe-retry-one'), parameters: { tables: { type: 'list', default: ['a'] } }, pipelineRetry: { retries: 1, delay: 60, retryPermanent: true } }),
      'fe-retry-one-1',
      { parameters: { tables: ['a'] } },
    );
    assert.equal(run.status, 'succeeded', JSON.stringify(run.steps.map((x) => [x.id, x.status, x.error?.message])));
    assert.deepEqual(byId(run, 'load[0]')?.attempts.map((a) => [a.attempt, a.status]), [[1, 'failed'], [2, 'succeeded']]);
    assert.equal(engine().fake.callsOf('fe-retry-one-1', 'load[0]').length, 2);
  });

  test('the live status lists the items in flight one by one and the others as counts on their step, however many items', async () => {
    const tables = Array.from({ length: 30 }, (_, i) => `t${i}`);
    for (let i = 0; i < tables.length; i++) engine().fake.script(`load[${i}]`, [{ running: { polls: 1, pollAfterSeconds: 60, then: { ok: { output: { i } } } } }]);
    await engine().start(pipelineOf({ ...overParameter('fe-live', { maxParallel: 3 }), parameters: { tables: { type: 'list', default: tables } } }), 'fe-live-1', { parameters: { tables } });
    await engine().host.advance(10 * 60_000 + 30_000);
    const live = engine().host.status('fe-live-1')?.customStatus as RunState;
    const items = live.steps.filter((s) => s.id.startsWith('load['));
    assert.ok(items.length > 0 && items.length <= 3, `items listed: ${items.map((s) => `${s.id} ${s.status}`).join(', ')}`);
    assert.ok(items.every((s) => s.status === 'running'));
    const counts = byId(live, 'load')?.items;
    assert.equal(counts?.['total'], 30);
    assert.ok((counts?.['succeeded'] ?? 0) >= 1 && (counts?.['pending'] ?? 0) > 0, JSON.stringify(counts));
    const run = (await engine().host.waitFor('fe-live-1')).output as RunState;
    // The run's output keeps every item.
    assert.equal(run.steps.filter((s) => s.id.startsWith('load[')).length, 30);
  });

  test('items from an upstream result, over enough items to continue as new; the item value reaches the activity', async () => {
    const names = Array.from({ length: 40 }, (_, i) => ({ table: `t${i}` }));
    engine().fake.script('export', [{ ok: { output: { tables: names } } }]);
    const seen: string[] = [];
    const run = await engine().run(
      pipelineOf({
        name: 'fe-upstream',
        title: 'fe',
        steps: [
          { id: 'export', kind: 'azureFunction', url: 'https://x.test', output: { object: { tables: { list: { object: { table: 'string' } } } } } },
          { id: 'copy', kind: 'activity', activity: 'noop', dependsOn: ['export'], input: { table: { item: 'table' }, path: 'x/{item.table}' }, forEach: { items: { step: 'export', path: 'output.tables' }, maxParallel: 4 } },
        ],
      }),
      'fe-upstream-1',
    );
    for (const c of noopCalls) if (c.runId === 'fe-upstream-1') seen.push(JSON.stringify(c.input));
    assert.equal(run.status, 'succeeded', JSON.stringify(run.steps.map((s) => [s.id, s.status, s.error?.message])));
    assert.ok(engine().host.executions('fe-upstream-1').length > 1, 'the run continued as new');
    assert.equal(seen.length, 40);
    assert.ok(seen.includes(JSON.stringify({ table: 't17', path: 'x/t17' })));
    assert.deepEqual(byId(run, 'copy')?.items, { total: 40, succeeded: 40 });
    assert.equal((byId(run, 'copy')?.output as unknown[]).length, 40);
  });
});
