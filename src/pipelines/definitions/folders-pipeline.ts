import { definePipeline } from '../define';
import seed from './data-pipeline';

// The seed's services, as the seed names them: one place to change a secret name.
const [seedExport, seedLoad, seedTransform] = seed.steps;

/**
 * The language example (docs/pipelines.md): the seed's services, with data between steps, a
 * condition, `when`, `forEach` and a pipeline as a step. Export once; load every folder of the
 * list, two at a time, only when the export wrote files; run dbt with the rows loaded, only when
 * some were; then run the reporting pipeline `daily-report` as a child run with the day and the
 * rows loaded; report a failed load to the export function (a handled failure: the run still
 * succeeds when the report does). Same secrets and settings as the seed; no schedule.
 */
export default definePipeline({
  name: 'folders-pipeline',
  title: 'Pipeline par dossier',
  description: 'Azure Function → COPY INTO for each folder (2 at a time) → dbt with the rows loaded → daily-report pipeline; failure report',
  tags: ['data-pipeline', 'example'],
  parameters: {
    day: { type: 'date', default: { run: 'logicalDate' }, description: "the run's day, passed to dbt" },
    folders: { type: 'list', default: ['2026-11-27', '2026-11-28'], description: 'export folders to load, one COPY INTO each' },
  },
  steps: [
    {
      id: 'export',
      kind: 'azureFunction',
      title: 'Export to Blob Storage',
      url: seedExport.url,
      functionKey: seedExport.functionKey,
      body: seedExport.body,
      output: { object: { status: 'string', files_exported: 'integer', row_count: 'integer' } },
      retry: { retries: 3, delays: '60s' },
      timeout: '30m',
    },
    {
      id: 'load',
      kind: 'snowflake',
      title: 'COPY INTO, one folder at a time',
      dependsOn: ['export'],
      when: 'steps.export.output.files_exported > 0',
      forEach: { items: { param: 'folders' }, maxParallel: 2 },
      connection: seedLoad.connection,
      statement: {
        copyInto: { table: 'ma_table_destination', stage: 'mon_stage_azure', path: 'chemin/vers/fichiers/{item}', fileFormat: { type: 'JSON' }, onError: 'CONTINUE' },
      },
      retry: { retries: 3, delays: '120s' },
      timeout: '1h',
    },
    {
      id: 'transform',
      kind: 'dbt',
      title: 'dbt run with the rows loaded',
      dependsOn: ['load'],
      when: 'steps.load.metrics.rowsLoaded > 0',
      runner: seedTransform.runner,
      command: 'run',
      vars: { day: { param: 'day' }, rows_loaded: { step: 'load', path: 'metrics.rowsLoaded' } },
      retry: { retries: 2, delays: '60s' },
      timeout: '2h',
    },
    {
      id: 'report',
      kind: 'pipeline',
      title: 'Daily report (pipeline)',
      dependsOn: ['transform'],
      pipeline: 'daily-report',
      parameters: { day: { param: 'day' }, rows: { step: 'load', path: 'metrics.rowsLoaded' } },
      // No pollInterval: the child's end wakes the step; its 5-min default only catches a lost wake.
      timeout: '1h',
    },
    {
      id: 'report-failure',
      kind: 'azureFunction',
      title: 'Report a failed load',
      dependsOn: ['load'],
      conditions: { load: 'failed' },
      url: seedExport.url,
      functionKey: seedExport.functionKey,
      body: { action: 'report_failure', step: 'load', day: { param: 'day' } },
    },
  ],
});
