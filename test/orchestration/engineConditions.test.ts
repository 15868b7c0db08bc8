/**
 * Dependency conditions, `when`, and step outputs as inputs (docs/pipelines.md, sections 1 and 2),
 * run by the engine in virtual time. The host's history bound is low, so runs continue as new
 * mid-way and the referenced values must cross the continue. Every finished run is replayed from
 * scratch at the end of the suite (the determinism check).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Json } from '../../src/core/json';
import type { PipelineInput } from '../../src/pipelines/schema';
import { validatePipeline } from '../../src/pipelines/validate';
import { engineHostForSuite, snowflakeConnection } from './engineHarness';

const received: { runId: string; stepId: string; input: Json | undefined }[] = [];

function definition(name: string, extra: Partial<PipelineInput> = {}, steps?: PipelineInput['steps']): PipelineInput {
  return {
    name,
    title: name,
    parameters: { mode: { type: 'string', default: 'full' } },
    steps: steps ?? [
      { id: 'export', kind: 'azureFunction', url: 'https://example.test/export', output: { object: { tables: { list: 'string' }, folder: 'string' } } },
      {
        id: 'load',
        kind: 'snowflake',
        dependsOn: ['export'],
        when: "param.mode == 'full' and not empty(steps.export.output.tables)",
        connection: snowflakeConnection,
        statement: { copyInto: { table: 'RAW.EVENTS', stage: 'S', path: 'exports/{steps.export.output.folder}/', fileFormat: { type: 'JSON' } } },
      },
      {
        id: 'transform',
        kind: 'activity',
        activity: 'record',
        dependsOn: ['load'],
        when: 'steps.load.metrics.rowsLoaded > 0',
        input: { rows: { step: 'load', path: 'metrics.rowsLoaded' }, folder: 'day={steps.export.output.folder}', first: { step: 'export', path: 'output.tables.0' } },
      },
      { id: 'cleanup', kind: 'activity', activity: 'record', dependsOn: ['load'], conditions: { load: 'completed' } },
      { id: 'notify', kind: 'activity', activity: 'record', dependsOn: ['load'], conditions: { load: 'failed' } },
      { id: 'nothingToLoad', kind: 'activity', activity: 'record', dependsOn: ['load'], conditions: { load: 'skipped' } },
    ],
    ...extra,
  };
}

function pipelineOf(input: PipelineInput) {
  const checked = validatePipeline(input);
  if (!checked.ok) throw new Error(checked.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  return checked.pipeline;
}

describe('dependency conditions, when, and step outputs as inputs', () => {
  const engine = engineHostForSuite({
    historyBound: 70,
    userActivities: {
      record: (input) => {
        received.push({ runId: input.runId, stepId: input.stepId, input: input.input });
        if (input.stepId === 'notify' && input.runId.includes('handler-fails')) return Promise.reject(new Error('incident tool down'));
        return Promise.resolve({ ok: true });
      },
    },
  });
  const statuses = (run: { steps: readonly { id: string; status: string }[] }) => Object.fromEntries(run.steps.map((s) => [s.id, s.status]));
  const exported = { ok: { output: { tables: ['orders', 'customers'], folder: '2026-03-02' } } };

  test('values flow downstream: the activity gets the referenced values filled in, and each step only those it refers to', async () => {
    engine().fake.script('export', [exported]).script('load', [{ ok: { output: { queryId: 'q', files: [], filesTotal: 2 }, metrics: { rowsLoaded: 42 } } }]);
    const run = await engine().run(pipelineOf(definition('flow')), 'flow-1');

    assert.equal(run.status, 'succeeded');
    assert.deepEqual(statuses(run), { export: 'succeeded', load: 'succeeded', transform: 'succeeded', cleanup: 'succeeded', notify: 'skipped', nothingToLoad: 'skipped' });
    assert.deepEqual(received.find((r) => r.runId === 'flow-1' && r.stepId === 'transform')?.input, { rows: 42, folder: 'day=2026-03-02', first: 'orders' });
    assert.deepEqual(engine().fake.callsOf('flow-1', 'load')[0]?.upstream, { 'export.output.folder': '2026-03-02' }, 'load gets the folder its path refers to, nothing else');
    assert.equal(engine().fake.callsOf('flow-1', 'export')[0]?.upstream, undefined);
    assert.deepEqual(run.steps.find((s) => s.id === 'notify')?.error, { class: 'permanent', code: 'condition-unmet', message: 'dependency "load" succeeded (waits for failed)' });
  });

  test('when is false: the step is skipped with the reason, its succeeded-dependents are skipped, a skipped-dependent runs', async () => {
    engine().fake.script('export', [{ ok: { output: { tables: [], folder: '2026-03-02' } } }]);
    const run = await engine().run(pipelineOf(definition('empty')), 'empty-1');

    assert.equal(run.status, 'succeeded');
    assert.equal(engine().fake.callsOf('empty-1', 'load').length, 0, 'load never started');
    assert.deepEqual(statuses(run), { export: 'succeeded', load: 'skipped', transform: 'skipped', cleanup: 'skipped', notify: 'skipped', nothingToLoad: 'succeeded' });
    const load = run.steps.find((s) => s.id === 'load');
    assert.equal(load?.error?.message, "when is false: param.mode == 'full' and not empty(steps.export.output.tables)");
    assert.equal(load?.attempts.length, 0);
    assert.equal(run.steps.find((s) => s.id === 'transform')?.error?.message, 'dependency "load" skipped (waits for succeeded)');
  });

  test('when reads parameters: mode=incremental skips the load', async () => {
    engine().fake.script('export', [exported]);
    const run = await engine().run(pipelineOf(definition('incremental')), 'incr-1', { parameters: { mode: 'incremental' } });
    assert.equal(statuses(run)['load'], 'skipped');
    assert.equal(run.status, 'succeeded');
  });

  test('a failure handled by a `failed` dependent that succeeded: clean-up and handler run, the run succeeds, the failed step keeps its attempts', async () => {
    engine().fake.script('export', [exported]).script('load', [{ fail: 'permanent', message: 'COPY failed: table missing' }]);
    const run = await engine().run(pipelineOf(definition('handled')), 'handled-1');

    assert.deepEqual(statuses(run), { export: 'succeeded', load: 'failed', transform: 'skipped', cleanup: 'succeeded', notify: 'succeeded', nothingToLoad: 'skipped' });
    assert.equal(run.status, 'succeeded', 'notify handled the failure of load');
    assert.equal(run.error, undefined);
    assert.equal(run.steps.find((s) => s.id === 'load')?.attempts.length, 1);
  });

  test('the handler fails too: the run fails with the first unhandled failed step (load)', async () => {
    engine().fake.script('export', [exported]).script('load', [{ fail: 'permanent', message: 'COPY failed: table missing' }]);
    const run = await engine().run(pipelineOf(definition('handler')), 'handler-fails-1');
    assert.equal(statuses(run)['notify'], 'failed');
    assert.equal(run.status, 'failed');
    assert.equal(run.error?.stepId, 'load');
  });

  test('clean-up on completion alone does not hide the failure (unlike ADF and Airflow leaf rules)', async () => {
    const steps = definition('x').steps.filter((s) => s.id !== 'notify');
    engine().fake.script('export', [exported]).script('load', [{ fail: 'permanent', message: 'COPY failed' }]);
    const run = await engine().run(pipelineOf(definition('cleanup-only', {}, steps)), 'cleanup-only-1');
    assert.equal(statuses(run)['cleanup'], 'succeeded');
    assert.equal(run.status, 'failed');
    assert.equal(run.error?.stepId, 'load');
  });

  test('a referenced value over 8 KiB fails the step that needs it, without an attempt', async () => {
    const folder = 'f'.repeat(9000);
    engine().fake.script('export', [{ ok: { output: { tables: ['t'], folder } } }]);
    const run = await engine().run(pipelineOf(definition('oversize')), 'oversize-1');
    const load = run.steps.find((s) => s.id === 'load');
    assert.equal(load?.status, 'failed');
    assert.equal(load?.attempts.length, 0);
    assert.equal(load?.error?.code, 'reference-too-large');
    assert.match(load?.error?.message ?? '', /steps\.export\.output\.folder is 9,002 bytes, over the 8 KiB/);
    assert.equal(run.status, 'succeeded', 'notify handled it');
  });

  test('a when that cannot be evaluated fails the step permanently, naming the expression', async () => {
    const steps: PipelineInput['steps'] = [
      { id: 'export', kind: 'azureFunction', url: 'https://example.test/export' },
      { id: 'load', kind: 'activity', activity: 'record', dependsOn: ['export'], when: 'steps.export.output.count > 3' },
    ];
    engine().fake.script('export', [{ ok: { output: { count: 'many' } } }]);
    const run = await engine().run(pipelineOf(definition('bad-when', {}, steps)), 'bad-when-1');
    const load = run.steps.find((s) => s.id === 'load');
    assert.equal(load?.status, 'failed');
    assert.equal(load?.error?.code, 'when-error');
    assert.match(load?.error?.message ?? '', /compares two numbers or two texts, got string "many" and number 3/);
    assert.equal(run.status, 'failed');
  });

  test('values survive a continue-as-new and a rerun from failed (reused steps bring their output)', async () => {
    // Many parallel steps push the run past its low history bound before transform starts.
    const wide: PipelineInput['steps'] = Array.from({ length: 14 }, (_, i) => ({ id: `w${i}`, kind: 'activity' as const, activity: 'record', dependsOn: ['export'] }));
    const base = definition('continued').steps;
    const steps = [...base.slice(0, 2), ...wide, { ...base[2]!, dependsOn: ['load', ...wide.map((w) => w.id)] }];
    engine().fake.script('export', [exported]).script('load', [{ ok: { metrics: { rowsLoaded: 7 } } }]);
    const run = await engine().run(pipelineOf(definition('continued', {}, steps)), 'continued-1');
    assert.equal(run.status, 'succeeded');
    assert.ok(engine().host.executions('continued-1').length > 1, 'the run continued as new');
    assert.deepEqual(received.find((r) => r.runId === 'continued-1' && r.stepId === 'transform')?.input, { rows: 7, folder: 'day=2026-03-02', first: 'orders' });

    const rerun = await engine().run(pipelineOf(definition('continued', {}, steps)), 'continued-2', {
      trigger: { kind: 'rerun', origin: 'continued-1' },
      resumeFrom: {
        runId: 'continued-1',
        steps: Object.fromEntries(run.steps.filter((s) => s.id !== 'transform').map((s) => [s.id, { fromRunId: 'continued-1', ...(s.output === undefined ? {} : { output: s.output }), ...(s.metrics === undefined ? {} : { metrics: s.metrics }) }])),
      },
    });
    assert.equal(rerun.status, 'succeeded');
    assert.deepEqual(received.find((r) => r.runId === 'continued-2' && r.stepId === 'transform')?.input, { rows: 7, folder: 'day=2026-03-02', first: 'orders' });
  });
});
