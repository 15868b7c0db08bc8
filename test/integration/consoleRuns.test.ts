/**
 * The console's run page in Chromium, moving from run to run inside the app (no reload): the log
 * pane, timeline and steps always belong to the run in the address bar — after a rerun, a link,
 * back and forward, and while live refresh brings new lines (issue 22). And a run waiting for its
 * pipeline retry shows the wait: when the next attempt starts, drawn on the timeline to that time.
 *
 * The app runs in the development host on a virtual clock this test drives (not the demo's pump),
 * so a run can be held in the pipeline-retry wait while the browser looks at it. A recorder in the
 * page notes, at every DOM change, which run the address names and what the page shows: one frame
 * of another run's log or bars fails the test, however briefly it was shown.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { emulatedSignIn } from '../../scripts/signIn';
import type { AppHarness } from '../support/appHarness';
import { seriousViolations } from '../support/browser';
import { useConsoleSession } from '../support/consoleSession';

interface RunJson {
  status: string;
  pipelineRetry?: { attempt: number; at: string };
}

/** What the page showed at one DOM change. */
interface Frame {
  readonly hash: string;
  readonly log: string;
  readonly failedBars: number;
}

describe('the run page in Chromium, across in-app navigation and the pipeline-retry wait', () => {
  const signIn = emulatedSignIn('operator');
  const session = useConsoleSession(signIn, {
    startTime: new Date('2026-11-28T01:00:00Z'),
  });
  let app: AppHarness;
  let page: Page;
  before(() => {
    ({ app, page } = session);
  });
  const scriptErrors = session.scriptErrors;

  const view = async (runId: string): Promise<RunJson> => (await app.api<RunJson>('GET', `runs/${encodeURIComponent(runId)}`)).json;
  const startRun = async (): Promise<string> => {
    const started = await app.api<{ runId: string }>('POST', 'pipelines/data-pipeline/runs', {});
    assert.equal(started.status, 202, started.text);
    return started.json.runId;
  };
  const finish = (runId: string, status: string) => app.until(`run ${runId} ${status}`, async () => ((await view(runId)).status === status ? true : undefined), { timeoutMs: 60_000 });
  const runIdInAddress = (): string => decodeURIComponent(new URL(page.url()).hash.replace(/^#\/runs\//, ''));
  const logPane = () => page.locator('pre.log');
  const heading = (runId: string) => page.locator('h1 code', { hasText: runId });

  /**
   * Starts noting, at every DOM change, the run in the address and what the page shows of a run.
   * Given as source text: the page runs it as written (no helpers a TypeScript transform adds).
   */
  const startRecording = () =>
    page.evaluate(`(() => {
      window.__frames = [];
      const note = () => window.__frames.push({
        hash: location.hash,
        log: document.querySelector('pre.log')?.textContent ?? '',
        failedBars: document.querySelectorAll('.gantt .bar-attempt.bar-failed').length,
      });
      new MutationObserver(note).observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
      note();
    })()`);
  const frames = (): Promise<Frame[]> => page.evaluate(() => (globalThis as unknown as { __frames: Frame[] }).__frames);

  let failedRun = '';
  let rerun = '';

  test('a rerun, the link back to its source, back and forward: each run page shows only its own log and bars', async () => {
    app.setFailStep('load');
    // Its failure alert goes to a webhook Slack no longer knows (404 no_service).
    app.world.keyVault.setSecret('slack-webhook-url', `${app.world.slack.baseUrl}/services/revoked`);
    app.services.secrets.invalidate('slack-webhook-url');
    try {
      failedRun = await startRun();
      await finish(failedRun, 'failed');
    } finally {
      app.setFailStep(undefined);
      app.world.keyVault.setSecret('slack-webhook-url', app.world.slack.slackUrl);
      app.services.secrets.invalidate('slack-webhook-url');
    }
    await page.goto(`${app.baseUrl}/#/runs/${encodeURIComponent(failedRun)}`);
    await logPane().filter({ hasText: /ERROR run failed/ }).waitFor();
    // The alert that was not delivered fails nothing, so the page says it.
    await page.getByRole('alert').filter({ hasText: 'Alert not delivered: slack (webhook secret slack-webhook-url): webhook answered HTTP 404: no_service' }).waitFor();
    await page.locator('.gantt .bar-attempt.bar-failed').first().waitFor();
    await startRecording();

    // Rerun from failed: the app moves to the new run without a reload; its page starts empty.
    await page.getByRole('button', { name: 'Rerun from failed' }).click();
    await page.waitForURL((url) => url.hash.startsWith('#/runs/') && !url.hash.includes(encodeURIComponent(failedRun)));
    rerun = runIdInAddress();
    await heading(rerun).waitFor();
    // Live refresh brings the rerun's lines as it runs.
    await finish(rerun, 'succeeded');
    await logPane().filter({ hasText: /INFO {2}run succeeded/ }).waitFor({ timeout: 30_000 });
    assert.doesNotMatch((await logPane().textContent()) ?? '', /run failed|attempt 8/);

    // The summary's link to the source run, then back and forward in the browser's history.
    await page.getByRole('link', { name: failedRun }).click();
    await heading(failedRun).waitFor();
    await logPane().filter({ hasText: /ERROR run failed/ }).waitFor();
    assert.doesNotMatch((await logPane().textContent()) ?? '', /run succeeded/);
    await page.goBack();
    await heading(rerun).waitFor();
    await logPane().filter({ hasText: /run succeeded/ }).waitFor();
    await page.goForward();
    await heading(failedRun).waitFor();
    await logPane().filter({ hasText: /run failed/ }).waitFor();

    const seen = await frames();
    const onRerun = seen.filter((f) => f.hash.includes(encodeURIComponent(rerun)));
    const onFailed = seen.filter((f) => f.hash.includes(encodeURIComponent(failedRun)));
    assert.ok(onRerun.length > 0 && onFailed.length > 0, `${seen.length} frames`);
    assert.deepEqual(onRerun.filter((f) => /run failed|attempt [2-8]/.test(f.log) || f.failedBars > 0), [], 'a frame of the rerun showed the failed run');
    assert.deepEqual(onFailed.filter((f) => /run succeeded/.test(f.log)), [], 'a frame of the failed run showed the rerun');
  });

  test('Cancel asks first; a cancelled run reached by a link shows its own end, not the previous page\'s', async () => {
    app.setExportDelay(4000);
    let cancelled = '';
    try {
      cancelled = await startRun();
      await page.goto(`${app.baseUrl}/#/runs/${encodeURIComponent(rerun)}`);
      await logPane().filter({ hasText: /run succeeded/ }).waitFor();
      await startRecording();
      // In-app, by the runs list.
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Runs' }).click();
      await page.getByRole('link', { name: cancelled }).click();
      await heading(cancelled).waitFor();
      await page.getByRole('button', { name: 'Cancel run' }).click();
      await page.getByRole('button', { name: 'Keep it running' }).click();
      assert.equal((await view(cancelled)).status, 'running', 'backing out cancels nothing');
      await page.getByRole('button', { name: 'Cancel run' }).click();
      await page.getByRole('button', { name: 'Yes, cancel the run' }).click();
      await finish(cancelled, 'cancelled');
      await page.locator('h1 .badge', { hasText: 'cancelled' }).waitFor({ timeout: 30_000 });
      await logPane().filter({ hasText: /run cancelled/ }).waitFor({ timeout: 30_000 });
    } finally {
      app.setExportDelay(undefined);
    }
    const onCancelled = (await frames()).filter((f) => f.hash.includes(encodeURIComponent(cancelled)));
    assert.ok(onCancelled.length > 0);
    assert.deepEqual(onCancelled.filter((f) => /run succeeded/.test(f.log)), [], 'the cancelled run showed the previous run\'s end');
  });

  test('while a failed round waits for its pipeline retry, the page says when attempt 2 starts and draws the wait to then', async () => {
    app.setFailStep('load');
    let waiting: RunJson | undefined;
    const runId = await startRun();
    try {
      // The seed's load: 4 tries 120 s apart, then the pipeline retry 300 s after the last failure.
      for (let i = 0; i < 30 && !waiting?.pipelineRetry; i++) {
        await app.host.advance(60_000);
        waiting = await view(runId);
      }
      assert.ok(waiting?.pipelineRetry, JSON.stringify(waiting));
      await page.goto(`${app.baseUrl}/#/runs/${encodeURIComponent(runId)}`);
      const next = page.locator('dl.facts dd.waiting-retry');
      await next.waitFor();
      assert.equal(await next.textContent(), `pipeline attempt 2 at ${waiting.pipelineRetry.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}: the steps that did not succeed run again then`);
      // One wait bar on each step that will run again (load, transform), ending where the axis ends.
      const waits = page.locator('.gantt-track .bar-pipeline-wait');
      assert.equal(await waits.count(), 2);
      const ends = await waits.evaluateAll((bars) =>
        bars.map((bar) => {
          const box = (bar as unknown as { getBoundingClientRect(): { right: number } }).getBoundingClientRect();
          const track = (bar as unknown as { parentElement: { getBoundingClientRect(): { right: number } } }).parentElement.getBoundingClientRect();
          return Math.round(track.right - box.right);
        }),
      );
      assert.deepEqual(ends, [0, 0], 'the wait is drawn up to its end time, the end of the axis');
      assert.match((await waits.first().textContent()) ?? '', /waiting for pipeline attempt 2 at /);
      const violations = await seriousViolations(page);
      assert.deepEqual(violations.map((v) => `${v.id}: ${v.help}`), [], 'axe on the waiting run');
    } finally {
      app.setFailStep(undefined);
    }
    // The retry starts (and succeeds, the service being healthy again): the wait is gone.
    await finish(runId, 'succeeded');
    await page.locator('h1 .badge', { hasText: 'succeeded' }).waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('.gantt-track .bar-pipeline-wait').count(), 0);
    assert.equal(await page.locator('dd.waiting-retry').count(), 0);
  });

  test('a double-click on a rerun button starts one rerun (red-team pass 2, F10)', async () => {
    assert.ok(failedRun, 'the first test made a failed run');
    const rerunsOf = async (): Promise<string[]> =>
      (await app.api<{ runs: { runId: string; trigger?: { kind: string; origin?: string } }[] }>('GET', 'runs?limit=100')).json.runs
        .filter((r) => r.trigger?.kind === 'rerun' && r.trigger.origin === failedRun)
        .map((r) => r.runId);
    const before = await rerunsOf();
    const posts: string[] = [];
    const noteRerun = (request: { method(): string; url(): string }): void => {
      if (request.method() === 'POST' && request.url().endsWith('/rerun')) posts.push(request.url());
    };
    page.on('request', noteRerun);
    try {
      await page.goto(`${app.baseUrl}/#/runs/${encodeURIComponent(failedRun)}`);
      await heading(failedRun).waitFor();
      await page.getByLabel('Rerun from step').selectOption('transform');
      await page.getByRole('button', { name: 'Rerun from transform' }).dblclick();
      await page.waitForURL((url) => url.hash.startsWith('#/runs/') && !url.hash.includes(encodeURIComponent(failedRun)));
      const started = runIdInAddress();
      await finish(started, 'succeeded');
      const after = (await rerunsOf()).filter((id) => !before.includes(id));
      assert.deepEqual(after, [started], `POSTs sent: ${posts.length}`);
    } finally {
      page.off('request', noteRerun);
    }
  });

  test('no script error on any page of this session', () => {
    assert.deepEqual(scriptErrors, []);
  });
});
