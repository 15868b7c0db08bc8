/**
 * The secret canary: a unique value is EVERY secret (function URL's code, function key, webhook
 * URLs). Success and failure paths of the azureFunction step and the notifier run; every outcome,
 * handle, thrown error (message, stack, cause), the error as it crosses to the orchestrator,
 * notification payload and log line is searched for the canary.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { classify, toActivityError } from '../../src/core/errors';
import { maskError } from '../../src/logging/mask';
import { createNotifier, type RunEvent } from '../../src/notify';
import type { StepContext } from '../../src/steps/adapter';
import { alertSchema, azureFunctionStepSchema } from '../../src/pipelines/schema';
import { createAzureFunctionAdapter } from '../../src/steps/azureFunction';
import type { StepOutcome } from '../../src/steps/protocol';
import { withCanary, type Canary } from '../support/canary';
import { startExportFunction, type ExportFunctionStandIn } from '../../src/standins/exportFunction/server';
import { startWebhookStandIn, type WebhookStandIn } from '../../src/standins/webhooks/server';

const step = azureFunctionStepSchema.parse({
  id: 'export',
  kind: 'azureFunction',
  url: { secret: 'azure-function-url' },
  functionKey: { secret: 'azure-function-key' },
  body: { action: 'export_to_blob' },
  requestTimeout: 10,
});
const impatient = azureFunctionStepSchema.parse({ ...step, requestTimeout: 0.3 });

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

void describe('secret canary', () => {
  let fn: ExportFunctionStandIn;
  let hooks: WebhookStandIn;
  /** Everything the code under test produced, searched at the end of each test. */
  let produced: unknown[];

  before(async () => {
    fn = await startExportFunction({ slowMs: 2000, asyncPollsBeforeDone: 1 });
    hooks = await startWebhookStandIn();
  });
  after(async () => {
    await fn.close();
    await hooks.close();
  });

  /** A canary whose function URL points at `path` with the canary as `code=`; the function accepts the canary as key. */
  function canaryFor(path: string, base = fn.baseUrl): { canary: Canary; ctx: StepContext } {
    const canary = withCanary({
      values: {
        'azure-function-url': (c) => `${base}${path}?code=${c}`,
        'slack-webhook': (c) => `${hooks.baseUrl}/services/T1/B1/${c}`,
        'teams-webhook': (c) => `${hooks.baseUrl}/workflows/${c}/triggers/manual/paths/invoke?sig=${c}`,
      },
    });
    fn.config.key = canary.value;
    produced = [];
    return { canary, ctx: canary.stepContext({ stepId: 'export' }) };
  }

  /** Runs `fn`, keeping what it returned or threw, and the forms an error takes on its way out. */
  async function capture(work: () => Promise<unknown>): Promise<unknown> {
    try {
      const result = await work();
      produced.push(result);
      return result;
    } catch (error) {
      produced.push(error, classify(error), toActivityError(maskError(error as Error)), String(error));
      return error;
    }
  }

  function assertClean(canary: Canary, expectLogs = true) {
    assert.ok(canary.requested.length > 0, 'the code under test resolved no secret: the test proves nothing');
    if (expectLogs) assert.ok(canary.logLines().length > 0, 'nothing was logged: the test proves nothing');
    canary.assertNoCanary(produced, canary.logLines());
  }

  const adapter = createAzureFunctionAdapter();

  void test('azureFunction success paths: sync, a function that echoes the key back, 202 polled to completion', async () => {
    const sync = canaryFor('/api/export');
    const ok = (await capture(() => adapter.start(step, sync.ctx))) as StepOutcome;
    assert.equal(ok.status, 'succeeded');
    assertClean(sync.canary);

    const echo = canaryFor('/api/echo-ok');
    const echoed = (await capture(() => adapter.start(step, echo.ctx))) as StepOutcome;
    assert.equal(echoed.status, 'succeeded');
    assert.match(JSON.stringify(echoed), /\*\*\*/, 'the echoed key was masked, not dropped silently');
    assertClean(echo.canary);

    const async = canaryFor('/api/export-async');
    let outcome = (await capture(() => adapter.start(step, async.ctx))) as StepOutcome;
    while (outcome.status === 'running') outcome = (await capture(() => adapter.poll!(step, outcome.status === 'running' ? outcome.handle : {}, async.ctx))) as StepOutcome;
    assert.equal(outcome.status, 'succeeded');
    assertClean(async.canary);
  });

  void test('azureFunction failure paths: 500 echoing the key, 429, 401, 503, timeout, refused, URL not a URL', async () => {
    const paths = ['/api/echo-fail', '/api/throttled', '/api/flaky', '/api/slow', '/api/bad-request'];
    for (const path of paths) {
      const { canary, ctx } = canaryFor(path);
      fn.config.flakyFailures = 100;
      const error = await capture(() => adapter.start(path === '/api/slow' ? impatient : step, ctx));
      assert.ok(error instanceof Error, `${path} should fail`);
      assertClean(canary);
    }

    const wrongKey = canaryFor('/api/export');
    fn.config.key = 'another-key-entirely';
    assert.ok((await capture(() => adapter.start(step, wrongKey.ctx))) instanceof Error);
    assertClean(wrongKey.canary);

    const refused = canaryFor('/api/export', `http://127.0.0.1:${await closedPort()}`);
    assert.ok((await capture(() => adapter.start(step, refused.ctx))) instanceof Error);
    assertClean(refused.canary);

    // The URL secret itself is the canary (not a URL): Node's own "Failed to parse URL from …" must not surface.
    const notUrl = withCanary();
    produced = [];
    const ctx = notUrl.stepContext({ stepId: 'export' });
    assert.ok((await capture(() => adapter.start(step, ctx))) instanceof Error);
    assertClean(notUrl, false);
  });

  void test('Durable orchestration failure while polling', async () => {
    const { canary, ctx } = canaryFor('/api/export-async');
    fn.config.asyncOutcome = 'Failed';
    fn.config.asyncPollsBeforeDone = 0;
    try {
      const started = (await capture(() => adapter.start(step, ctx))) as Extract<StepOutcome, { status: 'running' }>;
      assert.ok((await capture(() => adapter.poll!(step, started.handle, ctx))) instanceof Error);
    } finally {
      fn.config.asyncOutcome = 'Completed';
      fn.config.asyncPollsBeforeDone = 1;
    }
    assertClean(canary);
  });

  void test('notifier: delivered, webhook failing, webhook unreachable; an error text that carries the secret is masked', async () => {
    const alerts = [
      alertSchema.parse({ on: ['failed'], channel: 'slack', webhook: { secret: 'slack-webhook' } }),
      alertSchema.parse({ on: ['failed'], channel: 'teams', webhook: { secret: 'teams-webhook' } }),
    ];
    const { canary } = canaryFor('/api/export');
    const noWait = () => Promise.resolve();
    const notifier = createNotifier({ secrets: canary.secrets, publicBaseUrl: 'https://pipelines.example.net', log: canary.log, sleep: noWait });
    // Resolve first so the value is known, as it would be after the step ran.
    await canary.secrets.get('azure-function-key');
    const event: RunEvent = { kind: 'failed', pipeline: 'data-pipeline', runId: 'run-canary', failedStep: 'export', error: `function answered 500: bad key ${canary.value}` };

    const from = hooks.posts.length;
    await capture(() => notifier.notify(event, alerts));
    hooks.failWith = 500;
    await capture(() => notifier.notify(event, alerts));
    hooks.failWith = undefined;
    produced.push(hooks.posts.slice(from).map((p) => p.payload));
    // Delivered once each, then 500 on the first try and the three retries of each.
    assert.equal(hooks.posts.length - from, 2 + 2 * 4);

    const port = await closedPort();
    const unreachable = withCanary({ values: { 'slack-webhook': (c) => `http://127.0.0.1:${port}/services/${c}`, 'teams-webhook': () => 'not a url' } });
    const lost = createNotifier({ secrets: unreachable.secrets, log: unreachable.log, sleep: noWait });
    const results = (await capture(() => lost.notify(event, alerts))) as { ok: boolean }[];
    assert.ok(results.every((r) => !r.ok));
    assertClean(canary);
    unreachable.assertNoCanary(produced, unreachable.logLines());
  });

  void test('the logger masks a secret that a careless log call passes inside an error', async () => {
    const { canary } = canaryFor('/api/export');
    const value = await canary.secrets.get('snowflake-password');
    const error = new Error(`login failed for ${value}`, { cause: new Error(`password=${value}`) });
    canary.log.error({ err: error, detail: { nested: [value] } }, `boom ${value}`);
    canary.log.warn(`"quoted" ${JSON.stringify({ value })}`);
    assert.equal(canary.logLines().length, 2);
    canary.assertNoCanary(canary.logLines());
  });
});
