/**
 * `npm run demo -- --pipeline <name>` for a pipeline that is not the seed (issue 22): the README's
 * example pipeline — its own secret names, Snowflake key-pair auth, a dbt Cloud job, a literal
 * Snowflake user — runs end to end against the stand-ins src/standins/pipelineWorld.ts points its
 * secrets and settings at; and what the demo cannot stand in for is said before anything runs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { startApp, type AppHarness } from '../support/appHarness';
import { loadCatalog } from '../../src/pipelines/catalog';
import { validatePipeline } from '../../src/pipelines/validate';
import type { PipelineDefinition } from '../../src/pipelines/schema';
import seed from '../../src/pipelines/definitions/data-pipeline';
import { standInsForPipeline, type PipelineStandIns } from '../../src/standins/pipelineWorld';

/** The README's "Writing a pipeline" example, as a user copies it into src/pipelines/definitions/. */
function readmeExample(): PipelineDefinition {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  const source = /```ts\nimport \{ definePipeline \} from '\.\.\/define';\n\nexport default definePipeline\((\{[\s\S]*?\})\);\n```/.exec(readme)?.[1];
  assert.ok(source, 'the README example pipeline');
  // The example is an object literal (comments, unquoted keys): evaluated as one, in an empty context.
  const input: unknown = runInNewContext(`(${source})`);
  const result = validatePipeline(input);
  assert.ok(result.ok, result.ok ? '' : result.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  return result.pipeline;
}

void describe('the demo runs any catalog pipeline against the stand-ins', () => {
  let app: AppHarness;
  let standIns: PipelineStandIns | undefined;
  const example = readmeExample();
  before(async () => {
    app = await startApp();
  });
  after(async () => {
    await standIns?.stop();
    await app.stop();
  });

  void test("the README's example pipeline: key-pair Snowflake login, dbt Cloud job, its own secrets — it succeeds", async () => {
    standIns = await standInsForPipeline(example, app.world);
    assert.deepEqual(standIns.problems, []);
    Object.assign(process.env, standIns.settings);
    app.useCatalog(loadCatalog([seed, example]));
    const before = app.world.snowflake.logins.length;
    const started = await app.api<{ runId: string }>('POST', `pipelines/${example.name}/runs`, { parameters: { day: '2026-11-27' } });
    assert.equal(started.status, 202, started.text);
    const run = await app.until('the example run to end', async () => {
      const view = (await app.api<{ status: string; steps: { id: string; status: string }[]; error?: { message: string } }>('GET', `runs/${encodeURIComponent(started.json.runId)}`)).json;
      return ['succeeded', 'failed', 'cancelled'].includes(view.status) ? view : undefined;
    }, { timeoutMs: 60_000 });
    assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
    assert.deepEqual(run.steps.map((s) => [s.id, s.status]), [['export', 'succeeded'], ['load', 'succeeded'], ['transform', 'succeeded']]);
    // Its own secrets were used: the export went to the stand-in through sales-export-url, Snowflake
    // took the key pair's JWT for the literal user LOADER, dbt Cloud got the job's run with the vars.
    const logins = app.world.snowflake.logins.slice(before);
    assert.ok(logins.some((l) => l.ok && l.user === 'LOADER' && l.authenticator === 'SNOWFLAKE_JWT'), JSON.stringify(logins));
    assert.equal(standIns.dbtCloud?.triggers.length, 1);
    assert.match(JSON.stringify(standIns.dbtCloud?.triggers[0]?.stepsOverride), /2026-11-27/);
  });

  void test('a URL written into the definition cannot be pointed at a stand-in: said before anything starts', async () => {
    const literal = { ...example, steps: example.steps.map((s) => (s.kind === 'azureFunction' ? { ...s, url: 'https://fn.example.com/api/export' } : s)) } as PipelineDefinition;
    const refused = await standInsForPipeline(literal, app.world);
    await refused.stop();
    assert.deepEqual(refused.problems, ['sales-nightly.steps[0] (export).url is written in the definition (https://fn.example.com/api/export): the demo points a step at its stand-in through a { secret } or { setting }']);
  });
});
