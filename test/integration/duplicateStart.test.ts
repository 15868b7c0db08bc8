/**
 * Issue 26: a step's start delivered twice (the host died after the effect, before Durable
 * recorded the completion) to a service that cannot deduplicate — an export function that ignores
 * the Idempotency-Key, a user activity — is detected: the attempt's start is claimed in the run
 * store (Azurite here) before the call, and the second delivery finds the claim, calls again and
 * says "duplicate start possible" in the run's log and as a `step.duplicateStartPossible` event in
 * the process log. A kind whose service deduplicates (Snowflake's query tag…) claims nothing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createStepActivities, type UserStepHandler } from '../../src/activities';
import { createLogger } from '../../src/logging/logger';
import { loadCatalog } from '../../src/pipelines/catalog';
import { pipelineInputs } from '../../src/pipelines/definitions';
import type { PipelineInput } from '../../src/pipelines/schema';
import { definitionVersion } from '../../src/pipelines/version';
import { createRunStore, type TableRunStore } from '../../src/runs/tableStore';
import { createRunStoreTables } from '../../src/runs/tables';
import { startAzurite, type AzuriteInstance } from '../../src/standins/azurite';
import { startExportFunction, type ExportFunctionStandIn } from '../../src/standins/exportFunction/server';
import { createAzureFunctionAdapter } from '../../src/steps/azureFunction';

let azurite: AzuriteInstance;
let exportFunction: ExportFunctionStandIn;
before(async () => {
  [azurite, exportFunction] = await Promise.all([startAzurite({ blob: false }), startExportFunction()]);
});
after(async () => {
  await Promise.all([azurite.stop(), exportFunction.close()]);
});

const custom: PipelineInput = {
  name: 'custom-pipeline',
  title: 'Custom',
  steps: [{ id: 'publish', kind: 'activity', activity: 'publish' }],
};

function world(prefix: string, publish: UserStepHandler = () => Promise.resolve({ published: true })) {
  const catalog = loadCatalog([...pipelineInputs, custom]);
  const store: TableRunStore = createRunStore({ tables: createRunStoreTables({ connectionString: azurite.connectionString }, prefix) });
  const processLog: string[] = [];
  const destination = new Writable({ write: (chunk: Buffer, _e, done) => void (processLog.push(chunk.toString('utf8')), done()) });
  const secrets: Record<string, string> = { 'azure-function-url': `${exportFunction.baseUrl}/api/export`, 'azure-function-key': exportFunction.config.key };
  const activities = createStepActivities({
    catalog,
    adapters: { azureFunction: createAzureFunctionAdapter() },
    secrets: { get: (name) => Promise.resolve(secrets[name] ?? ''), invalidate: () => undefined },
    settings: () => undefined,
    recorder: store,
    logger: createLogger({ level: 'info', destination }),
  });
  const input = (runId: string, pipeline: string, stepId: string) => ({
    runId,
    pipeline,
    definitionVersion: definitionVersion(catalog.get(pipeline)!),
    stepId,
    attempt: 1,
    parameters: pipeline === 'data-pipeline' ? { day: '2026-11-27' } : {},
    trigger: { kind: 'manual' as const, requestedAt: '2026-11-29T08:00:00.000Z' },
  });
  return { activities, store, processLog, input, publish: activities.wrapUserActivity('publish', publish) };
}

const runLog = async (store: TableRunStore, runId: string) => (await store.getLogs(runId, { limit: 100 })).lines;

describe('a start delivered twice to a service that cannot deduplicate', () => {
  test('export function ignoring the Idempotency-Key: called twice, the second delivery says so in the run log and as an event', async () => {
    const { activities, store, processLog, input } = world(`dup${process.pid}a`);
    const runId = 'run-dup-export';
    const callsBefore = exportFunction.callsTo('/api/export').length;
    await activities.startStep(input(runId, 'data-pipeline', 'export'));
    assert.equal((await runLog(store, runId)).filter((l) => l.level === 'warn').length, 0, 'the first delivery warns of nothing');
    await activities.startStep(input(runId, 'data-pipeline', 'export'));

    const calls = exportFunction.callsTo('/api/export').slice(callsBefore);
    assert.equal(calls.length, 2, 'still called: a function that honours the key would do nothing twice');
    assert.deepEqual(new Set(calls.map((c) => c.headers['idempotency-key'])), new Set([`${runId}:export:1`]));
    const lines = await runLog(store, runId);
    const warning = lines.find((l) => l.level === 'warn' && l.msg.startsWith('duplicate start possible'));
    assert.ok(warning, JSON.stringify(lines));
    assert.match(warning.msg, /step export attempt 1 was started before \(at .*, recorded succeeded\)/);
    assert.match(warning.msg, new RegExp(`Idempotency-Key ${runId}:export:1`));
    assert.equal(warning.stepId, 'export');
    assert.equal(lines.filter((l) => /attempt 1 started$/.test(l.msg)).length, 1, 'one "started" line: the second delivery claimed nothing');
    const event = processLog.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['event'] === 'step.duplicateStartPossible');
    assert.ok(event, processLog.join(''));
    assert.equal(event['level'], 'warn');
    assert.equal(event['earlierStatus'], 'succeeded');
    assert.equal(event['idempotencyKey'], `${runId}:export:1`);
    const [attempt] = await store.getAttempts(runId);
    assert.equal(attempt?.status, 'succeeded');
  });

  test('a user activity: the duplicate is said; an abandonment recorded during the call keeps the answer marked late', async () => {
    const during: { abandon?: () => Promise<void> } = {};
    let runs = 0;
    const { store, processLog, input, publish } = world(`dup${process.pid}b`, async () => {
      runs++;
      await during.abandon?.();
      return { published: true };
    });
    const runId = 'run-dup-activity';
    await publish(input(runId, 'custom-pipeline', 'publish'));
    // the run gave up on the attempt (cancelled) while the second delivery was in its call
    during.abandon = () =>
      store.recordAbandoned({ runId, pipeline: 'custom-pipeline', stepId: 'publish', attempt: 1, status: 'cancelled', startedAt: '2026-11-29T08:00:00.000Z', endedAt: '2026-11-29T08:00:01.000Z', error: { class: 'cancelled', message: 'run cancelled; job stop requested', code: 'run-cancelled' } });
    await publish(input(runId, 'custom-pipeline', 'publish'));
    assert.equal(runs, 2);
    const warning = (await runLog(store, runId)).find((l) => l.msg.startsWith('duplicate start possible'));
    assert.match(warning?.msg ?? '', /activity "publish" runs again; make it idempotent on its input's runId, stepId and attempt/);
    assert.ok(processLog.some((l) => l.includes('"event":"step.duplicateStartPossible"')));
    const [attempt] = await store.getAttempts(runId);
    assert.equal(attempt?.status, 'succeeded');
    assert.equal(attempt?.finishedAfterEnd, true, 'the answer came after the run gave the attempt up');
  });

  test('one delivery: the claim writes the start (its "started" line once), nothing said', async () => {
    const { activities, store, processLog, input } = world(`dup${process.pid}c`);
    const runId = 'run-once';
    await activities.startStep(input(runId, 'data-pipeline', 'export'));
    const lines = await runLog(store, runId);
    assert.deepEqual(lines.map((l) => l.msg.replace(/\d+/g, 'N')).filter((m) => m.startsWith('step')), ['step export attempt N started', 'step export attempt N succeeded']);
    assert.ok(!processLog.some((l) => l.includes('duplicateStartPossible')));
  });
});
