/**
 * Issue 26: a run's alert is sent once per run and event, although `finishRun` runs at least once
 * (a host that dies after the alert and before the activity's completion is recorded runs it
 * again). The claim lives in the run store (Azurite here). A delivery that died between claiming
 * and recording the send cannot be told from one that never sent: the next sends again and logs
 * the possible duplicate (a webhook takes no idempotency key).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createStepActivities } from '../../src/activities';
import type { RunState } from '../../src/engine/types';
import { createLogger } from '../../src/logging/logger';
import type { RunEvent } from '../../src/notify/event';
import { loadCatalog } from '../../src/pipelines/catalog';
import { pipelineInputs } from '../../src/pipelines/definitions';
import { startAzurite, type AzuriteInstance } from '../../src/standins/azurite';
import { createRunStore } from '../../src/runs/tableStore';
import { createRunStoreTables } from '../../src/runs/tables';

let azurite: AzuriteInstance;
before(async () => {
  azurite = await startAzurite({ blob: false });
});
after(async () => {
  await azurite.stop();
});

const failed = (runId: string): RunState => ({
  runId,
  pipeline: 'data-pipeline',
  status: 'failed',
  pipelineAttempt: 1,
  startedAt: '2026-03-02T01:00:00.000Z',
  endedAt: '2026-03-02T01:05:00.000Z',
  durationSeconds: 300,
  steps: [{ id: 'export', status: 'failed', attempts: [], error: { class: 'permanent', message: 'HTTP 401' } }],
  error: { class: 'permanent', message: 'HTTP 401', stepId: 'export' },
});

function activitiesWith(prefix: string, notify: (event: RunEvent) => Promise<unknown>) {
  const store = createRunStore({ tables: createRunStoreTables({ connectionString: azurite.connectionString }, prefix) });
  const lines: string[] = [];
  const destination = new Writable({ write: (chunk: Buffer, _e, done) => void (lines.push(chunk.toString('utf8')), done()) });
  const activities = createStepActivities({
    catalog: loadCatalog(pipelineInputs),
    adapters: {},
    secrets: { get: (name) => Promise.resolve(`s3cr3t-${name}`), invalidate: () => undefined },
    settings: () => undefined,
    recorder: store,
    alerts: store,
    notifier: { notify },
    logger: createLogger({ level: 'info', destination }),
  });
  return { activities, store, lines };
}

describe('alerts once per run and event', () => {
  test('finishRun delivered three times: one alert; a delivery that died mid-send: sent again, the duplicate logged', async () => {
    const sent: string[] = [];
    const { activities, store, lines } = activitiesWith(`alerts${process.pid}`, (event) => Promise.resolve(sent.push(`${event.runId}:${event.kind}`)));
    const finish = (runId: string) => activities.finishRun({ run: failed(runId), trigger: { kind: 'manual' }, parameters: {} });
    await finish('run-a');
    await finish('run-a');
    await finish('run-a');
    assert.deepEqual(sent, ['run-a:failed']);
    assert.ok(lines.some((l) => /alert already sent for this run and event/.test(l)));

    // an earlier delivery claimed the alert and died before recording it sent
    assert.equal(await store.claimAlert('run-b', 'failed'), 'first');
    await finish('run-b');
    assert.deepEqual(sent, ['run-a:failed', 'run-b:failed']);
    assert.ok(lines.some((l) => l.includes('"event":"alert.duplicatePossible"') && l.includes('"alertEvent":"failed"')), lines.join(''));
    // and in the run's own log, where `logs` and the console show it
    const runLog = (await store.getLogs('run-b', { limit: 20 })).lines;
    assert.ok(runLog.some((l) => l.level === 'warn' && /^duplicate alert possible: an earlier delivery of finishRun claimed the failed alert/.test(l.msg)), JSON.stringify(runLog));
    await finish('run-b');
    assert.equal(sent.length, 2);
  });
});
