import { definePipeline } from '../define';

/**
 * The nightly pipeline our users ran on Prefect ("Pipeline Data Complet"): export to Blob Storage
 * through an Azure Function, COPY INTO Snowflake, then `dbt run`. Retry numbers, schedules, tags and
 * secret names are those of the Prefect deployment it replaces; `retries` counts as Prefect's
 * `@task(retries=3, retry_delay_seconds=60)` does: one try plus three retries.
 */
export default definePipeline({
  name: 'data-pipeline',
  title: 'Pipeline Data Complet',
  description: 'Azure Function → Snowflake COPY INTO → dbt',
  tags: ['data-pipeline'],
  parameters: {
    // Exports land in one folder per day. A run loads its logical date's folder: the slot's UTC
    // date for a scheduled run, the request's for a manual one (Airflow's `ds`). A day that is not
    // a calendar date (`yesterday`, `2026-13-01`) is refused before any step runs.
    day: { type: 'date', default: { run: 'logicalDate' }, description: "export day folder to load; default: the run's logical date (UTC)" },
  },
  steps: [
    {
      id: 'export',
      kind: 'azureFunction',
      title: 'Export to Blob Storage',
      url: { secret: 'azure-function-url' },
      functionKey: { secret: 'azure-function-key' },
      method: 'POST',
      body: { action: 'export_to_blob' },
      retry: { retries: 3, delays: '60s' },
      timeout: '30m',
    },
    {
      id: 'load',
      kind: 'snowflake',
      title: 'COPY INTO Snowflake',
      dependsOn: ['export'],
      connection: {
        account: { secret: 'snowflake-account' },
        user: { secret: 'snowflake-user' },
        // The Prefect setup used a password. Snowflake is retiring single-factor passwords:
        // switch to { type: 'keyPair', privateKey: { secret: 'snowflake-private-key' } } or
        // { type: 'workloadIdentity' } (no secret at all) as soon as the user allows it.
        auth: { type: 'password', password: { secret: 'snowflake-password' } },
        warehouse: { secret: 'snowflake-warehouse' },
        database: { secret: 'snowflake-database' },
        schema: { secret: 'snowflake-schema' },
      },
      statement: {
        copyInto: {
          table: 'ma_table_destination',
          stage: 'mon_stage_azure',
          path: 'chemin/vers/fichiers/{param.day}',
          fileFormat: { type: 'JSON' },
          onError: 'CONTINUE',
        },
      },
      retry: { retries: 3, delays: '120s' },
      timeout: '1h',
    },
    {
      id: 'transform',
      kind: 'dbt',
      title: 'dbt run',
      dependsOn: ['load'],
      runner: {
        type: 'containerAppsJob',
        jobResourceId: { setting: 'DBT_JOB_RESOURCE_ID' },
        resultsContainerUrl: { setting: 'DBT_RESULTS_CONTAINER_URL' },
      },
      command: 'run',
      retry: { retries: 2, delays: '60s' },
      timeout: '2h',
    },
  ],
  pipelineRetry: { retries: 1, delay: '300s' },
  schedules: [
    {
      name: 'production-daily',
      cron: '0 2 * * *',
      timezone: 'Europe/Paris',
      tags: ['production', 'daily', 'data-pipeline'],
    },
    {
      name: 'test-hourly',
      cron: '0 * * * *',
      timezone: 'UTC',
      tags: ['test', 'hourly'],
    },
  ],
  alerts: [{ on: ['failed'], channel: 'slack', webhook: { secret: 'slack-webhook-url' } }],
});
