/**
 * Red-team F9c: a run terminated through the Durable webhook (`instances/{id}/terminate`, which
 * anyone holding the webhook key can call) never ran its end, so its record stayed `running` in the
 * run store: `runs ls` and the console listed it running forever. The API's reads now close it:
 * cancelled, "terminated outside the API", the terminate's own reason not repeated.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FUNCTION_KEY, startApp, type AppHarness } from '../support/appHarness';

describe('F9c: a run terminated through the Durable webhook does not stay running', () => {
  let app: AppHarness;
  before(async () => {
    app = await startApp({ startTime: new Date('2026-11-28T01:00:00Z'), exportDelayMs: 1500 });
  });
  after(async () => {
    await app?.stop();
  });

  test('runs ls shows it cancelled, the record and the log say it was terminated outside the API', async () => {
    const started = await app.api<{ runId: string }>('POST', 'pipelines/data-pipeline/runs', {});
    assert.equal(started.status, 202, started.text);
    const runId = started.json.runId;

    const terminated = await fetch(`${app.baseUrl}/runtime/webhooks/durabletask/instances/${runId}/terminate?reason=${encodeURIComponent('approved by ceo@contoso.com')}&code=${FUNCTION_KEY}`, { method: 'POST' });
    assert.equal(terminated.status, 202);
    await app.until('Durable says terminated', () => Promise.resolve(app.host.status(runId)?.runtimeStatus === 'Terminated' ? true : undefined), { timeoutMs: 60_000 });

    // nothing of the run wrote its end
    await app.host.runUntilIdle();
    const before = await app.store.getRun(runId);
    assert.ok(before && ['pending', 'running'].includes(before.status), JSON.stringify(before));

    // the listing alone (what `runs ls` and the console's runs page read)
    const listed = await app.api<{ runs: { runId: string; status: string; endedAt?: string; error?: { message: string } }[] }>('GET', 'runs?pipeline=data-pipeline');
    assert.equal(listed.status, 200, listed.text);
    const row = listed.json.runs.find((r) => r.runId === runId);
    assert.equal(row?.status, 'cancelled', JSON.stringify(row));
    assert.equal(row?.error?.message, 'run cancelled: terminated outside the API (Durable terminate)');
    assert.ok(row?.endedAt);

    // written, not only shown: the stored record and the status filter agree
    const stored = await app.store.getRun(runId);
    assert.equal(stored?.status, 'cancelled');
    const running = await app.api<{ runs: { runId: string }[] }>('GET', 'runs?pipeline=data-pipeline&status=running');
    assert.ok(!running.json.runs.some((r) => r.runId === runId), 'still listed as running');

    const view = await app.api<{ status: string; error?: { message: string } }>('GET', `runs/${encodeURIComponent(runId)}`);
    assert.equal(view.json.status, 'cancelled');
    assert.doesNotMatch(view.json.error?.message ?? '', /ceo@contoso\.com/);
    const logs = (await app.api<{ lines: { msg: string }[] }>('GET', `runs/${encodeURIComponent(runId)}/logs`)).json.lines.map((l) => l.msg);
    assert.equal(logs.at(-1), 'run cancelled: terminated outside the API (Durable terminate)', logs.join('\n'));
    assert.ok(logs.every((m) => !m.includes('ceo@contoso.com')));
  });
});
