/**
 * No secret in run history, end to end: the function key is a unique canary value, a run succeeds
 * and another fails with the export function quoting the key in its error body.
 * The canary must appear in no Durable history, input, output or custom status of any instance,
 * in no API answer, no run record and no alert. (Each adapter's own canary test covers every
 * secret of every step kind; this one covers what the orchestrations and the store keep.)
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startApp, type AppHarness } from '../support/appHarness';

const CANARY = `canary-${randomUUID()}`;
let app: AppHarness;

before(async () => {
  app = await startApp();
  app.world.exportFunction.config.key = CANARY;
  app.world.keyVault.setSecret('azure-function-key', CANARY);
  app.services.secrets.invalidate('azure-function-key');
});
after(() => app.stop());

async function runToEnd(): Promise<{ runId: string; status: string }> {
  const started = await app.api<{ runId: string }>('POST', 'pipelines/data-pipeline/runs', {});
  assert.equal(started.status, 202);
  const runId = started.json.runId;
  return app.until(`run ${runId} to end`, async () => {
    const run = await app.api<{ status: string }>('GET', `runs/${runId}`);
    return ['succeeded', 'failed', 'cancelled'].includes(run.json.status) ? { runId, status: run.json.status } : undefined;
  }, { timeoutMs: 60_000 });
}

function assertNoCanary(where: string, value: unknown): void {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? '';
  assert.ok(!text.includes(CANARY), `the canary leaked into ${where}: …${text.slice(Math.max(0, text.indexOf(CANARY) - 200), text.indexOf(CANARY) + 50)}…`);
}

test('a secret used by a succeeding and a failing run is in no history, status, record or alert', async () => {
  const ok = await runToEnd();
  assert.equal(ok.status, 'succeeded');
  assert.ok(app.world.exportFunction.calls.some((c) => c.headers['x-functions-key'] === CANARY), 'the export function received the canary key');

  // The export answers 500 quoting the key it was sent at the start of its error body.
  app.world.keyVault.setSecret('azure-function-url', `${app.world.exportFunction.baseUrl}/api/echo-key-fail`);
  app.services.secrets.invalidate('azure-function-url');
  const failed = await runToEnd();
  assert.equal(failed.status, 'failed');
  const echoed = app.world.exportFunction.calls.filter((c) => c.path === '/api/echo-key-fail');
  assert.ok(echoed.length >= 2, 'the failing export was retried');

  for (const id of app.host.instanceIds()) {
    assertNoCanary(`the history of ${id}`, app.host.executions(id));
    assertNoCanary(`the status (input, output, custom status) of ${id}`, app.host.status(id));
  }
  for (const { runId } of [ok, failed]) {
    for (const path of [`runs/${runId}`, `runs/${runId}/logs?limit=1000`]) assertNoCanary(`GET /api/${path}`, (await app.api('GET', path)).text);
    assertNoCanary(`the run record of ${runId}`, await app.store.getRun(runId));
    assertNoCanary(`the attempt records of ${runId}`, await app.store.getAttempts(runId));
  }
  assertNoCanary('GET /api/runs', (await app.api('GET', 'runs?limit=100')).text);
  assert.ok(app.world.slack.posts.length >= 1, 'the failure alert was sent');
  assertNoCanary('the Slack alerts', app.world.slack.posts);

  // The failure itself is still explained: the error names the HTTP status, only the key is masked.
  const run = await app.api<{ error?: { message: string; stepId?: string } }>('GET', `runs/${failed.runId}`);
  assert.equal(run.json.error?.stepId, 'export');
  assert.match(run.json.error?.message ?? '', /500/);
});
