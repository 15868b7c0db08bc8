/**
 * The web console in a real browser (Chromium via playwright-core) against `npm run demo -- --serve`:
 * what an operator and a reader see and can do, by keyboard too, with an accessibility scan of each
 * page. The README's screenshots (docs/images/) come from these pages, but only when asked:
 * `npm run screenshots` runs this file with DOCS_SCREENSHOTS=docs/images; `npm test` writes nothing
 * tracked.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { launchBrowser, seriousViolations, type Browser } from '../support/browser';
import { startDemo, stopAllChildren, type DemoProcess } from '../support/demoProcess';

/** Where `npm run screenshots` wants the pages; unset (npm test), none are taken. */
const SHOTS = process.env['DOCS_SCREENSHOTS'];
const FINISH_MS = 90_000;

describe('the web console, in Chromium, against the demo', () => {
  let demo: DemoProcess;
  let browser: Browser;
  let page: Page;
  const cspViolations: string[] = [];
  const scriptErrors: string[] = [];

  before(async () => {
    // The operator is asked for on the command line: the demo emulates no sign-in by default.
    demo = await startDemo({ as: 'operator' });
    browser = await launchBrowser();
    page = await browser.newPage();
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
    });
    page.on('pageerror', (error) => scriptErrors.push(error.message));
  });
  after(async () => {
    await browser?.close();
    await stopAllChildren();
  });

  const open = async (hash = '') => {
    await page.goto(`${demo.baseUrl}/${hash}`);
    await page.getByRole('link', { name: 'durable-pipelines' }).waitFor();
  };
  const noSeriousViolations = async (what: string) => {
    const violations = await seriousViolations(page);
    assert.deepEqual(violations.map((v) => `${v.id} (${v.impact ?? '?'}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), [], `axe on ${what}`);
  };
  const shot = async (on: Page, name: string): Promise<void> => {
    if (SHOTS) await on.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
  };
  /** The seed's card: the catalog may hold other pipelines (README "Adding a pipeline"). */
  const seedCard = () => page.getByRole('article', { name: /Pipeline Data Complet/ });
  const runStatus = (status: string) => page.locator('h1 .badge', { hasText: status }).waitFor({ timeout: FINISH_MS });

  test('/ shows the pipelines with their step graph and schedules, under the CSP it ships with', async () => {
    await open();
    await page.getByRole('heading', { name: /Pipeline Data Complet/ }).waitFor();
    assert.match((await seedCard().getByRole('img', { name: /Step graph/ }).getAttribute('aria-label')) ?? '', /load after export; transform after load/);
    assert.equal(await page.getByRole('row', { name: /production-daily/ }).count(), 1);
    assert.match(await page.getByRole('row', { name: /production-daily/ }).innerText(), /Europe\/Paris/);
    await noSeriousViolations('the pipelines page');
    await shot(page, 'console-pipelines');
    assert.deepEqual(cspViolations, [], 'no CSP violation while loading the console');
  });

  test('an operator starts a run from the form, watches it succeed on the timeline and reads its log', async () => {
    await open();
    await seedCard().getByRole('button', { name: 'Run…' }).click();
    // The form is generated from the pipeline's declared parameters: the seed declares `day`, a date
    // typed as the API takes it (not the browser's mm/dd/yyyy), empty meaning the run's logical date.
    const day = page.getByLabel(/^day\b/);
    assert.equal(await day.getAttribute('placeholder'), 'YYYY-MM-DD');
    assert.equal(await day.getAttribute('type'), 'text');
    assert.equal(await day.getAttribute('required'), null, 'it has a default: not required');
    assert.match((await page.locator('#param-day-hint').textContent()) ?? '', /empty: the run's logical date \(today, UTC\)/);
    await day.fill('2026-11-27');
    await page.getByLabel(/Idempotency key/).fill(`browser-${Date.now()}`);
    await page.getByRole('button', { name: 'Start run' }).click();
    await page.waitForURL(/#\/runs\/data-pipeline/);
    await runStatus('succeeded');
    // The parameter reached the load step: it read that day's folder of the stage.
    await page.locator('pre.log').filter({ hasText: /2026-11-27\/part-0001\.json/ }).waitFor({ timeout: FINISH_MS });
    const bars = page.locator('.gantt .bar-attempt.bar-succeeded');
    await bars.nth(2).waitFor({ timeout: FINISH_MS });
    assert.equal(await bars.count(), 3, 'one succeeded attempt bar per step');
    assert.match(await page.locator('dl.facts').first().innerText(), /Started by\s+operator@localhost/);
    await page.locator('pre.log').filter({ hasText: /\[export#1\]/ }).waitFor({ timeout: FINISH_MS });
    await noSeriousViolations('the run page');
    await shot(page, 'console-run');
  });

  test('a failing step shows its retries on the timeline; rerun from failed succeeds', async () => {
    await demo.control({ failStep: 'load' });
    try {
      await open();
      await seedCard().getByRole('button', { name: 'Run…' }).click();
      await page.getByRole('button', { name: 'Start run' }).click();
      await page.waitForURL(/#\/runs\/data-pipeline/);
      await runStatus('failed');
      const failedRun = decodeURIComponent(page.url().split('#/runs/')[1] ?? '');
      // Each failed attempt of load is a bar, with the retry waits between them drawn.
      await page.locator('.gantt .bar-attempt.bar-failed').nth(1).waitFor({ state: 'attached', timeout: FINISH_MS });
      await page.locator('.gantt .bar-wait').first().waitFor({ state: 'attached', timeout: FINISH_MS });
      assert.match(await page.locator('dl.facts').first().innerText(), /Pipeline attempt\s+2/);
      await shot(page, 'console-run-failed');
      await demo.control({ failStep: null });
      await page.getByRole('button', { name: 'Rerun from failed' }).click();
      await page.waitForURL((url) => url.hash.startsWith('#/runs/') && !url.hash.endsWith(encodeURIComponent(failedRun)) && !url.hash.endsWith(failedRun));
      await runStatus('succeeded');
      assert.match(await page.locator('dl.facts').first().innerText(), new RegExp(`rerun of ${failedRun} by operator@localhost`));
    } finally {
      await demo.control({ failStep: null });
    }
  });

  test('the runs page lists and filters the runs, with who started them', async () => {
    await open('#/runs?status=failed');
    await page.locator('table.runs tbody tr').first().waitFor();
    const statuses = await page.locator('table.runs tbody tr td:nth-child(2)').allInnerTexts();
    assert.ok(statuses.length >= 1 && statuses.every((s) => s.trim() === 'failed'), `only failed runs: ${statuses.join(',')}`);
    await open('#/runs');
    await page.locator('table.runs tbody tr').nth(2).waitFor();
    assert.match(await page.locator('table.runs').innerText(), /operator@localhost/);
    await noSeriousViolations('the runs page');
    await shot(page, 'console-runs');
  });

  test('an operator pauses and resumes a schedule; its history page opens from a deep link', async () => {
    await open();
    const row = page.getByRole('row', { name: /production-daily/ });
    // The demo's scheduler is off: the row says so, in the word `schedules ls` prints, not "active".
    await row.getByText('scheduler off', { exact: true }).waitFor();
    await row.getByRole('button', { name: /Pause/ }).click();
    // Pausing stops a schedule: it asks first, and backing out changes nothing.
    await row.getByRole('button', { name: 'Keep it active' }).click();
    assert.equal(await row.getByText('scheduler off', { exact: true }).count(), 1);
    await row.getByRole('button', { name: /Pause/ }).click();
    await row.getByRole('button', { name: 'Yes, pause' }).click();
    await row.getByText('paused', { exact: true }).waitFor();
    await row.getByRole('button', { name: /Resume/ }).click();
    await row.getByText('scheduler off', { exact: true }).waitFor();
    await open('#/pipelines/data-pipeline/schedules/production-daily');
    await page.getByRole('heading', { name: /Schedule production-daily/ }).waitFor();
    await page.getByText(/Europe\/Paris/).first().waitFor();
    await noSeriousViolations('the schedule history page');
    await shot(page, 'console-schedule-history');
  });

  test('keyboard only: Tab to Run, fill the form, start, land on the run', async () => {
    await open();
    let focused = '';
    for (let i = 0; i < 40 && focused !== 'Run…'; i++) {
      await page.keyboard.press('Tab');
      focused = await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { textContent: string | null } | null } }).document.activeElement?.textContent?.trim() ?? '');
    }
    assert.equal(focused, 'Run…', 'the Run button is reachable by Tab');
    await page.keyboard.press('Enter');
    // The day field (empty: the run's logical date), then the idempotency key.
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { id: string } | null } }).document.activeElement?.id), 'param-day');
    await page.keyboard.press('Tab');
    await page.keyboard.type(`keyboard-${Date.now()}`);
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/runs\/data-pipeline/);
    await runStatus('succeeded');
  });

  test('at 360 px in dark mode the run page fits the width', async () => {
    const small = await browser.newPage({ width: 360, height: 780, colorScheme: 'dark' });
    try {
      await small.goto(`${demo.baseUrl}/#/runs`);
      await small.locator('table.runs tbody tr a').first().click();
      await small.locator('.gantt').waitFor();
      const overflow = await small.evaluate(() => {
        const root = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }).document.documentElement;
        return root.scrollWidth - root.clientWidth;
      });
      assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px`);
      await shot(small, 'console-run-mobile-dark');
    } finally {
      await small.close();
    }
  });

  test('at 360 px the pipelines page keeps Pause and the whole step graph on screen', async () => {
    const small = await browser.newPage({ width: 360, height: 780 });
    try {
      await small.goto(`${demo.baseUrl}/`);
      const card = small.getByRole('article', { name: /Pipeline Data Complet/ });
      const pause = card.getByRole('row', { name: /production-daily/ }).getByRole('button', { name: /Pause/ });
      await pause.waitFor();
      const within = (what: string, box: { x: number; width: number } | null): void => {
        assert.ok(box, `${what} is not laid out`);
        assert.ok(box.x >= 0 && box.x + box.width <= 360, `${what} spans ${box.x}–${box.x + box.width} px of 360`);
      };
      within('Pause', await pause.boundingBox());
      within('the step graph', await card.getByRole('img', { name: /Step graph/ }).boundingBox());
      const overflow = await small.evaluate(() => {
        const root = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }).document.documentElement;
        return root.scrollWidth - root.clientWidth;
      });
      assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px`);
    } finally {
      await small.close();
    }
  });

  test('a reader sees no change buttons, and the API answers their changes 403', async () => {
    await demo.control({ as: 'reader' });
    try {
      await open();
      await page.getByRole('heading', { name: /Pipeline Data Complet/ }).waitFor();
      assert.match(await page.locator('.who').innerText(), /reader@localhost · reader/);
      assert.equal(await page.getByRole('button', { name: 'Run…' }).count(), 0);
      assert.equal(await page.getByRole('button', { name: /Pause|Resume/ }).count(), 0);
      await open('#/runs');
      await page.locator('table.runs tbody tr a').first().click();
      await page.locator('.gantt').waitFor();
      assert.equal(await page.getByRole('button', { name: /Cancel|Rerun/ }).count(), 0);
      const status = await page.evaluate(async () => {
        const response = await fetch('/api/console/pipelines/data-pipeline/runs', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-requested-with': 'durable-pipelines-console' },
          body: '{}',
        });
        return response.status;
      });
      assert.equal(status, 403);
    } finally {
      await demo.control({ as: 'operator' });
    }
  });

  test('no script error and no CSP violation happened on any page of this session', () => {
    assert.deepEqual(scriptErrors, []);
    assert.deepEqual(cspViolations, []);
  });
});
