/**
 * Every route that names a pipeline or a run answers by project (docs/projects.md, "Roles"): the
 * approval, backfill and trigger-history routes as the run and pipeline routes do. On the two-project
 * example plus one approval-gated pipeline per project: a function key (the key door) sees and steers
 * both projects; a reader of finance, through the console door and through the CLI (`--token`, that
 * door as the user), sees finance's waiting steps and backfills only, and marketing's answer 404 as
 * if they did not exist; finance's operator decides and backfills finance only; a user who reads
 * finance but operates marketing is refused finance's changes with a 403 naming the role.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodePrincipal } from '../../src/auth/principal';
import { localUser } from '../../src/auth/roles';
import { loadCatalog } from '../../src/pipelines/catalog';
import { twoProjectPipelines, twoProjectSetup } from '../../src/pipelines/examples/twoProjects';
import type { PipelineInput } from '../../src/pipelines/schema';
import { startApp, type AppHarness } from '../support/appHarness';
import { runCli, stopAllChildren } from '../support/demoProcess';

const CONSOLE_CHANGE = { 'x-requested-with': 'durable-pipelines-console' };

const gate = (project: string): PipelineInput => ({
  name: `${project}-gate`,
  title: `${project}: sign-off`,
  project,
  steps: [{ id: 'signoff', kind: 'approval', message: `Publish ${project}'s numbers?`, timeout: '1d' }],
});

describe('approvals, backfills and trigger history by project, at every door', () => {
  let app: AppHarness;
  let as: string | undefined;
  const gateRun: Record<string, string> = {};
  const backfillOf: Record<string, string> = {};
  const signIn = (word: string): void => {
    as = encodePrincipal(localUser(word)!);
  };
  const consoleApi = <T>(method: string, path: string, body?: unknown) => app.api<T>(method, `console/${path}`, body, { key: null, ...(method === 'GET' ? {} : { headers: CONSOLE_CHANGE }) });
  const cli = (...args: string[]) => runCli(['--url', app.baseUrl, '--token', 'entra-token-for-the-app', ...args], {});
  const oneDay = { schedule: 'production-daily', from: '2026-03-30', to: '2026-03-30' };

  before(async () => {
    app = await startApp({
      catalog: loadCatalog([...twoProjectPipelines, gate('marketing'), gate('finance')], twoProjectSetup),
      settings: { WEBSITE_AUTH_ENABLED: 'True' },
      startTime: new Date('2026-04-02T00:00:00Z'),
      platformPrincipal: () => as,
    });
    for (const project of ['marketing', 'finance']) {
      const run = await app.api<{ runId: string }>('POST', `pipelines/${project}-gate/runs`, {});
      assert.equal(run.status, 202);
      gateRun[project] = run.json.runId;
      const backfill = await app.api<{ id: string }>('POST', `pipelines/${project}-daily/backfills`, oneDay);
      assert.equal(backfill.status, 202, backfill.text);
      backfillOf[project] = backfill.json.id;
    }
    await app.until('both gates waiting', async () => {
      await app.host.advance(0);
      const waiting = (await app.api<{ waiting: unknown[] }>('GET', 'approvals')).json.waiting;
      return waiting.length === 2 && waiting;
    });
  });
  after(async () => {
    await stopAllChildren();
    await app?.stop();
  });

  test('key door: a function key lists and reads both projects', async () => {
    const waiting = await app.api<{ waiting: { runId: string; project: string }[] }>('GET', 'approvals');
    assert.deepEqual(waiting.json.waiting.map((w) => `${w.project} ${w.runId}`).sort(), [`marketing ${gateRun['marketing']}`, `finance ${gateRun['finance']}`].sort(), 'each waiting step names its project (the console shows its buttons to that project\'s operators)');
    const backfills = await app.api<{ backfills: { id: string }[] }>('GET', 'backfills');
    assert.deepEqual(backfills.json.backfills.map((b) => b.id).sort(), [backfillOf['marketing'], backfillOf['finance']].sort());
    assert.equal((await app.api('GET', `backfills/${backfillOf['marketing']}`)).status, 200);
    // Filtered like runs: by project (any of them), by tag (their pipeline's and schedule's, every one).
    const finance = await app.api<{ backfills: { id: string; project: string }[] }>('GET', 'backfills?project=finance');
    assert.deepEqual(finance.json.backfills.map((b) => [b.id, b.project]), [[backfillOf['finance'], 'finance']]);
    const tagged = await app.api<{ backfills: { id: string }[] }>('GET', 'backfills?tag=marketing&tag=daily');
    assert.deepEqual(tagged.json.backfills.map((b) => b.id), [backfillOf['marketing']]);
    assert.deepEqual((await app.api<{ backfills: unknown[] }>('GET', 'backfills?tag=marketing&tag=hourly')).json.backfills, []);
    const history = await app.api<{ detail: string }>('GET', 'pipelines/marketing-daily/triggers/on-landing/history');
    assert.equal(history.status, 404);
    assert.match(history.json.detail, /pipeline "marketing-daily" has no trigger "on-landing"/);
  });

  test("console door: a reader of finance sees finance's waiting step and backfill only; marketing's answer 404", async () => {
    signIn('reader:finance');
    const waiting = await consoleApi<{ waiting: { runId: string }[] }>('GET', 'approvals');
    assert.deepEqual(waiting.json.waiting.map((w) => w.runId), [gateRun['finance']]);
    const backfills = await consoleApi<{ backfills: { id: string }[] }>('GET', 'backfills');
    assert.deepEqual(backfills.json.backfills.map((b) => b.id), [backfillOf['finance']]);
    assert.equal((await consoleApi('GET', `backfills/${backfillOf['finance']}`)).status, 200);
    assert.equal((await consoleApi('GET', `backfills/${backfillOf['marketing']}`)).status, 404);
    assert.equal((await consoleApi('GET', 'backfills?pipeline=marketing-daily')).status, 404);
    assert.equal((await consoleApi('GET', 'backfills?project=marketing')).status, 404);
    const hidden = await consoleApi<{ detail: string }>('GET', 'pipelines/marketing-daily/triggers/on-landing/history');
    assert.equal(hidden.status, 404);
    assert.match(hidden.json.detail, /no pipeline named "marketing-daily" \(known: finance-daily, finance-gate\)/, 'answered as an unknown pipeline, naming only what the reader sees');
    const own = await consoleApi<{ detail: string }>('GET', 'pipelines/finance-daily/triggers/on-landing/history');
    assert.match(own.json.detail, /pipeline "finance-daily" has no trigger/);
  });

  test('console door: reading finance and operating marketing, a user is refused finance changes (403 naming the role) and may change marketing', async () => {
    as = encodePrincipal({ name: 'mixed@contoso.com', roles: ['Pipelines.Operate.marketing', 'Pipelines.Read.finance'] });
    for (const [path, body] of [
      [`runs/${gateRun['finance']}/steps/signoff/approve`, {}],
      [`backfills/${backfillOf['finance']}/cancel`, {}],
      ['pipelines/finance-daily/backfills', { ...oneDay, dryRun: true }],
    ] as const) {
      const refused = await consoleApi<{ detail: string }>('POST', path, body);
      assert.equal(refused.status, 403, `${path}: ${refused.text}`);
      assert.match(refused.json.detail, /may read project finance but not operate it: .*Pipelines\.Operate\.finance/);
    }
    assert.equal((await consoleApi('POST', 'pipelines/marketing-daily/backfills', { ...oneDay, dryRun: true })).status, 200);
  });

  test("console door: finance's operator decides and backfills finance; marketing's step, pipeline and backfill answer 404", async () => {
    signIn('operator:finance');
    assert.equal((await consoleApi('POST', `runs/${gateRun['marketing']}/steps/signoff/approve`, {})).status, 404);
    assert.equal((await consoleApi('POST', 'pipelines/marketing-daily/backfills', { ...oneDay, dryRun: true })).status, 404);
    assert.equal((await consoleApi('POST', `backfills/${backfillOf['marketing']}/cancel`, {})).status, 404);
    assert.equal((await consoleApi('POST', 'pipelines/finance-daily/backfills', { ...oneDay, dryRun: true })).status, 200);
    const approved = await consoleApi<{ decision: string; decidedBy: string }>('POST', `runs/${gateRun['finance']}/steps/signoff/approve`, {});
    assert.deepEqual([approved.status, approved.json.decision, approved.json.decidedBy], [200, 'approved', 'user:operator-finance@localhost']);
    const stillWaiting = await app.api<{ waiting: { runId: string; decision: string | null }[] }>('GET', 'approvals');
    assert.equal(stillWaiting.json.waiting.find((w) => w.runId === gateRun['marketing'])?.decision, null, "marketing's step still waits");
  });

  test('CLI as a signed-in reader of finance: approvals and backfills of finance only; marketing not found', async () => {
    signIn('reader:finance');
    const approvals = await cli('--json', 'approvals');
    assert.equal(approvals.code, 0, approvals.stderr);
    assert.ok((JSON.parse(approvals.stdout) as { runId: string }[]).every((w) => w.runId !== gateRun['marketing']), approvals.stdout);
    const backfills = await cli('--json', 'backfills', 'ls');
    assert.deepEqual((JSON.parse(backfills.stdout) as { id: string }[]).map((b) => b.id), [backfillOf['finance']]);
    const other = await cli('backfills', 'ls', '--project', 'marketing');
    assert.notEqual(other.code, 0);
    assert.match(other.stderr, /not found: no project named "marketing"/);
    const show = await cli('backfills', 'show', backfillOf['marketing']!);
    assert.notEqual(show.code, 0);
    assert.match(show.stderr, /not found: no backfill/);
    const history = await cli('triggers', 'history', 'marketing-daily', 'on-landing');
    assert.notEqual(history.code, 0);
    assert.match(history.stderr, /not found: no pipeline named "marketing-daily"/);
  });

  test("CLI as finance's operator: backfilling or approving marketing is not found", async () => {
    signIn('operator:finance');
    const backfill = await cli('backfill', 'marketing-daily', '--from', '2026-03-30', '--to', '2026-03-30', '--schedule', 'production-daily', '--dry-run');
    assert.notEqual(backfill.code, 0);
    assert.match(backfill.stderr, /not found: no pipeline named "marketing-daily"/);
    const approve = await cli('approve', gateRun['marketing']!, 'signoff');
    assert.notEqual(approve.code, 0);
    assert.match(approve.stderr, /not found: run .* has no step "signoff" waiting/);
  });
});
