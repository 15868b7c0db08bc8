/**
 * The shipped language example end to end (issue 23): `folders-pipeline` — export → COPY INTO for
 * each folder → dbt with the rows loaded (`when`) → the `daily-report` pipeline as a step, and a
 * failure report on `conditions` — run through the API against the stand-ins. The child run is a
 * run of its own, linked both ways in the API, the CLI and the console (Chromium, axe): the graph
 * shows the pipeline step, the run page links the step to its child and the child to its parent.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { emulatedSignIn } from '../../scripts/signIn';
import { loadDefinitions } from '../../src/pipelines/definitions';
import type { AppHarness } from '../support/appHarness';
import { seriousViolations } from '../support/browser';
import { runCli } from '../support/cliRun';
import { useConsoleSession } from '../support/consoleSession';

interface StepJson {
  id: string;
  status: string;
  output?: { runId?: string; pipeline?: string; status?: string };
  childRun?: { runId: string; pipeline: string; link: string };
}
interface RunJson {
  runId: string;
  pipeline: string;
  status: string;
  trigger?: { kind: string; origin?: string };
  parameters?: Record<string, unknown>;
  parent?: { runId: string; stepId: string; link: string };
  steps: StepJson[];
}

describe('the language example runs a reporting pipeline as a step, linked both ways', () => {
  const signIn = emulatedSignIn('reader');
  const session = useConsoleSession(signIn, { startTime: new Date('2026-11-28T01:00:00Z'), catalog: loadDefinitions(), exportDelayMs: 0 });
  let app: AppHarness;
  let page: Page;
  before(() => {
    ({ app, page } = session);
  });
  const run = async (runId: string): Promise<RunJson> => (await app.api<RunJson>('GET', `runs/${encodeURIComponent(runId)}`)).json;
  const axe = async (what: string): Promise<void> => {
    const violations = await seriousViolations(page);
    assert.deepEqual(violations.map((v) => `${v.id}: ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), [], `axe on ${what}`);
  };

  test('folders-pipeline succeeds with its child run; API, CLI and console show the links; the graph shows the pipeline step', async () => {
    const started = await app.api<{ runId: string }>('POST', 'pipelines/folders-pipeline/runs', { parameters: { day: '2026-11-28' } });
    assert.equal(started.status, 202, started.text);
    const parentId = started.json.runId;
    const parent = await app.until('the parent run ends', async () => {
      const view = await run(parentId);
      return view.status === 'succeeded' || view.status === 'failed' ? view : undefined;
    }, { timeoutMs: 120_000 });
    assert.deepEqual(Object.fromEntries(parent.steps.filter((s) => !s.id.includes('[')).map((s) => [s.id, s.status])), {
      export: 'succeeded', load: 'succeeded', transform: 'succeeded', report: 'succeeded', 'report-failure': 'skipped',
    });
    assert.equal(parent.status, 'succeeded');

    // API: the step names its child (output and link), the child names its parent.
    const report = parent.steps.find((s) => s.id === 'report');
    const childId = report?.childRun?.runId ?? '';
    assert.match(childId, /^daily-report-child-[0-9a-f]{24}$/);
    assert.deepEqual(report?.output, { runId: childId, pipeline: 'daily-report', status: 'succeeded' });
    const child = await run(childId);
    assert.equal(child.status, 'succeeded');
    // Links are built like the run's own `links.self` (the API's base URL, none in this harness).
    assert.deepEqual(child.parent, { runId: parentId, stepId: 'report', link: `/api/runs/${parentId}` });
    assert.equal(child.trigger?.kind, 'pipeline');
    assert.equal(child.trigger?.origin, `${parentId}/report`);
    // The child got the day and the rows the parent loaded (a step output as its parameter).
    const loaded = (await app.api<{ metrics: Record<string, Record<string, unknown>> }>('GET', `runs/${encodeURIComponent(parentId)}`)).json.metrics['load']?.['rowsLoaded'];
    assert.deepEqual(child.parameters, { day: '2026-11-28', rows: loaded });
    const published = app.world.exportFunction.calls.filter((c) => JSON.stringify(c.body).includes('publish_report'));
    assert.equal(published.length, 1, 'the child published the report once');

    // CLI: runs show, both ways.
    const shownParent = await runCli(app.baseUrl, 'runs', 'show', parentId);
    assert.equal(shownParent.code, 0, shownParent.out);
    assert.match(shownParent.out, new RegExp(`report\\s+succeeded\\s+1\\s+\\S+\\s+child run ${childId}`));
    const shownChild = await runCli(app.baseUrl, 'runs', 'show', childId);
    assert.match(shownChild.out, new RegExp(`started by: step report of run ${parentId}\\nparent run: ${parentId} \\(step report\\)`));

    // Console: the graph marks the pipeline step and what it runs.
    await page.goto(`${app.baseUrl}/#/pipelines`);
    const graph = page.locator('svg.dag[aria-label*="report after transform (runs pipeline daily-report)"]');
    await graph.waitFor();
    assert.equal(await graph.locator('g.node-pipeline text').nth(1).textContent(), 'report · ▶ daily-report');
    await axe('the pipelines page with a pipeline step');

    // The run page: the step links to its child run; the child's page links back to its parent.
    await page.goto(`${app.baseUrl}/#/runs/${encodeURIComponent(parentId)}`);
    const toChild = page.locator('a.child-run');
    await toChild.waitFor();
    assert.equal(await toChild.getAttribute('href'), `#/runs/${childId}`);
    assert.equal((await toChild.textContent())?.trim(), 'child run of daily-report');
    await axe("the parent's run page");
    await toChild.click();
    const toParent = page.locator('a.parent-run');
    await toParent.waitFor();
    assert.equal(await toParent.getAttribute('href'), `#/runs/${parentId}`);
    assert.match((await page.locator('dl.facts').first().textContent()) ?? '', new RegExp(`Started bystep report of run ${parentId} · parent run \\(step report\\)`));
    await axe("the child's run page");
    assert.deepEqual(session.scriptErrors, []);
  });
});
