/**
 * An export past Azure's 230-second HTTP limit: the front end answers 502 while the function keeps
 * exporting (learn.microsoft.com, "Function app timeout duration"). The step must not export a
 * second time: it fails saying why, or, when the function honours Idempotency-Key, it asks again
 * with the same key until the export's own answer comes back. Also the Durable HTTP API answers
 * of the export function (HttpApiHandler.cs): a failed orchestration's status is 200, terminate
 * of an ended or unknown instance is 410 or 404. The limit is scaled down to 300 ms here.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { classify } from '../../src/core/errors';
import { azureFunctionStepSchema, type PipelineInput } from '../../src/pipelines/schema';
import { createSecretResolver } from '../../src/secrets/resolver';
import type { StepContext } from '../../src/steps/adapter';
import { createAzureFunctionAdapter, type AzureFunctionStep } from '../../src/steps/azureFunction';
import type { StepOutcome } from '../../src/steps/protocol';
import { startExportFunction, type ExportFunctionStandIn } from '../../src/standins/exportFunction/server';
import { memoryLogger } from '../support/canary';

type StepInput = Extract<PipelineInput['steps'][number], { kind: 'azureFunction' }>;

const LIMIT_MS = 300;

const stepFor = (extra: Partial<StepInput> = {}): AzureFunctionStep =>
  azureFunctionStepSchema.parse({ id: 'export', kind: 'azureFunction', url: { secret: 'azure-function-url' }, functionKey: { secret: 'azure-function-key' }, body: { action: 'export_to_blob' }, ...extra });

let runs = 0;
function contextFor(fn: ExportFunctionStandIn, path: string, attempt = 1, runId = `run-frontend-${++runs}`): StepContext {
  const settings: Record<string, string> = { SECRET_AZURE_FUNCTION_URL: `${fn.baseUrl}${path}`, SECRET_AZURE_FUNCTION_KEY: fn.config.key };
  return { runId, pipeline: 'data-pipeline', stepId: 'export', attempt, parameters: {}, trigger: { kind: 'manual' }, secrets: createSecretResolver({ settings: (n) => settings[n] }), settings: () => undefined, log: memoryLogger().logger };
}

async function failureOf(p: Promise<unknown>): Promise<Error> {
  const error = await p.then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof Error, 'expected the call to fail');
  return error;
}

const waitFor = async (done: () => boolean) => {
  for (let i = 0; i < 200 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
};

void describe('an export past the 230-second front-end limit', () => {
  let fn: ExportFunctionStandIn;
  const adapter = createAzureFunctionAdapter({ frontEndLimitMs: LIMIT_MS });

  before(async () => {
    fn = await startExportFunction({ frontEndTimeoutMs: LIMIT_MS, longExportMs: LIMIT_MS * 2 });
  });
  after(async () => {
    await fn.close();
  });

  void test('the stand-in: the front end answers 502 at the limit while the function finishes its export', async () => {
    const before = fn.exports.length;
    const response = await fetch(`${fn.baseUrl}/api/export-long`, { method: 'POST', headers: { 'x-functions-key': fn.config.key } });
    assert.equal(response.status, 502);
    const run = fn.exports[before];
    assert.equal(run?.finished, false, 'still exporting when the caller got its 502');
    await waitFor(() => run?.finished === true);
    assert.equal(run?.finished, true);
  });

  void test('a function that does not honour Idempotency-Key: the step fails permanently instead of exporting again', async () => {
    fn.config.honoursIdempotencyKey = false;
    const before = fn.exports.length;
    const step = stepFor({ retry: { attempts: 3, delays: '60s' } });
    // What the engine does with each attempt's failure: retry it when transient.
    let failure: Error | undefined;
    for (let attempt = 1; attempt <= 3; attempt++) {
      failure = await failureOf(adapter.start(step, contextFor(fn, '/api/export-long', attempt, 'run-frontend-fixed')));
      if (classify(failure).class !== 'transient') break;
    }
    assert.equal(fn.exports.length - before, 1, 'one export');
    assert.deepEqual([classify(failure).class, classify(failure).code], ['permanent', 'OUTCOME_UNKNOWN']);
    assert.match(failure?.message ?? '', /230-second limit.*still be running.*202.*Idempotency-Key/s);
  });

  void test('a function that honours Idempotency-Key: the step asks again with the same key until the export’s answer comes back', async () => {
    fn.config.honoursIdempotencyKey = true;
    const before = fn.exports.length;
    const step = stepFor({ honoursIdempotencyKey: true, pollInterval: 1 });
    const ctx = contextFor(fn, '/api/export-long');
    let outcome: StepOutcome = await adapter.start(step, ctx);
    const seen: string[] = [outcome.status];
    while (outcome.status === 'running' && seen.length < 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      outcome = await adapter.poll!(step, outcome.handle, ctx);
      seen.push(outcome.status);
    }
    assert.equal(outcome.status, 'succeeded', seen.join(','));
    assert.deepEqual(outcome.status === 'succeeded' && outcome.metrics, { files_exported: 12, row_count: 480000 });
    assert.equal(fn.exports.length - before, 1, 'one export');
    const keys = new Set(fn.callsTo('/api/export-long').slice(-seen.length).map((c) => c.headers['idempotency-key']));
    assert.deepEqual([...keys], [`${ctx.runId}:export:${ctx.attempt}`]);
    assert.ok(fn.callsTo('/api/export-long').some((c) => c.status === 409), 'asked while the export ran');
  });

  void test('the key names the attempt (issue 26): the same attempt delivered again gets the stored answer, a retry is new work', async () => {
    fn.config.honoursIdempotencyKey = true;
    fn.config.longExportMs = 10;
    const before = fn.exports.length;
    const step = stepFor({ honoursIdempotencyKey: true });
    const first = await adapter.start(step, contextFor(fn, '/api/export-long', 1, 'run-frontend-key'));
    // the activity of attempt 1 run again (a host died before its completion was recorded)
    const again = await adapter.start(step, contextFor(fn, '/api/export-long', 1, 'run-frontend-key'));
    assert.equal(first.status, 'succeeded');
    assert.deepEqual(again, first);
    assert.equal(fn.exports.length - before, 1);
    assert.equal(fn.callsTo('/api/export-long').at(-1)?.headers['idempotency-key'], 'run-frontend-key:export:1');
    // attempt 2 is a retry the run decided on: a new key, a new export
    const second = await adapter.start(step, contextFor(fn, '/api/export-long', 2, 'run-frontend-key'));
    assert.equal(second.status, 'succeeded');
    assert.equal(fn.exports.length - before, 2);
    assert.equal(fn.callsTo('/api/export-long').at(-1)?.headers['idempotency-key'], 'run-frontend-key:export:2');
    fn.config.longExportMs = LIMIT_MS * 2;
  });

  void test('a POST that gets no answer within requestTimeout is handled the same way; a GET is retried as before', async () => {
    fn.config.honoursIdempotencyKey = false;
    fn.config.slowMs = 1000;
    const post = await failureOf(adapter.start(stepFor({ requestTimeout: 0.1 }), contextFor(fn, '/api/slow')));
    assert.deepEqual([classify(post).class, classify(post).code], ['permanent', 'OUTCOME_UNKNOWN']);
    const get = await failureOf(adapter.start(stepFor({ requestTimeout: 0.1, method: 'GET' }), contextFor(fn, '/api/slow')));
    assert.deepEqual([classify(get).class, classify(get).code], ['transient', 'REQUEST_TIMEOUT']);
  });
});

void describe('the export function’s Durable HTTP API answers as HttpApiHandler.cs does', () => {
  let fn: ExportFunctionStandIn;
  const adapter = createAzureFunctionAdapter();
  before(async () => {
    fn = await startExportFunction({ asyncPollsBeforeDone: 1, asyncRetryAfter: 1 });
  });
  after(async () => {
    await fn.close();
  });

  void test('a failed orchestration’s status answers 200 (500 only with returnInternalServerErrorOnFailure); the step fails permanently', async () => {
    fn.config.asyncOutcome = 'Failed';
    const ctx = contextFor(fn, '/api/export-async');
    const started = await adapter.start(stepFor(), ctx);
    assert.equal(started.status, 'running');
    const handle = started.status === 'running' ? started.handle : {};
    await adapter.poll!(stepFor(), handle, ctx);
    const failure = await failureOf(adapter.poll!(stepFor(), handle, ctx));
    assert.deepEqual([classify(failure).class, classify(failure).code], ['permanent', 'Failed']);
    assert.equal(fn.calls.filter((c) => c.path.startsWith('/runtime/')).at(-1)?.status, 200);
    const statusUrl = new URL(handle['statusUrl'] as string);
    statusUrl.searchParams.set('code', fn.config.systemKey);
    statusUrl.searchParams.set('returnInternalServerErrorOnFailure', 'true');
    assert.equal((await fetch(statusUrl)).status, 500);
    fn.config.asyncOutcome = 'Completed';
  });

  void test('terminate answers 202 while running, 410 once ended, 404 for an unknown instance', async () => {
    const base = `${fn.baseUrl}/runtime/webhooks/durabletask/instances`;
    const terminate = (id: string) => fetch(`${base}/${id}/terminate?reason=x&code=${fn.config.systemKey}`, { method: 'POST' }).then((r) => r.status);
    const ctx = contextFor(fn, '/api/export-async');
    const started = await adapter.start(stepFor(), ctx);
    const id = started.status === 'running' ? (started.handle['instanceId'] as string) : '';
    assert.equal(await terminate(id), 202);
    assert.equal(await terminate(id), 410);
    assert.equal(await terminate('0123456789abcdef0123456789abcdef'), 404);
  });
});
