/**
 * Bad input of every class the API documents, sent to the real app in the development host:
 * each is answered with its status as application/problem+json naming the field at fault, and the
 * app keeps serving afterwards (health, and a run still starts and succeeds).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, type AppHarness, type ApiResponse } from '../support/appHarness';
import { ROUTE_TABLE } from '../../src/api/routes';
import { loadCatalog } from '../../src/pipelines/catalog';
import seed from '../../src/pipelines/definitions/data-pipeline';

interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  invalidFields?: { field: string; message: string }[];
}

let app: AppHarness;
let finishedRunId: string;

before(async () => {
  app = await startApp({ startTime: new Date('2026-11-26T08:00:00Z') });
  // The seed pipeline, and one that takes parameters.
  app.useCatalog(loadCatalog([seed, { ...seed, name: 'backfill', schedules: [], parameters: { day: { type: 'date' }, batch: { type: 'integer', min: 1, default: 10 } } }]));
  // A finished run, for the 409 and the run-scoped cursors.
  const started = await app.api<{ runId: string }>('POST', 'pipelines/data-pipeline/runs', {});
  assert.equal(started.status, 202, started.text);
  finishedRunId = started.json.runId;
  const status = await app.host.waitFor(finishedRunId);
  assert.equal(status.runtimeStatus, 'Completed');
});
after(async () => {
  await app?.stop();
});

function assertProblem(response: ApiResponse, status: number, fields: readonly string[] = []): Problem {
  assert.equal(response.status, status, response.text);
  assert.equal(response.headers.get('content-type'), 'application/problem+json');
  const problem = response.json as Problem;
  assert.equal(problem.status, status);
  assert.ok(problem.title);
  for (const field of fields) {
    assert.ok(
      problem.invalidFields?.some((f) => f.field === field),
      `expected invalidFields to name ${field}, got ${JSON.stringify(problem.invalidFields)}`,
    );
  }
  return problem;
}

describe('bad input is answered, never crashes the app', () => {
  test('malformed JSON → 400 naming the body', async () => {
    assertProblem(await app.api('POST', 'pipelines/data-pipeline/runs', undefined, { rawBody: '{"parameters": ' }), 400, ['body']);
    assertProblem(await app.api('POST', `runs/${finishedRunId}/rerun`, undefined, { rawBody: "{from:'failed'}" }), 400, ['body']);
  });

  test('invalid fields → 400 naming each field', async () => {
    assertProblem(await app.api('POST', 'pipelines/data-pipeline/runs', { idempotencyKey: 42 }), 400, ['body.idempotencyKey']);
    assertProblem(await app.api('POST', 'pipelines/data-pipeline/runs', { idempotencyKey: '' }), 400, ['body.idempotencyKey']);
    assertProblem(await app.api('POST', 'pipelines/data-pipeline/runs', { parameters: [] }), 400, ['body.parameters']);
    assertProblem(await app.api('POST', 'pipelines/data-pipeline/runs', { runNow: true }), 400, ['body.runNow']);
    assertProblem(await app.api('POST', 'pipelines/data-pipeline/runs', [1, 2]), 400, ['body']);
    assertProblem(await app.api('POST', `runs/${finishedRunId}/rerun`, { from: 'nope' }), 400, ['body.from']);
    assertProblem(await app.api('POST', `runs/${finishedRunId}/cancel`, { reason: 'x' }), 400, ['body.reason']);
  });

  test('unknown, missing or ill-typed parameters → 400 naming each', async () => {
    const problem = assertProblem(await app.api('POST', 'pipelines/data-pipeline/runs', { parameters: { fullRefresh: true } }), 400, ['body.parameters.fullRefresh']);
    assert.match(problem.detail ?? '', /fullRefresh/);
    assertProblem(await app.api('POST', 'pipelines/backfill/runs', { parameters: { dya: '2026-11-01' } }), 400, ['body.parameters.dya', 'body.parameters.day']);
    assertProblem(await app.api('POST', 'pipelines/backfill/runs', { parameters: { day: 'yesterday', batch: 0 } }), 400, ['body.parameters.day', 'body.parameters.batch']);
    assertProblem(await app.api('POST', 'pipelines/backfill/runs', { parameters: { day: '2026-11-01', batch: 2.5 } }), 400, ['body.parameters.batch']);
    assert.deepEqual(app.runInstances('backfill'), [], 'no run was started by a refused request');
  });

  test('bad query values → 400 naming the query field', async () => {
    assertProblem(await app.api('GET', 'runs?limit=abc'), 400, ['query.limit']);
    assertProblem(await app.api('GET', 'runs?limit=0'), 400, ['query.limit']);
    assertProblem(await app.api('GET', 'runs?limit=101'), 400, ['query.limit']);
    assertProblem(await app.api('GET', 'runs?status=bogus'), 400, ['query.status']);
    assertProblem(await app.api('GET', 'runs?since=yesterday'), 400, ['query.since']);
    assertProblem(await app.api('GET', 'runs?until=2026-13-45T00:00:00Z'), 400, ['query.until']);
    assertProblem(await app.api('GET', 'runs?since=2026-11-27T00:00:00Z&until=2026-11-26T00:00:00Z'), 400, ['query.since']);
    assertProblem(await app.api('GET', 'runs?colour=red'), 400, ['query.colour']);
    assertProblem(await app.api('GET', 'runs?cursor=not-a-cursor'), 400, ['query.cursor']);
    assertProblem(await app.api('GET', `runs/${finishedRunId}/logs?after=abc`), 400, ['query.after']);
    assertProblem(await app.api('GET', `runs/${finishedRunId}/logs?limit=-1`), 400, ['query.limit']);
  });

  test('unknown pipeline, schedule or run → 404', async () => {
    assertProblem(await app.api('POST', 'pipelines/no-such-pipeline/runs', {}), 404);
    assertProblem(await app.api('GET', 'runs?pipeline=no-such-pipeline'), 404);
    assertProblem(await app.api('POST', 'pipelines/no-such-pipeline/schedules/daily/pause'), 404);
    assertProblem(await app.api('POST', 'pipelines/data-pipeline/schedules/no-such-schedule/resume'), 404);
    const unknownRun = 'data-pipeline-20260101T000000Z-abcdef';
    assertProblem(await app.api('GET', `runs/${unknownRun}`), 404);
    assertProblem(await app.api('GET', `runs/${unknownRun}/logs`), 404);
    assertProblem(await app.api('POST', `runs/${unknownRun}/cancel`), 404);
    assertProblem(await app.api('POST', `runs/${unknownRun}/rerun`, { from: 'failed' }), 404);
    assertProblem(await app.api('GET', `runs/${encodeURIComponent('not a run id!')}`), 404);
  });

  test('cancelling a finished run → 409', async () => {
    const problem = assertProblem(await app.api('POST', `runs/${finishedRunId}/cancel`), 409);
    assert.match(problem.detail ?? '', /succeeded/);
  });

  test('a body over 256 KiB → 413', async () => {
    const big = JSON.stringify({ parameters: { padding: 'x'.repeat(300 * 1024) } });
    assertProblem(await app.api('POST', 'pipelines/data-pipeline/runs', undefined, { rawBody: big }), 413, ['body']);
    // Just under the limit is read (and then refused for what it says, not for its size).
    const under = JSON.stringify({ parameters: { padding: 'x'.repeat(200 * 1024) } });
    assertProblem(await app.api('POST', 'pipelines/data-pipeline/runs', undefined, { rawBody: under }), 400, ['body.parameters.padding']);
  });

  test('a missing or wrong function key → 401', async () => {
    for (const [method, path] of [['GET', 'runs'], ['GET', 'pipelines'], ['POST', 'pipelines/data-pipeline/runs'], ['GET', 'health']] as const) {
      assert.equal((await app.api(method, path, undefined, { key: null })).status, 401, `${method} ${path} without a key`);
      assert.equal((await app.api(method, path, undefined, { key: 'wrong-key' })).status, 401, `${method} ${path} with a wrong key`);
    }
  });

  test('GET /api/openapi.json is served without a key and documents every route', async () => {
    const response = await app.api<{ openapi: string; paths: Record<string, Record<string, unknown>> }>('GET', 'openapi.json', undefined, { key: null });
    assert.equal(response.status, 200);
    assert.equal(response.json.openapi, '3.1.0');
    const documented = Object.entries(response.json.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)).sort();
    const served = ROUTE_TABLE.flatMap((r) => r.methods.map((m) => `${m} /${r.route}`)).sort();
    assert.deepEqual(documented, served);
  });

  test('GET /api/pipelines says when the scheduler is off (SCHEDULER_ENABLED=false)', async () => {
    const response = await app.api<{ schedulerEnabled: boolean; pipelines: { name: string; schedules: { name: string }[] }[] }>('GET', 'pipelines');
    assert.equal(response.status, 200);
    assert.equal(response.json.schedulerEnabled, false);
    assert.deepEqual(response.json.pipelines.find((p) => p.name === 'data-pipeline')?.schedules.map((s) => s.name), ['production-daily', 'test-hourly']);
  });

  test('after all of that the app still serves: health 200 and a run starts and succeeds', async () => {
    const health = await app.api<{ status: string; checks: { name: string; ok: boolean }[] }>('GET', 'health');
    assert.equal(health.status, 200, health.text);
    assert.equal(health.json.status, 'healthy');
    assert.deepEqual(health.json.checks.map((c) => [c.name, c.ok]), [['storage', true], ['secrets', true], ['webhooks', true], ['settings', true]]);
    const before = app.world.callCounts();
    const started = await app.api<{ runId: string }>('POST', 'pipelines/data-pipeline/runs', {});
    assert.equal(started.status, 202, started.text);
    const status = await app.host.waitFor(started.json.runId);
    assert.equal(status.runtimeStatus, 'Completed');
    const run = await app.api<{ status: string }>('GET', `runs/${started.json.runId}`);
    assert.equal(run.json.status, 'succeeded');
    assert.equal(app.world.callCounts().transform - before.transform, 1);
    // Parameters are validated, defaults filled, and the run keeps them.
    const backfill = await app.api<{ runId: string }>('POST', 'pipelines/backfill/runs', { parameters: { day: '2026-11-01' } });
    assert.equal(backfill.status, 202, backfill.text);
    await app.host.waitFor(backfill.json.runId);
    const view = await app.api<{ status: string; parameters: unknown }>('GET', `runs/${backfill.json.runId}`);
    assert.equal(view.json.status, 'succeeded');
    assert.deepEqual(view.json.parameters, { day: '2026-11-01', batch: 10 });
  });
});
