/**
 * `durable-pipelines cost` prices the seed from a committed measurement
 * (src/cost/seed-run.measured.json). This re-measures one seed run through the real app and fails
 * when the file is stale: refresh it with `npm run bench -- runStore`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seedRunMeasurement } from '../../src/cost';
import { measureSeedRun } from '../support/measureRun';

test('the committed seed-run measurement matches a run measured now, and stays within the table budget', async () => {
  const measured = await measureSeedRun();
  assert.deepEqual(
    measured,
    seedRunMeasurement(),
    `src/cost/seed-run.measured.json is stale (measured now: ${JSON.stringify(measured)}): run \`npm run bench -- runStore\` and commit it`,
  );
  // Issue 12: at most 2 table operations per step + 2 per run; issue 20 adds 2 per run (the record
  // the API creates before the run starts, the run's check against it: docs/run-store.md).
  assert.ok(measured.tableOperations <= 2 * measured.steps + 4, `${measured.tableOperations} table operations for ${measured.steps} steps`);
});
