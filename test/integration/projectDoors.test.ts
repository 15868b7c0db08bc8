/**
 * Scoped roles at every door, on the two-project example served by the app (dev host, Azurite,
 * stand-ins): a reader of finance, signed in through emulated App Service Authentication, sees
 * finance and nothing of marketing through the console door and through the CLI (`--token`, which
 * calls that door as the user); finance's operator starts finance runs only; a function key (the key
 * door) reads and operates both.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodePrincipal } from '../../src/auth/principal';
import { localUser } from '../../src/auth/roles';
import { twoProjectsCatalog } from '../../src/pipelines/examples/twoProjects';
import { startApp, type AppHarness } from '../support/appHarness';
import { runCli, stopAllChildren } from '../support/demoProcess';

const CONSOLE_CHANGE = { 'x-requested-with': 'durable-pipelines-console' };

describe('project roles at every door', () => {
  let app: AppHarness;
  let as: string | undefined;
  let marketingRun = '';
  let financeRun = '';
  const signIn = (word: string | undefined): void => {
    as = word === undefined ? undefined : encodePrincipal(localUser(word)!);
  };
  const consoleApi = <T>(method: string, path: string, body?: unknown) => app.api<T>(method, `console/${path}`, body, { key: null, ...(method === 'GET' ? {} : { headers: CONSOLE_CHANGE }) });
  const cli = (...args: string[]) => runCli(['--url', app.baseUrl, '--token', 'entra-token-for-the-app', ...args], {});

  before(async () => {
    app = await startApp({ catalog: twoProjectsCatalog(), settings: { WEBSITE_AUTH_ENABLED: 'True' }, platformPrincipal: () => as });
    const started = await Promise.all(['marketing-daily', 'finance-daily'].map((p) => app.api<{ runId: string }>('POST', `pipelines/${p}/runs`, {})));
    assert.deepEqual(started.map((s) => s.status), [202, 202], 'the key door starts runs of both projects');
    marketingRun = started[0]!.json.runId;
    financeRun = started[1]!.json.runId;
    await app.until('both runs recorded', async () => {
      const runs = (await app.api<{ runs: { runId: string }[] }>('GET', 'runs')).json.runs;
      return runs.length >= 2 && runs;
    });
  });
  after(async () => {
    await stopAllChildren();
    await app?.stop();
  });

  test('key door: a function key lists and filters both projects', async () => {
    const pipelines = await app.api<{ pipelines: { name: string; project: string }[] }>('GET', 'pipelines');
    assert.deepEqual(pipelines.json.pipelines.map((p) => `${p.project}/${p.name}`), ['marketing/marketing-daily', 'finance/finance-daily']);
    const marketing = await app.api<{ runs: { runId: string; project: string }[] }>('GET', 'runs?project=marketing');
    assert.deepEqual(marketing.json.runs.map((r) => r.runId), [marketingRun]);
    assert.equal(marketing.json.runs[0]?.project, 'marketing');
  });

  test("console door: a reader of finance sees finance only; marketing's pipeline, runs and logs answer 404; changes 403", async () => {
    signIn('reader:finance');
    const pipelines = await consoleApi<{ pipelines: { name: string; canOperate: boolean }[]; projects: { name: string }[] }>('GET', 'pipelines');
    assert.deepEqual(pipelines.json.pipelines.map((p) => [p.name, p.canOperate]), [['finance-daily', false]]);
    assert.deepEqual(pipelines.json.projects.map((p) => p.name), ['finance']);
    const runs = await consoleApi<{ runs: { runId: string }[] }>('GET', 'runs');
    assert.deepEqual(runs.json.runs.map((r) => r.runId), [financeRun]);
    assert.equal((await consoleApi('GET', 'runs?project=marketing')).status, 404);
    assert.equal((await consoleApi('GET', `runs/${marketingRun}`)).status, 404);
    assert.equal((await consoleApi('GET', `runs/${marketingRun}/logs`)).status, 404);
    assert.equal((await consoleApi('GET', `runs/${financeRun}`)).status, 200);
    // Holding no operate role at all, the door refuses every change without looking at the project.
    for (const pipeline of ['marketing-daily', 'finance-daily']) {
      const refused = await consoleApi<{ detail: string }>('POST', `pipelines/${pipeline}/runs`, {});
      assert.equal(refused.status, 403);
      assert.doesNotMatch(refused.json.detail, /marketing/, 'the refusal does not reveal marketing');
    }
    const me = await consoleApi<{ canRead: boolean; projects: Record<string, string> }>('GET', 'me');
    assert.deepEqual([me.json.canRead, me.json.projects], [false, { finance: 'read' }]);
  });

  test("console door: finance's operator starts finance runs and cannot reach marketing", async () => {
    signIn('operator:finance');
    assert.equal((await consoleApi('POST', 'pipelines/finance-daily/runs', {})).status, 202);
    assert.equal((await consoleApi('POST', 'pipelines/marketing-daily/runs', {})).status, 404);
    assert.equal((await consoleApi('POST', `runs/${marketingRun}/rerun`, { from: 'export' })).status, 404);
  });

  test('console door: operating marketing and reading finance, a user may start marketing runs but not finance runs (403 naming the role)', async () => {
    as = encodePrincipal({ name: 'mixed@contoso.com', roles: ['Pipelines.Operate.marketing', 'Pipelines.Read.finance'] });
    assert.equal((await consoleApi('POST', 'pipelines/marketing-daily/runs', {})).status, 202);
    const refused = await consoleApi<{ detail: string }>('POST', 'pipelines/finance-daily/runs', {});
    assert.equal(refused.status, 403);
    assert.match(refused.json.detail, /may read project finance but not operate it: .*Pipelines\.Operate\.finance/);
    assert.equal((await consoleApi('POST', `runs/${financeRun}/cancel`, {})).status, 403);
  });

  test('CLI as a signed-in reader of finance: lists finance, refuses marketing (exit 4, not found), cannot start', async () => {
    signIn('reader:finance');
    const ls = await cli('runs', 'ls');
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, new RegExp(financeRun));
    assert.doesNotMatch(ls.stdout, /marketing/);
    const pipelines = await cli('--json', 'pipelines', 'ls');
    assert.deepEqual((JSON.parse(pipelines.stdout) as { name: string }[]).map((p) => p.name), ['finance-daily']);
    const other = await cli('runs', 'ls', '--project', 'marketing');
    assert.notEqual(other.code, 0);
    assert.match(other.stderr, /not found: no project named "marketing"/);
    const start = await cli('run', 'finance-daily');
    assert.notEqual(start.code, 0);
    assert.match(start.stderr, /refused \(HTTP 403\).*does not have the app role Pipelines\.Operate/);
  });
});
