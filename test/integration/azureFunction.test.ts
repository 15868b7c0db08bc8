/** The azureFunction step against the export-function stand-in (the Functions host's key rules, Durable's HTTP API). */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { classify, PermanentError, readFailure, RetryAfterError, toActivityError, TransientError } from '../../src/core/errors';
import { azureFunctionStepSchema, type PipelineInput } from '../../src/pipelines/schema';
import { createSecretResolver } from '../../src/secrets/resolver';
import type { StepContext } from '../../src/steps/adapter';
import { createAzureFunctionAdapter, type AzureFunctionStep } from '../../src/steps/azureFunction';
import type { StepOutcome } from '../../src/steps/protocol';
import { memoryLogger } from '../support/canary';
import { startExportFunction, type ExportFunctionStandIn } from '../../src/standins/exportFunction/server';

type StepInput = Extract<PipelineInput['steps'][number], { kind: 'azureFunction' }>;

/** The seed's export step; the URL (with its path) lives in the azure-function-url secret. */
function stepFor(extra: Partial<StepInput> = {}): AzureFunctionStep {
  return azureFunctionStepSchema.parse({
    id: 'export',
    kind: 'azureFunction',
    url: { secret: 'azure-function-url' },
    functionKey: { secret: 'azure-function-key' },
    body: { action: 'export_to_blob' },
    ...extra,
  });
}

function contextFor(settings: Record<string, string>): StepContext {
  return {
    runId: 'run-20261126-0200',
    pipeline: 'data-pipeline',
    stepId: 'export',
    attempt: 1,
    parameters: {},
    trigger: { kind: 'manual' },
    secrets: createSecretResolver({ settings: (n) => settings[n] }),
    settings: () => undefined,
    log: memoryLogger().logger,
  };
}

/** A port nothing listens on (bound, then released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function failureOf(p: Promise<unknown>): Promise<Error> {
  const error = await p.then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof Error, 'expected the call to fail');
  return error;
}

function running(outcome: StepOutcome) {
  assert.equal(outcome.status, 'running');
  return outcome;
}

function succeeded(outcome: StepOutcome) {
  assert.equal(outcome.status, 'succeeded');
  return outcome;
}

void describe('azureFunction step', () => {
  let fn: ExportFunctionStandIn;
  const adapter = createAzureFunctionAdapter();
  const ctxFor = (path: string, key = fn.config.key) => contextFor({ SECRET_AZURE_FUNCTION_URL: `${fn.baseUrl}${path}`, SECRET_AZURE_FUNCTION_KEY: key });
  const step = stepFor();

  before(async () => {
    fn = await startExportFunction({ key: 'fk-7Yt2Qp9w-export', systemKey: 'sys-4Hq8Lm2v-durable' });
  });
  after(async () => {
    await fn.close();
  });

  void test('200: succeeded, body kept, counts reported as metrics; key sent as x-functions-key with the JSON body', async () => {
    const outcome = succeeded(await adapter.start(step, ctxFor('/api/export')));
    assert.deepEqual(outcome.output, { status: 'ok', files_exported: 3, row_count: 1200, container: 'exports' });
    assert.deepEqual(outcome.metrics, { files_exported: 3, row_count: 1200 });
    const call = fn.callsTo('/api/export').at(-1)!;
    assert.equal(call.method, 'POST');
    assert.equal(call.headers['x-functions-key'], fn.config.key);
    assert.equal(call.headers['content-type'], 'application/json');
    assert.equal(call.headers['x-dp-run-id'], 'run-20261126-0200');
    assert.deepEqual(JSON.parse(call.body), { action: 'export_to_blob' });
  });

  void test('a large body is kept only up to the bound, marked as truncated', async () => {
    const small = createAzureFunctionAdapter({ maxOutputBytes: 40 });
    const outcome = succeeded(await small.start(step, ctxFor('/api/export')));
    const output = outcome.output as { truncated: boolean; totalBytes: number; preview: string };
    assert.equal(output.truncated, true);
    assert.ok(output.totalBytes > 40);
    assert.equal(Buffer.byteLength(output.preview), 40);
  });

  void test('503 then 503 then 200: transient failures, then success', async () => {
    fn.config.flakyFailures = 2;
    const ctx = ctxFor('/api/flaky');
    for (let i = 0; i < 2; i++) {
      const error = await failureOf(adapter.start(step, ctx));
      assert.ok(error instanceof TransientError);
      assert.equal(classify(error).code, 'HTTP_503');
    }
    assert.deepEqual(succeeded(await adapter.start(step, ctx)).metrics, { files_exported: 1, row_count: 10 });
  });

  void test('429 with Retry-After surfaces as retryAfterSeconds, across the Durable boundary too', async () => {
    fn.config.throttleRetryAfter = 7;
    const error = await failureOf(adapter.start(step, ctxFor('/api/throttled')));
    assert.ok(error instanceof RetryAfterError);
    assert.equal(error.retryAfterSeconds, 7);
    const crossed = readFailure(toActivityError(error).message);
    assert.equal(crossed?.class, 'transient');
    assert.equal(crossed?.retryAfterSeconds, 7);
  });

  void test('401 on a wrong key is permanent; the key is re-read once but not resent when unchanged', async () => {
    const before = fn.callsTo('/api/export').length;
    const error = await failureOf(adapter.start(step, ctxFor('/api/export', 'wrong-key-123')));
    assert.ok(error instanceof PermanentError);
    assert.match(error.message, /401/);
    assert.equal(fn.callsTo('/api/export').length - before, 1);
  });

  void test('401 after the key rotated: the re-read key is used and the call succeeds', async () => {
    const settings: Record<string, string> = { SECRET_AZURE_FUNCTION_URL: `${fn.baseUrl}/api/export`, SECRET_AZURE_FUNCTION_KEY: 'old-key-before-rotation' };
    const ctx = { ...contextFor({}), secrets: createSecretResolver({ settings: (n) => settings[n] }) };
    await ctx.secrets.get('azure-function-key'); // cached: the old key
    settings['SECRET_AZURE_FUNCTION_KEY'] = fn.config.key; // rotated in the store
    const outcome = succeeded(await adapter.start(step, ctx));
    assert.equal((outcome.output as { status: string }).status, 'ok');
  });

  void test('other 4xx is permanent', async () => {
    const error = await failureOf(adapter.start(step, ctxFor('/api/bad-request')));
    assert.ok(error instanceof PermanentError);
    assert.match(error.message, /400.*unknown action/);
  });

  void test('202 (Durable HTTP API): polled to completion; the handle holds no key', async () => {
    fn.config.asyncPollsBeforeDone = 2;
    fn.config.asyncOutcome = 'Completed';
    const ctx = ctxFor('/api/export-async');
    const started = running(await adapter.start(step, ctx));
    // The Durable HTTP API's Retry-After (5 s) is shorter than the step's pollInterval: the step's cadence holds.
    assert.equal(started.pollAfterSeconds, Math.max(step.pollInterval, fn.config.asyncRetryAfter));
    assert.ok(fn.config.asyncRetryAfter < step.pollInterval);
    const persisted = JSON.stringify(started.handle);
    assert.ok(!persisted.includes(fn.config.systemKey), 'system key in the handle');
    assert.ok(!persisted.includes(fn.config.key), 'function key in the handle');
    assert.doesNotMatch(persisted, /code=/);

    let outcome: StepOutcome = started;
    const polls: StepOutcome[] = [];
    while (outcome.status === 'running' && polls.length < 10) {
      outcome = await adapter.poll!(step, outcome.handle, ctx);
      polls.push(outcome);
    }
    assert.deepEqual(polls.map((p) => p.status), ['running', 'running', 'succeeded']);
    assert.deepEqual(succeeded(outcome).metrics, { files_exported: 4, row_count: 5400 });
    // The status endpoint only answers with the system key: the poll restored the sealed code=.
    assert.ok(fn.callsTo('/runtime/webhooks/durabletask/instances/').every((c) => c.status !== 401));
  });

  void test('a Retry-After longer than the step\'s pollInterval is honoured', async () => {
    fn.config.asyncPollsBeforeDone = 1;
    fn.config.asyncOutcome = 'Completed';
    const before = fn.config.asyncRetryAfter;
    fn.config.asyncRetryAfter = step.pollInterval + 15;
    try {
      const ctx = ctxFor('/api/export-async');
      const started = running(await adapter.start(step, ctx));
      const polled = running(await adapter.poll!(step, started.handle, ctx));
      assert.equal(polled.pollAfterSeconds, step.pollInterval + 15);
    } finally {
      fn.config.asyncRetryAfter = before;
    }
  });

  void test('polling a Durable status URL sends its own code= and no x-functions-key, so the host accepts it', async () => {
    fn.config.asyncPollsBeforeDone = 1;
    fn.config.asyncOutcome = 'Completed';
    const ctx = ctxFor('/api/export-async');
    const before = fn.callsTo('/runtime/webhooks/durabletask/instances/').length;
    let outcome: StepOutcome = running(await adapter.start(step, ctx));
    outcome = await adapter.poll!(step, outcome.handle, ctx);
    outcome = await adapter.poll!(step, running(outcome).handle, ctx);
    assert.deepEqual(succeeded(outcome).metrics, { files_exported: 4, row_count: 5400 });
    const polls = fn.callsTo('/runtime/webhooks/durabletask/instances/').slice(before);
    assert.equal(polls.length, 2);
    for (const poll of polls) {
      assert.equal(poll.headers['x-functions-key'], undefined, 'the function key would win over code= and be refused');
      assert.equal(poll.query['code'], fn.config.systemKey);
      assert.equal(poll.status === 200 || poll.status === 202, true);
    }
  });

  void test('202 whose orchestration fails: permanent failure with the function\'s reason', async () => {
    fn.config.asyncPollsBeforeDone = 0;
    fn.config.asyncOutcome = 'Failed';
    const ctx = ctxFor('/api/export-async');
    const started = running(await adapter.start(step, ctx));
    const error = await failureOf(adapter.poll!(step, started.handle, ctx));
    assert.ok(error instanceof PermanentError);
    assert.match(error.message, /failed.*blob container not found/);
    fn.config.asyncOutcome = 'Completed';
  });

  void test('cancel terminates the function\'s orchestration', async () => {
    fn.config.asyncPollsBeforeDone = 5;
    const ctx = ctxFor('/api/export-async');
    const started = running(await adapter.start(step, ctx));
    await adapter.cancel!(step, started.handle, ctx);
    const terminate = fn.calls.find((c) => c.path.endsWith('/terminate'));
    assert.equal(terminate?.status, 202);
    assert.match(terminate?.query['reason'] ?? '', /run-20261126-0200/);
    await assert.rejects(adapter.poll!(step, started.handle, ctx), /terminated/);
  });

  void test('a GET’s request timeout and connection refused are transient (a POST’s lost answer: azureFunctionFrontEndLimit.test.ts)', async () => {
    fn.config.slowMs = 3000;
    const quick = stepFor({ requestTimeout: 0.3, method: 'GET' });
    const timeout = await failureOf(adapter.start(quick, ctxFor('/api/slow')));
    assert.ok(timeout instanceof TransientError);
    assert.equal(timeout.code, 'REQUEST_TIMEOUT');

    const closedPort = await freePort();
    const refused = await failureOf(adapter.start(step, contextFor({ SECRET_AZURE_FUNCTION_URL: `http://127.0.0.1:${closedPort}/api/export`, SECRET_AZURE_FUNCTION_KEY: 'k-123456' })));
    assert.ok(refused instanceof TransientError);
    assert.match(refused.message, /network error \(ECONNREFUSED\)/);
  });

  void test('a URL secret that is not a URL is permanent', async () => {
    const error = await failureOf(adapter.start(step, contextFor({ SECRET_AZURE_FUNCTION_URL: 'not a url', SECRET_AZURE_FUNCTION_KEY: 'k-123456' })));
    assert.ok(error instanceof PermanentError);
    assert.match(error.message, /secret "azure-function-url" does not hold an http\(s\) URL/);
  });
});
