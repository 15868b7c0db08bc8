/**
 * Acceptance 1 of issue 25: `npm run demo -- --example two-projects` runs one pipeline of each
 * project at once; their COPY INTO steps share the pool load-wh (1 slot), so one waits for the
 * other. The demo, the CLI (`logs`, `runs ls --project`) and the console (pipelines grouped by
 * project, the run's log) show it; signed in as a reader of finance, the console shows finance only.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { launchBrowser, type Browser } from '../support/browser';
import { runCli, startDemo, stopAllChildren, type DemoProcess } from '../support/demoProcess';

const WAITED = /load waiting for pool load-wh \(position 1\)/;

describe('the two-project example', () => {
  let demo: DemoProcess;
  let browser: Browser;
  let page: Page;
  let runs: { runId: string; project: string }[] = [];
  const cli = (...args: string[]) => runCli(args, { DURABLE_PIPELINES_URL: demo.baseUrl, DURABLE_PIPELINES_KEY: demo.key });

  before(async () => {
    demo = await startDemo({ as: 'operator', args: ['--example', 'two-projects'] });
    // An operator has the Run button on both projects' pipelines.
    browser = await launchBrowser();
    page = await browser.newPage();
    const listed = await cli('--json', 'runs', 'ls');
    assert.equal(listed.code, 0, listed.stderr);
    runs = (JSON.parse(listed.stdout) as { runs: { runId: string; project: string }[] }).runs;
  });
  after(async () => {
    await browser?.close();
    await stopAllChildren();
  });

  test('the demo says one project’s COPY INTO waited for the pool while the other held it', () => {
    assert.deepEqual(runs.map((r) => r.project).sort(), ['finance', 'marketing']);
    assert.match(demo.output(), WAITED);
    assert.match(demo.output(), /load got a slot of pool load-wh after \d+s in its queue/);
  });

  test('CLI: runs ls --project picks one project; the waiting run’s log says where it waited', async () => {
    const finance = await cli('runs', 'ls', '--project', 'finance');
    assert.equal(finance.code, 0, finance.stderr);
    assert.match(finance.stdout, /^PROJECT\s+RUN/m);
    assert.doesNotMatch(finance.stdout, /marketing-daily/);
    const logs = await Promise.all(runs.map((r) => cli('logs', r.runId)));
    assert.equal(logs.filter((l) => WAITED.test(l.stdout)).length, 1, 'exactly one of the two runs waited');
    const tagged = await cli('runs', 'ls', '--tag', 'demo', '--tag', 'production');
    assert.equal(tagged.stdout.split('\n').filter((l) => /-daily-/.test(l)).length, 2, tagged.stdout);
  });

  test('console: pipelines grouped by project; the waiting run’s page shows the wait in its log', async () => {
    await page.goto(`${demo.baseUrl}/#/pipelines`);
    await page.getByRole('heading', { name: /^Project Marketing/ }).waitFor();
    await page.getByRole('heading', { name: /^Project Finance/ }).waitFor();
    assert.equal(await page.getByRole('region', { name: /Project Finance/ }).getByRole('article').count(), 1);
    assert.equal(await page.getByRole('button', { name: 'Run…', exact: true }).count(), 2);
    const waited = await Promise.all(runs.map(async (r) => ((await cli('logs', r.runId)).stdout.match(WAITED) ? r.runId : undefined)));
    const runId = waited.find((id) => id !== undefined);
    assert.ok(runId);
    await page.goto(`${demo.baseUrl}/#/runs/${runId}`);
    await page.locator('pre', { hasText: WAITED }).first().waitFor();
  });

  test('console, signed in as a reader of finance: marketing is not shown anywhere', async () => {
    await demo.control({ as: 'reader:finance' });
    try {
      await page.goto(`${demo.baseUrl}/#/pipelines`);
      // The console reads who is signed in when it loads: a new sign-in is a new page load.
      await page.reload();
      await page.getByText('reader of finance').waitFor();
      await page.getByRole('heading', { name: /^Project Finance/ }).waitFor();
      assert.equal(await page.getByRole('heading', { name: /Marketing/ }).count(), 0);
      assert.equal(await page.getByRole('button', { name: 'Run…', exact: true }).count(), 0, 'a reader gets no Run button');
      await page.goto(`${demo.baseUrl}/#/runs`);
      await page.locator('table.runs tbody tr').first().waitFor();
      const rows = await page.locator('table.runs tbody tr').allInnerTexts();
      assert.ok(rows.length === 1 && /finance-daily/.test(rows[0] ?? ''), rows.join('\n'));
    } finally {
      await demo.control({ as: 'operator' });
    }
  });
});
