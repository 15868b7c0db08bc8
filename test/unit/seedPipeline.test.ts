import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCatalog } from '../../src/pipelines/catalog';
import { pipelineInputs } from '../../src/pipelines/definitions';
import { topologicalOrder } from '../../src/pipelines/graph';
import { referencedNames } from '../../src/pipelines/references';

// The numbers of the Prefect deployment this replaces (shared/BRIEF.md §1).
test('the seed pipeline matches the Prefect flow it replaces', () => {
  const catalog = loadCatalog(pipelineInputs);
  const p = catalog.get('data-pipeline');
  assert.ok(p, 'data-pipeline is shipped');
  assert.equal(p.title, 'Pipeline Data Complet');
  assert.deepEqual(topologicalOrder(p.steps), ['export', 'load', 'transform']);

  // Prefect's @task(retries=3, retry_delay_seconds=60) is one try plus three retries: 4 tries.
  const [exportStep, load, transform] = p.steps;
  assert.equal(exportStep?.kind, 'azureFunction');
  assert.deepEqual([exportStep?.retry.attempts, exportStep?.retry.delays], [4, 60]);
  assert.equal(load?.kind, 'snowflake');
  assert.deepEqual([load?.retry.attempts, load?.retry.delays], [4, 120]);
  assert.equal(transform?.kind, 'dbt');
  assert.deepEqual([transform?.retry.attempts, transform?.retry.delays], [3, 60]);
  // `day` is a calendar date, by default the run's logical date (the slot's, for a scheduled run).
  assert.deepEqual(p.parameters['day'], { type: 'date', default: { run: 'logicalDate' }, description: "export day folder to load; default: the run's logical date (UTC)" });
  assert.deepEqual(p.pipelineRetry, { retries: 1, delay: 300, retryPermanent: false });

  if (exportStep?.kind !== 'azureFunction' || load?.kind !== 'snowflake' || transform?.kind !== 'dbt') throw new Error('kinds');
  assert.deepEqual(exportStep.body, { action: 'export_to_blob' });
  assert.equal(exportStep.method, 'POST');
  assert.deepEqual(load.statement, {
    copyInto: {
      table: 'ma_table_destination',
      stage: 'mon_stage_azure',
      // The Prefect flow's folder; {param.day} picks one day's subfolder (the run's logical date by default).
      path: 'chemin/vers/fichiers/{param.day}',
      fileFormat: { type: 'JSON', options: {} },
      onError: 'CONTINUE',
      purge: false,
      force: false,
    },
  });
  assert.equal(transform.command, 'run');

  const byName = Object.fromEntries(p.schedules.map((s) => [s.name, s]));
  assert.deepEqual(
    [byName['production-daily']?.cron, byName['production-daily']?.timezone, byName['production-daily']?.tags],
    ['0 2 * * *', 'Europe/Paris', ['production', 'daily', 'data-pipeline']],
  );
  assert.deepEqual([byName['test-hourly']?.cron, byName['test-hourly']?.timezone, byName['test-hourly']?.tags], ['0 * * * *', 'UTC', ['test', 'hourly']]);

  assert.deepEqual(p.alerts, [{ on: ['failed'], channel: 'slack', webhook: { secret: 'slack-webhook-url' } }]);

  // Secrets are named, never held, and they are the brief's names.
  const names = new Set(referencedNames(p, 'secret'));
  for (const name of ['azure-function-url', 'azure-function-key', 'snowflake-account', 'snowflake-user', 'snowflake-password', 'snowflake-warehouse', 'snowflake-database', 'snowflake-schema']) {
    assert.ok(names.has(name), `seed uses secret ${name}`);
  }
});
