/**
 * Issue 26's fault suite found it (npm run bench -- faults, "storage"): with the run store down
 * when a run ended, `finishRun` logged "recording the run failed (ignored)" and the run's record
 * stayed running for ever, its end missing from the log. The run's end is now a write the run
 * cannot go without: finishRun fails, and the run tries it again on durable timers; it also writes
 * again the attempts the run saw end, so a row lost while the store was down is repaired.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import type { ActivityHandler } from 'durable-functions';
import { startApp, type AppHarness } from '../support/appHarness';
import { attemptRowKey } from '../../src/runs/keys';
import { createRunStoreTables } from '../../src/runs/tables';

const runsTable = () => createRunStoreTables({ connectionString: app.world.settings['RUN_STORE_CONNECTION_STRING'] ?? '' }, 'dp').runs;
const runIdOf = (input: unknown) => (input as { run: { runId: string } }).run.runId;

let app: AppHarness;
let storeDown = false;
let finishRunCalls = 0;

/** The run store's Table service unreachable while `storeDown` (what a stopped Azurite answers). */
const outage: PipelinePolicy = {
  name: 'storeOutage',
  sendRequest: (request, next) => (storeDown ? Promise.reject(Object.assign(new Error(`connect ECONNREFUSED ${new URL(request.url).host}`), { code: 'ECONNREFUSED' })) : next(request)),
};

before(async () => {
  app = await startApp({
    startTime: new Date('2026-11-28T01:00:00Z'),
    tableClientOptions: { additionalPolicies: [{ policy: outage, position: 'perRetry' }], retryOptions: { maxRetries: 0 } },
    // the store is down for the first finishRun only (everything before it was recorded)
    wrapRegistrations: (list) =>
      list.map((r) => {
        if (r.kind !== 'activity' || r.name !== 'finishRun') return r;
        const inner = r.handler;
        const handler: ActivityHandler = async (input, context) => {
          finishRunCalls++;
          // a write lost while the store was down: the last step's attempt row never got there
          if (finishRunCalls === 1) await runsTable().deleteEntity(runIdOf(input), attemptRowKey('transform', 1));
          storeDown = finishRunCalls === 1;
          try {
            return (await inner(input, context)) as unknown;
          } finally {
            storeDown = false;
          }
        };
        return { ...r, handler };
      }),
  });
});
after(async () => {
  await app?.stop();
});

test('a run that ends while the run store is down is recorded ended once the store is back', async () => {
  const started = await app.api<{ runId: string }>('POST', 'pipelines/data-pipeline/runs', {});
  assert.equal(started.status, 202, started.text);
  const runId = started.json.runId;
  await app.until('Durable says the run completed', () => Promise.resolve(app.host.status(runId)?.runtimeStatus === 'Completed' ? true : undefined), { timeoutMs: 60_000 });
  assert.equal(finishRunCalls, 2, 'finishRun tried again after the store came back');
  const stored = await app.store.getRun(runId);
  assert.equal(stored?.status, 'succeeded', JSON.stringify(stored));
  assert.ok(stored?.endedAt);
  // the attempt row lost in the outage is back, ended as the run saw it
  const attempts = await app.store.getAttempts(runId);
  const transform = attempts.find((a) => a.stepId === 'transform' && a.attempt === 1);
  assert.equal(transform?.status, 'succeeded', JSON.stringify(attempts));
  assert.ok(transform?.endedAt);
  const logs = (await app.api<{ lines: { msg: string }[] }>('GET', `runs/${encodeURIComponent(runId)}/logs`)).json.lines.map((l) => l.msg);
  assert.equal(logs.at(-1), 'run succeeded', logs.join('\n'));
});
