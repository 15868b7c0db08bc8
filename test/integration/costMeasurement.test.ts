/**
 * `durable-pipelines cost` prices the seed from a committed measurement
 * (src/cost/seed-run.measured.json: the seed at 1 and at 10 polls per long job). This re-measures
 * both runs through the real app and fails when the file is stale — a timer, a poll, a table
 * operation or a log line more or less per run — so the estimate cannot drift from what the app
 * does: refresh it with `npm run bench -- runStore`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MEASURED_POLLS, seedRunMeasurement } from '../../src/cost';
import { measureSeedRun } from '../support/measureRun';
import { loadDefinitions } from '../../src/pipelines/definitions';

test('the committed seed-run measurement matches runs measured now, polls included', async () => {
  const measured = await measureSeedRun();
  assert.deepEqual(
    measured,
    seedRunMeasurement(),
    `src/cost/seed-run.measured.json is stale (measured now: ${JSON.stringify(measured)}): run \`npm run bench -- runStore\` and commit it`,
  );
  measured.runs.forEach((run, i) => {
    // The stand-ins really made every long job take N polls.
    for (const job of measured.longJobs) assert.equal(run.pollsByStep[job], MEASURED_POLLS[i], `${job} polls at N = ${MEASURED_POLLS[i]}`);
    // Issue 12: at most 2 run-store table operations per step + 2 per run, + 1 per polled job's status write;
    // issue 20 adds 2 per run (the record the API creates before the run starts, the run's check against it: docs/run-store.md);
    // issue 26 adds 1 (the definition pinned at start; its table is created with the others, once per process);
    // issue 25: + 1 index row for the run's project and 1 per tag it carries (the seed's manual
    // run: its pipeline's one tag), so --project and --tag listings read only their own runs.
    const labelRows = 1 + (loadDefinitions().get(measured.pipeline)?.tags.length ?? 0);
    assert.ok(run.tableOperations <= 2 * measured.steps + 5 + measured.longJobs.length + labelRows, `${run.tableOperations} table operations for ${measured.steps} steps`);
  });
});
