/**
 * Projects at load and at the doors: a pipeline naming another project's secret is refused naming
 * both; project roles admit a user to their project only (a reader of finance cannot see
 * marketing), keys stay global; runs carry the pipeline's, schedule's and start's tags; alerts and
 * cost follow the project.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { admit } from '../../src/api/access';
import { ApiProblem } from '../../src/api/problem';
import { encodePrincipal } from '../../src/auth/principal';
import { KEY_CALLER, localUser, mayOperate, mayRead } from '../../src/auth/roles';
import { costByProject } from '../../src/cost/byProject';
import { readInfraParameters, seedRunMeasurement, shippedPrices } from '../../src/cost';
import { loadCatalog } from '../../src/pipelines/catalog';
import { twoProjectPipelines, twoProjectSetup, twoProjectsCatalog } from '../../src/pipelines/examples/twoProjects';
import { PipelineValidationError } from '../../src/pipelines/validate';
import { runLabels } from '../../src/projects/runLabels';
import { labelsOfUnlabelledRun } from '../../src/projects/labelsBackfill';

const catalog = twoProjectsCatalog();
const on = { platformAuth: true, readOnly: false };
const consoleRequest = (method: string, user: { name: string; roles: readonly string[] }) => ({
  method,
  url: 'https://pipelines.example.net/api/console/runs',
  headers: new Headers({ 'x-ms-client-principal': encodePrincipal(user), 'content-type': 'application/json', 'x-requested-with': 'durable-pipelines-console' }),
});

function problemsOf(load: () => unknown): string[] {
  try {
    load();
  } catch (error) {
    if (error instanceof PipelineValidationError) return error.problems.map((p) => `${p.path}: ${p.message}`);
    throw error;
  }
  return [];
}

describe('projects', () => {
  test('the shipped two-project example loads: two projects sharing the step pool load-wh', () => {
    assert.deepEqual(catalog.pipelines.map((p) => [p.name, p.project]), [['marketing-daily', 'marketing'], ['finance-daily', 'finance']]);
    assert.deepEqual(catalog.pipelines.map((p) => p.steps.find((s) => s.id === 'load')?.pools), [['load-wh'], ['load-wh']]);
    assert.equal(catalog.pool('load-wh')?.slots, 1);
  });

  test("a pipeline naming another project's secret is refused at load, naming the pipeline, both projects and the secret", () => {
    const stray = { ...twoProjectPipelines[0]!, name: 'marketing-sneaky', steps: twoProjectPipelines[1]!.steps };
    const problems = problemsOf(() => loadCatalog([...twoProjectPipelines, stray], twoProjectSetup));
    assert.ok(problems.some((p) => /^marketing-sneaky\.steps\[0\]\.url\.secret: pipeline marketing-sneaky \(project marketing\): secret "finance-azure-function-url" belongs to project finance/.test(p)), problems.join('\n'));
    const outside = { ...twoProjectPipelines[1]!, name: 'finance-outside', steps: twoProjectPipelines[0]!.steps };
    const refused = problemsOf(() => loadCatalog([...twoProjectPipelines, outside], twoProjectSetup));
    assert.ok(refused.some((p) => /pipeline finance-outside \(project finance\): secret "azure-function-url" is not among project finance's secrets \(finance-\*\)/.test(p)), refused.join('\n'));
    assert.deepEqual(problemsOf(() => twoProjectsCatalog()), []);
  });

  test('an unknown pool, or a step pool named on the whole pipeline, is refused at load', () => {
    const wrong = { ...twoProjectPipelines[0]!, name: 'pools-wrong', pools: ['load-wh'], steps: twoProjectPipelines[0]!.steps.map((s) => ({ ...s, pools: ['nope'] })) };
    const problems = problemsOf(() => loadCatalog([wrong], twoProjectSetup));
    assert.ok(problems.some((p) => /pools-wrong\.pools\[0\]: pool "load-wh" is held by steps/.test(p)), problems.join('\n'));
    assert.ok(problems.some((p) => /pools-wrong\.steps\[0\]\.pools\[0\]: unknown pool "nope"/.test(p)), problems.join('\n'));
  });

  test("console door: a reader of finance is admitted to read, sees finance only, may not operate; finance's operator operates finance only", () => {
    const reader = admit('console', 'read', consoleRequest('GET', localUser('reader:finance')!), on, catalog.projects);
    assert.ok(mayRead(reader, 'finance'));
    assert.equal(mayRead(reader, 'marketing'), false, 'marketing stays hidden');
    assert.equal(mayOperate(reader, 'finance'), false);
    assert.throws(() => admit('console', 'operate', consoleRequest('POST', localUser('reader:finance')!), on, catalog.projects), (e) => e instanceof ApiProblem && e.status === 403);
    const operator = admit('console', 'operate', consoleRequest('POST', localUser('operator:finance')!), on, catalog.projects);
    assert.ok(mayOperate(operator, 'finance'));
    assert.equal(mayOperate(operator, 'marketing'), false);
    assert.equal(mayRead(operator, 'marketing'), false);
    // A role of a project this app does not declare grants nothing.
    assert.throws(() => admit('console', 'read', consoleRequest('GET', localUser('reader:payroll')!), on, catalog.projects), (e) => e instanceof ApiProblem && e.status === 403);
  });

  test('key door: a function key reads and operates every project (keys stay global); a principal header there changes nothing', () => {
    const key = admit('key', 'operate', consoleRequest('POST', localUser('reader:finance')!), on, catalog.projects);
    assert.equal(key, KEY_CALLER);
    for (const project of ['default', 'marketing', 'finance']) assert.ok(mayOperate(key, project));
  });

  test("a run's tags: its pipeline's, then its schedule's, then those given at start, each once; malformed ones dropped", () => {
    const finance = catalog.get('finance-daily')!;
    assert.deepEqual(runLabels(finance, { kind: 'schedule', origin: 'production-daily' }), { project: 'finance', tags: ['finance', 'production', 'daily', 'data-pipeline'] });
    assert.deepEqual(runLabels(finance, { kind: 'manual', tags: ['backfill', 'production', ' bad'] }), { project: 'finance', tags: ['finance', 'production', 'backfill'] });
  });

  test("alerts: a finance run sends the pipeline's alerts and finance's Teams alert; marketing's only its own", () => {
    const finance = catalog.get('finance-daily')!;
    const marketing = catalog.get('marketing-daily')!;
    assert.deepEqual(catalog.alertsOf(finance).map((a) => a.webhook.secret), [...finance.alerts.map((a) => a.webhook.secret), 'finance-teams-webhook']);
    assert.deepEqual(catalog.alertsOf(marketing), marketing.alerts);
  });

  test("cost by project: each project's share is what its pipelines add; shares and the app's part sum to the total", async () => {
    const infra = await readInfraParameters('.');
    const b = costByProject({ pipelines: catalog.pipelines, infra, measurement: seedRunMeasurement(), prices: shippedPrices() });
    assert.deepEqual(b.projects.map((p) => p.project), ['finance', 'marketing']);
    assert.ok(b.projects.every((p) => p.monthly > 0), JSON.stringify(b));
    assert.ok(Math.abs(b.projects.reduce((s, p) => s + p.monthly, 0) + b.shared - b.total) < 0.001, JSON.stringify(b));
  });
});

test("a run recorded before projects gets its pipeline's project and tags (its schedule's too), or default when its pipeline is gone", () => {
  const catalog = twoProjectsCatalog();
  const at = '2026-11-01T01:00:00.000Z';
  const run = (pipeline: string, origin: string) => ({ runId: 'r', pipeline, status: 'succeeded' as const, trigger: { kind: 'schedule' as const, origin, scheduledFor: at }, parameters: {}, createdAt: at });
  assert.deepEqual(labelsOfUnlabelledRun(catalog, run('finance-daily', 'production-daily')), { project: 'finance', tags: ['finance', 'production', 'daily', 'data-pipeline'] });
  assert.deepEqual(labelsOfUnlabelledRun(catalog, run('retired-pipeline', 'nightly')), { project: 'default', tags: [] });
});
