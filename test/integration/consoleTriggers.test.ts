/**
 * The console's new views in Chromium, checked with axe: the Waiting page and a waiting run's page
 * with Approve / Reject for an operator (none for a reader), the Backfills list and a backfill's
 * page with progress, its slots and Cancel, and each run's trigger linked.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { emulatedSignIn } from '../../scripts/signIn';
import { loadCatalog } from '../../src/pipelines/catalog';
import { pipelineInputs } from '../../src/pipelines/definitions';
import type { PipelineInput } from '../../src/pipelines/schema';
import type { AppHarness } from '../support/appHarness';
import { seriousViolations } from '../support/browser';
import { useConsoleSession } from '../support/consoleSession';

const gated: PipelineInput = {
  name: 'gated',
  title: 'Sign-off before loading',
  parameters: { day: { type: 'date', default: { run: 'logicalDate' } } },
  steps: [{ id: 'signoff', kind: 'approval', message: 'Load {param.day} into production?', timeout: '1d' }],
};

describe('console: waiting steps and backfills in Chromium', () => {
  const signIn = emulatedSignIn('operator');
  const session = useConsoleSession(signIn, {
    startTime: new Date('2026-04-02T00:00:00Z'),
    catalog: loadCatalog([...pipelineInputs, gated]),
  });
  let app: AppHarness;
  let page: Page;
  before(() => {
    ({ app, page } = session);
  });
  const scriptErrors = session.scriptErrors;

  const axe = async (what: string) => {
    const violations = await seriousViolations(page);
    assert.deepEqual(violations.map((v) => `${v.id} (${v.impact ?? '?'}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), [], `axe on ${what}`);
  };
  const runStatus = async (runId: string) => (await app.api<{ status: string }>('GET', `runs/${encodeURIComponent(runId)}`)).json.status;

  test('a waiting approval: listed with what it asks; a reader sees no buttons; an operator approves with a comment and the run goes on', async () => {
    const started = await app.api<{ runId: string }>('POST', 'pipelines/gated/runs', { parameters: { day: '2026-04-01' } });
    const runId = started.json.runId;
    await app.host.advance(0);

    signIn.switchTo('reader');
    await page.goto(`${app.baseUrl}/#/runs/${encodeURIComponent(runId)}`);
    const region = page.getByRole('region', { name: 'Waiting for approval' });
    await region.getByText('Load 2026-04-01 into production?').waitFor();
    assert.equal(await region.getByRole('button', { name: 'Approve' }).count(), 0, 'a reader gets no Approve button');
    await axe('a waiting run, as a reader');

    signIn.switchTo('operator');
    // A new sign-in is a new page load (the console reads who is signed in when it loads).
    await page.goto(`${app.baseUrl}/#/waiting`);
    await page.reload();
    const row = page.getByRole('row').filter({ hasText: runId });
    await row.getByText('Load 2026-04-01 into production?').waitFor();
    await row.getByText('anyone with Pipelines.Operate').waitFor();
    await axe('the Waiting page');
    await row.getByLabel('Comment').fill('numbers checked');
    await row.getByRole('button', { name: 'Approve' }).click();
    await page.getByText('No step waits for a decision.').waitFor();
    await app.host.advance(2 * 60_000);
    assert.equal(await runStatus(runId), 'succeeded');
    const run = await app.api<{ steps: { id: string; output?: Record<string, unknown> }[] }>('GET', `runs/${encodeURIComponent(runId)}`);
    assert.deepEqual([run.json.steps[0]?.output?.['by'], run.json.steps[0]?.output?.['comment']], ['user:operator@localhost', 'numbers checked']);
    assert.deepEqual(scriptErrors, []);
  });

  test('a backfill: the list shows its progress, its page each slot with the DST mark and its run; the run page links back to it', async () => {
    const started = await app.api<{ id: string }>('POST', 'pipelines/data-pipeline/backfills', { schedule: 'production-daily', from: '2026-03-28', to: '2026-03-30', maxParallel: 3 });
    assert.equal(started.status, 202, JSON.stringify(started.json));
    const id = started.json.id;
    await app.until('the backfill to end', async () => ((await app.api<{ state: string }>('GET', `backfills/${id}`)).json.state === 'done' ? true : undefined), { timeoutMs: 60_000 });

    await page.goto(`${app.baseUrl}/#/backfills`);
    const row = page.getByRole('row').filter({ hasText: id });
    await row.getByText('3 succeeded').waitFor();
    await axe('the Backfills page');
    await row.getByRole('link', { name: id }).click();
    await page.getByRole('heading', { name: `Backfill ${id}` }).waitFor();
    const gap = page.getByRole('row').filter({ hasText: '2026-03-29T03:00:00+02:00' });
    await gap.getByText('DST gap').waitFor();
    await axe('a backfill\'s page');
    await gap.getByRole('link', { name: 'sched:data-pipeline:production-daily:20260329T0100Z' }).click();
    await page.getByText(`backfill ${id} (slot 2026-03-29T01:00:00Z)`).first().waitFor();
    await page.getByRole('link', { name: `backfill ${id}` }).click();
    await page.getByRole('heading', { name: `Backfill ${id}` }).waitFor();
  });

  test('cancel a running backfill from its page (with a confirmation)', async () => {
    app.setExportDelay(3000);
    try {
      const started = await app.api<{ id: string }>('POST', 'pipelines/data-pipeline/backfills', { schedule: 'test-hourly', from: '2026-03-20T00:00:00Z', to: '2026-03-20T02:00:00Z' });
      const id = started.json.id;
      await page.goto(`${app.baseUrl}/#/backfills/${id}`);
      await page.getByRole('button', { name: 'Cancel backfill' }).click();
      await page.getByRole('button', { name: 'Yes, cancel the backfill' }).click();
      await page.getByRole('heading', { name: `Backfill ${id}` }).getByText(/cancell/).waitFor();
      await app.until('the backfill to end cancelled', async () => ((await app.api<{ state: string }>('GET', `backfills/${id}`)).json.state === 'cancelled' ? true : undefined), { timeoutMs: 60_000 });
      await page.getByRole('row').filter({ hasText: '2026-03-20 02:00:00Z' }).getByText('cancelled', { exact: true }).waitFor();
      await page.getByRole('row').filter({ hasText: '2026-03-20 02:00:00Z' }).getByText(/cancelled by user:operator@localhost/).waitFor();
      assert.deepEqual(scriptErrors, []);
    } finally {
      app.setExportDelay(undefined);
    }
  });
  test("a project's own operator (operator:default, no global role) gets Approve on the Waiting page and the run's page, and decides", async () => {
    const started = await app.api<{ runId: string }>('POST', 'pipelines/gated/runs', { parameters: { day: '2026-04-03' } });
    const runId = started.json.runId;
    await app.host.advance(0);
    signIn.switchTo('operator:default');
    try {
      await page.goto(`${app.baseUrl}/#/runs/${encodeURIComponent(runId)}`);
      await page.reload();
      const region = page.getByRole('region', { name: 'Waiting for approval' });
      await region.getByText('Load 2026-04-03 into production?').waitFor();
      await region.getByRole('button', { name: 'Approve' }).waitFor();
      await page.goto(`${app.baseUrl}/#/waiting`);
      const row = page.getByRole('row').filter({ hasText: runId });
      await row.getByRole('button', { name: 'Approve' }).click();
      await page.getByText('No step waits for a decision.').waitFor();
      const run = await app.api<{ steps: { id: string; output?: Record<string, unknown> }[] }>('GET', `runs/${encodeURIComponent(runId)}`);
      await app.host.advance(2 * 60_000);
      assert.equal(await runStatus(runId), 'succeeded', JSON.stringify(run.json.steps));
      assert.deepEqual(scriptErrors, []);
    } finally {
      signIn.switchTo('operator');
    }
  });
});
