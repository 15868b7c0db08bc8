import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { validatePipeline } from '../../src/pipelines/validate';
import { pipelineSchema } from '../../src/pipelines/schema';
import { fillJson, fillTemplate, MissingRunValueError, type RunValues } from '../../src/pipelines/runValues';
import { PermanentError } from '../../src/core/errors';
import { dbtArgv, dbtCommandLine } from '../../src/steps/dbt/common';
import { prepareAzureFunctionCall } from '../../src/steps/azureFunction';
import dataPipeline from '../../src/pipelines/definitions/data-pipeline';

type Loose = { name: string; parameters: Record<string, unknown>; steps: Record<string, unknown>[]; [key: string]: unknown };
const seed = (): Loose => structuredClone(dataPipeline);

function problemsOf(input: unknown): string[] {
  const result = validatePipeline(input);
  return result.ok ? [] : result.problems.map((p) => `${p.path}: ${p.message}`);
}

const manual: RunValues = { runId: 'data-pipeline-20261127T101500Z-abc123', parameters: { day: '2026-11-26', fullRefresh: true, limit: 5 }, trigger: { requestedAt: '2026-11-27T10:15:00.000Z' } };
const scheduled: RunValues = { ...manual, trigger: { scheduledFor: '2026-11-28T01:00:00.000Z' } };

void describe('run values in a definition are checked when it loads', () => {
  void test('the seed pipeline, whose COPY INTO path takes {param.day}, is valid', () => {
    assert.deepEqual(problemsOf(seed()), []);
  });

  void test('an unknown parameter in the stage path is named with the step path', () => {
    const p = seed();
    ((p.steps[1]!['statement'] as Record<string, Record<string, unknown>>)['copyInto']!)['path'] = 'orders/{param.dya}/';
    assert.deepEqual(problemsOf(p), ['data-pipeline.steps[1].statement.copyInto.path: unknown parameter "dya" (declared: day)']);
  });

  void test('unknown parameters and run values in a body, binds and dbt vars are each reported', () => {
    const p = seed();
    p.parameters = {};
    p.steps[0]!['body'] = { action: 'export_to_blob', day: { param: 'day' }, at: '{run.when}' };
    p.steps[2]!['vars'] = { run: { run: 'bogus' } };
    p.steps.push({ id: 'count', kind: 'snowflake', dependsOn: ['load'], connection: p.steps[1]!['connection'], statement: { sql: 'SELECT COUNT(*) FROM t WHERE d = ?', binds: [{ param: 'since' }] } });
    assert.deepEqual(problemsOf(p).sort(), [
      'data-pipeline.steps[0].body.at: unknown run value "when" (one of id, logicalDate, scheduledFor)',
      'data-pipeline.steps[0].body.day: unknown parameter "day" (this pipeline declares no parameters)',
      'data-pipeline.steps[1].statement.copyInto.path: unknown parameter "day" (this pipeline declares no parameters)',
      'data-pipeline.steps[2].vars.run: unknown run value "bogus" (one of id, logicalDate, scheduledFor)',
      'data-pipeline.steps[3].statement.binds[0]: unknown parameter "since" (this pipeline declares no parameters)',
    ]);
  });

  void test('a placeholder in SQL text is refused: values go in as binds, never as SQL', () => {
    const p = seed();
    p.steps[1]!['statement'] = { sql: "DELETE FROM t WHERE d = '{param.day}'" };
    assert.deepEqual(problemsOf(p), [
      'data-pipeline.steps[1].statement.sql: "{param.day}": run values are not taken here (snowflake steps take them in statement.copyInto.path, statement.binds)',
    ]);
  });

  void test('references in fields that take none (URL, dbt args, stage name) are refused', () => {
    const p = seed();
    p.steps[2]!['args'] = ['--select', 'tag:{param.day}'];
    p.steps[0]!['headers'] = { 'x-day': '{param.day}' };
    assert.deepEqual(problemsOf(p).sort(), [
      'data-pipeline.steps[0].headers.x-day: "{param.day}": run values are not taken here (azureFunction steps take them in body)',
      'data-pipeline.steps[2].args[1]: "{param.day}": run values are not taken here (dbt steps take them in vars)',
    ]);
    const q = seed();
    ((q.steps[1]!['statement'] as Record<string, Record<string, unknown>>)['copyInto']!)['path'] = "orders/{param.day}'; DROP TABLE t; --";
    assert.match(problemsOf(q).join('\n'), /steps\[1\]\.statement\.copyInto\.path: stage paths hold letters/);
  });
});

void describe('run values resolve from the run', () => {
  test('templates fill parameters and run facts as text; nothing else in braces is touched', () => {
    assert.equal(fillTemplate('orders/{param.day}/{run.id}/{other}', manual), 'orders/2026-11-26/data-pipeline-20261127T101500Z-abc123/{other}');
    assert.equal(fillTemplate('n={param.limit} full={param.fullRefresh}', manual), 'n=5 full=true');
  });

  test("logicalDate is the scheduled slot's UTC date, or the request's for a manual run", () => {
    assert.equal(fillJson({ run: 'logicalDate' }, scheduled), '2026-11-28');
    assert.equal(fillJson({ run: 'scheduledFor' }, scheduled), '2026-11-28T01:00:00.000Z');
    assert.equal(fillJson({ run: 'logicalDate' }, manual), '2026-11-27');
  });

  test('reference objects keep the value type; a value filled in is never read again as a template', () => {
    assert.deepEqual(fillJson({ full: { param: 'fullRefresh' }, n: { param: 'limit' }, list: ['{param.day}'] }, manual), { full: true, n: 5, list: ['2026-11-26'] });
    assert.equal(fillTemplate('{param.day}', { ...manual, parameters: { day: '{run.id}' } }), '{run.id}');
  });

  test('a run without the value fails the step as permanent, naming it', () => {
    assert.throws(() => fillTemplate('{param.region}', manual), (e: unknown) => e instanceof MissingRunValueError && e instanceof PermanentError && /parameter "region"/.test(e.message));
    assert.throws(() => fillJson({ run: 'logicalDate' }, { ...manual, trigger: {} }), MissingRunValueError);
  });
});

void describe('steps take the run values where a user expects them', () => {
  const pipeline = pipelineSchema.parse({
    ...dataPipeline,
    parameters: { day: { type: 'string', default: '' }, fullRefresh: { type: 'boolean', default: false }, limit: { type: 'integer', default: 1 } },
    steps: dataPipeline.steps.map((s) =>
      s.id === 'export' ? { ...s, body: { action: 'export_to_blob', day: { param: 'day' } } } : s.id === 'transform' ? { ...s, vars: { day: { param: 'day' }, full_refresh: { param: 'fullRefresh' }, run_id: '{run.id}' } } : s,
    ),
  });
  const step = (id: string) => pipeline.steps.find((s) => s.id === id)!;

  test("dbt gets --vars as JSON, quoted for dbt Cloud's step line", () => {
    const transform = step('transform');
    assert.ok(transform.kind === 'dbt');
    assert.deepEqual(dbtArgv(transform, manual), ['run', '--vars', '{"day":"2026-11-26","full_refresh":true,"run_id":"data-pipeline-20261127T101500Z-abc123"}']);
    const hostile = { ...manual, parameters: { ...manual.parameters, day: "x'; rm -rf / #" } };
    assert.equal(dbtCommandLine(transform, hostile), `dbt run --vars '{"day":"x'"'"'; rm -rf / #","full_refresh":true,"run_id":"data-pipeline-20261127T101500Z-abc123"}'`);
  });

  test("the export function's body carries the parameter", async () => {
    const exportStep = step('export');
    assert.ok(exportStep.kind === 'azureFunction');
    const secrets = { get: (name: string) => Promise.resolve(name === 'azure-function-url' ? 'https://fn.example/api/export' : 'key'), invalidate: () => undefined };
    const call = await prepareAzureFunctionCall(exportStep, { ...manual, secrets, settings: () => undefined, stepId: 'export', attempt: 1, trigger: { kind: 'manual', requestedAt: '2026-11-27T10:15:00.000Z' } });
    assert.deepEqual(JSON.parse(call.body ?? 'null'), { action: 'export_to_blob', day: '2026-11-26' });
  });
});
