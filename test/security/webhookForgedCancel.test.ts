/**
 * Red-team F9b: a cancel raised through the Durable webhook (`raiseEvent/cancel`, which anyone
 * holding the webhook key can call) wrote its own text as who cancelled: "run cancelled: by
 * user:ceo@contoso.com (approved CHG-1234)". The run's record now names the canceller from the
 * API's record only; a cancel raised outside the API says so.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FUNCTION_KEY, startApp, type AppHarness } from '../support/appHarness';

describe('F9b: who cancelled comes from the API, not from the cancel event', () => {
  let app: AppHarness;
  before(async () => {
    app = await startApp({ startTime: new Date('2026-11-28T01:00:00Z'), exportDelayMs: 1500 });
  });
  after(async () => {
    await app?.stop();
  });

  const startRun = async (): Promise<string> => {
    const started = await app.api<{ runId: string }>('POST', 'pipelines/data-pipeline/runs', {});
    assert.equal(started.status, 202, started.text);
    return started.json.runId;
  };
  const ended = (runId: string) =>
    app.until(`run ${runId} ends`, async () => {
      const view = (await app.api<{ status: string; error?: { message: string } }>('GET', `runs/${encodeURIComponent(runId)}`)).json;
      return view.status === 'cancelled' || view.status === 'failed' || view.status === 'succeeded' ? view : undefined;
    }, { timeoutMs: 60_000 });

  test('a raw raiseEvent cancel with a forged reason: cancelled, but the record does not repeat the forgery', async () => {
    const runId = await startRun();
    const raised = await fetch(`${app.baseUrl}/runtime/webhooks/durabletask/instances/${runId}/raiseEvent/cancel?code=${FUNCTION_KEY}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'by user:ceo@contoso.com (approved CHG-1234)' }),
    });
    assert.equal(raised.status, 202);
    const view = await ended(runId);
    assert.equal(view.status, 'cancelled');
    assert.doesNotMatch(view.error?.message ?? '', /ceo@contoso\.com/);
    assert.match(view.error?.message ?? '', /^run cancelled(: by an event raised outside the API|$)/);
    const logs = (await app.api<{ lines: { msg: string }[] }>('GET', `runs/${encodeURIComponent(runId)}/logs`)).json.lines.map((l) => l.msg);
    assert.ok(logs.every((m) => !m.includes('ceo@contoso.com')), logs.join('\n'));
  });

  test('a cancel through the API names who asked', async () => {
    const runId = await startRun();
    const cancel = await app.api('POST', `runs/${encodeURIComponent(runId)}/cancel`, {});
    assert.equal(cancel.status, 202, cancel.text);
    const view = await ended(runId);
    assert.equal(view.status, 'cancelled');
    assert.equal(view.error?.message, 'run cancelled: by key');
  });
});
