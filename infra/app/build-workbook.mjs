#!/usr/bin/env node
// Regenerates workbook.json from queries/*.kql: `node infra/app/build-workbook.mjs`.
// The workbook embeds each query verbatim (test/unit/consistency.test.ts checks it); edit the
// .kql file, run this, and paste the new query into docs/monitoring.md. Every query is parsed and
// type-checked by Kusto's language service, and the event fields it reads are checked against
// src/logging/events.ts (test/unit/telemetryQueries.test.ts).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const query = (name) => readFileSync(join(here, 'queries', `${name}.kql`), 'utf8').trimEnd();

const item = (name, title, visualization, extra = {}) => ({
  type: 3,
  name,
  content: {
    version: 'KqlItem/1.0',
    title,
    query: query(name),
    size: 0,
    timeContextFromParameter: 'TimeRange',
    queryType: 0,
    resourceType: 'microsoft.insights/components',
    visualization,
    ...extra,
  },
});

const workbook = {
  version: 'Notebook/1.0',
  items: [
    {
      type: 1,
      name: 'intro',
      content: {
        json: "## durable-pipelines runs\nBuilt from the events the app logs (`run.finished`, `step.finished`; defined in src/logging/events.ts) as JSON lines in Application Insights `traces` (`parse_json(message)`). The queries are documented in docs/monitoring.md.",
      },
    },
    {
      type: 9,
      name: 'parameters',
      content: {
        version: 'KqlParameterItem/1.0',
        parameters: [
          {
            id: 'b6f3f0d2-4f57-4a8e-9b55-2f6f1c2d7a01',
            version: 'KqlParameterItem/1.0',
            name: 'TimeRange',
            label: 'Time range',
            type: 4,
            isRequired: true,
            value: { durationMs: 1209600000 },
            typeSettings: {
              selectableValues: [{ durationMs: 86400000 }, { durationMs: 604800000 }, { durationMs: 1209600000 }, { durationMs: 2592000000 }],
              allowCustom: true,
            },
          },
        ],
      },
    },
    item('runs-per-day', 'Runs per day by status', 'barchart', {
      chartSettings: {
        xAxis: 'day',
        seriesLabelSettings: [
          { seriesName: 'succeeded', color: 'green' },
          { seriesName: 'failed', color: 'redBright' },
          { seriesName: 'cancelled', color: 'gray' },
        ],
      },
    }),
    item('step-duration', 'Duration per step (seconds, per run)', 'table'),
    item('rows-loaded', 'Rows loaded per day', 'barchart'),
    item('recent-failures', 'Recent failures', 'table'),
  ],
  isLocked: false,
  fallbackResourceIds: [],
};

writeFileSync(join(here, 'workbook.json'), `${JSON.stringify(workbook, null, 2)}\n`);
