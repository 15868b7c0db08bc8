/**
 * Issue 26: the console's run page shows the definition version a run follows and, after a deploy
 * changed the pipeline, the deployed version and the changes — checked in Chromium with axe. The
 * run started before the deploy finishes on its own definition (its COPY INTO loads the old table).
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { emulatedSignIn } from '../../scripts/signIn';
import type { AppHarness } from '../support/appHarness';
import { seriousViolations } from '../support/browser';
import { useConsoleSession } from '../support/consoleSession';
import { seedCatalog, V2_TABLE } from '../support/changedCatalog';

describe("the run page shows the run's definition version and the diff to the deployed one", () => {
  const signIn = emulatedSignIn('reader');
  const session = useConsoleSession(signIn, {
    startTime: new Date('2026-11-28T01:00:00Z'),
    catalog: seedCatalog('v1'),
    exportDelayMs: 0,
  });
  let app: AppHarness;
  let page: Page;
  before(() => {
    ({ app, page } = session);
  });
  const scriptErrors = session.scriptErrors;

  const status = async (runId: string): Promise<string> => (await app.api<{ status: string }>('GET', `runs/${encodeURIComponent(runId)}`)).json.status;
  const startRun = async (): Promise<string> => {
    const started = await app.api<{ runId: string }>('POST', 'pipelines/data-pipeline/runs', {});
    assert.equal(started.status, 202, started.text);
    return started.json.runId;
  };
  const axe = async (what: string): Promise<void> => {
    const violations = await seriousViolations(page);
    assert.deepEqual(violations.map((v) => `${v.id}: ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), [], `axe on ${what}`);
  };

  test('a run started before a deploy: its version, "changed since the run started", the changes; a run after it: "the deployed definition"', async () => {
    const before = await startRun();
    // the deploy happens while the run is in flight; it still ends on its own definition
    app.useCatalog(seedCatalog('v2'));
    const afterDeploy = await startRun();
    await app.until('both runs end', async () => ((await status(before)) === 'succeeded' && (await status(afterDeploy)) === 'succeeded' ? true : undefined), { timeoutMs: 60_000 });
    const copies = app.world.snowflake.queries.filter((q) => /^\s*COPY INTO/i.test(q.sql)).map((q) => q.sql);
    assert.equal(copies.filter((sql) => sql.includes('ma_table_destination')).length, 1, copies.join('\n'));
    assert.equal(copies.filter((sql) => sql.includes(V2_TABLE)).length, 1, copies.join('\n'));

    await page.goto(`${app.baseUrl}/#/runs/${encodeURIComponent(before)}`);
    const facts = page.locator('dl.facts');
    await facts.getByText('changed since the run started').waitFor();
    const summary = page.locator('details.definition-diff summary');
    assert.equal(await summary.textContent(), '2 changes in the deployed definition');
    await summary.click();
    const changes = (await page.locator('details.definition-diff li').allTextContents()).map((t) => t.replace(/\s+/g, ' ').trim());
    assert.deepEqual(changes, ['steps.export.body.format added: "v2"', `steps.load.statement.copyInto.table changed: "ma_table_destination" → "${V2_TABLE}"`]);
    const titles = async (): Promise<(string | null)[]> => Promise.all((await facts.locator('dd code[title^="sha256:"]').all()).map((code) => code.getAttribute('title')));
    const versions = await titles();
    const [runVersion, deployedVersion] = versions;
    assert.equal(versions.length, 2);
    assert.notEqual(runVersion, deployedVersion);
    await axe('a run on an older definition, diff open');

    await page.goto(`${app.baseUrl}/#/runs/${encodeURIComponent(afterDeploy)}`);
    await facts.getByText('the deployed definition').waitFor();
    assert.deepEqual(await titles(), [deployedVersion]);
    assert.equal(await page.locator('details.definition-diff').count(), 0);
    await axe('a run on the deployed definition');
    assert.deepEqual(scriptErrors, []);
  });
});
