import { definePipeline } from '../define';
import seed from './data-pipeline';

const [seedExport] = seed.steps;

/**
 * The reporting pipeline `folders-pipeline` runs as a step (docs/pipelines.md, section 4): it
 * publishes the day's report through the export function (the seed's service, action
 * `publish_report`) with the rows the caller loaded. A run of its own — it can also be started
 * alone (`durable-pipelines run daily-report --param day=2026-11-28 --param rows=0`).
 */
export default definePipeline({
  name: 'daily-report',
  title: 'Rapport quotidien',
  description: "Publishes the day's load report; run as a step by folders-pipeline",
  tags: ['data-pipeline', 'example'],
  parameters: {
    day: { type: 'date', default: { run: 'logicalDate' }, description: 'the day reported' },
    rows: { type: 'integer', min: 0, description: 'rows loaded that day' },
  },
  steps: [
    {
      id: 'publish',
      kind: 'azureFunction',
      title: 'Publish the report',
      url: seedExport.url,
      functionKey: seedExport.functionKey,
      body: { action: 'publish_report', day: { param: 'day' }, rows: { param: 'rows' } },
      retry: { retries: 2, delays: '60s' },
      timeout: '10m',
    },
  ],
});
