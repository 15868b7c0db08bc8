/**
 * Repeated and late requests (red-team pass 2, F1 and its observations).
 *
 * Red-team pass 2, F1: an idempotency key promises "the same request, the same run". Sent again
 * with other parameters (or a rerun with another `from`) it is refused 409 naming the field, not
 * answered with a run that is not what was asked; start keys and rerun keys live apart, so a start
 * cannot take the place of a future rerun. The whole app on the development host, Azurite store.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, type AppHarness } from '../support/appHarness';

let app: AppHarness;
before(async () => {
  app = await startApp({ startTime: new Date('2026-11-26T08:00:00Z') });
});
after(() => app.stop());

interface Started { runId: string; created: boolean; rerunOf?: string; rerunSteps?: string[] }
interface Problem { invalidFields?: { field: string; message: string }[] }

const ended = (runId: string): Promise<{ status: string; trigger: { kind: string }; rerunOf?: string; parameters: Record<string, unknown> }> =>
  app.until(`run ${runId} to end`, async () => {
    const run = await app.api<{ status: string; trigger: { kind: string }; rerunOf?: string; parameters: Record<string, unknown> }>('GET', `runs/${runId}`);
    return run.status === 200 && ['succeeded', 'failed', 'cancelled'].includes(run.json.status) ? run.json : undefined;
  });

describe('idempotency keys', () => {
  test('the same key with other parameters is refused 409; the same request again gets the same run', async () => {
    const first = await app.api<Started>('POST', 'pipelines/data-pipeline/runs', { idempotencyKey: 'nightly', parameters: { day: '2026-11-25' } });
    assert.equal(first.status, 202, first.text);
    const other = await app.api<Problem>('POST', 'pipelines/data-pipeline/runs', { idempotencyKey: 'nightly', parameters: { day: '2026-11-24' } });
    assert.equal(other.status, 409, other.text);
    assert.equal(other.json.invalidFields?.[0]?.field, 'body.idempotencyKey');
    assert.match(other.json.invalidFields?.[0]?.message ?? '', new RegExp(`already used for run ${first.json.runId} with other parameters`));
    const again = await app.api<Started>('POST', 'pipelines/data-pipeline/runs', { parameters: { day: '2026-11-25' }, idempotencyKey: 'nightly' });
    assert.equal(again.status, 202);
    assert.deepEqual([again.json.runId, again.json.created], [first.json.runId, false]);
    await ended(first.json.runId);
  });

  test('a rerun key sent again with another `from` is refused 409; with the same `from` it answers the same rerun', async () => {
    const source = await app.api<Started>('POST', 'pipelines/data-pipeline/runs', { parameters: { day: '2026-11-25' } });
    await ended(source.json.runId);
    const fromLoad = await app.api<Started>('POST', `runs/${source.json.runId}/rerun`, { from: 'load', idempotencyKey: 'fix-1' });
    assert.equal(fromLoad.status, 202, fromLoad.text);
    const fromTransform = await app.api<Problem>('POST', `runs/${source.json.runId}/rerun`, { from: 'transform', idempotencyKey: 'fix-1' });
    assert.equal(fromTransform.status, 409, fromTransform.text);
    assert.equal(fromTransform.json.invalidFields?.[0]?.field, 'body.idempotencyKey');
    const same = await app.api<Started>('POST', `runs/${source.json.runId}/rerun`, { from: 'load', idempotencyKey: 'fix-1' });
    assert.deepEqual([same.status, same.json.runId, same.json.created, same.json.rerunSteps], [202, fromLoad.json.runId, false, fromLoad.json.rerunSteps]);
    await ended(fromLoad.json.runId);
  });

  test('a start whose key spells a rerun\'s scope does not take that rerun\'s place', async () => {
    const victim = await app.api<Started>('POST', 'pipelines/data-pipeline/runs', { parameters: { day: '2026-11-25' } });
    await ended(victim.json.runId);
    const squat = await app.api<Started>('POST', 'pipelines/data-pipeline/runs', { idempotencyKey: `rerun:${victim.json.runId}:nightly-fix`, parameters: { day: '2026-11-24' } });
    assert.equal(squat.status, 202);
    const rerun = await app.api<Started>('POST', `runs/${victim.json.runId}/rerun`, { from: 'load', idempotencyKey: 'nightly-fix' });
    assert.equal(rerun.status, 202, rerun.text);
    assert.notEqual(rerun.json.runId, squat.json.runId);
    assert.equal(rerun.json.created, true);
    const run = await ended(rerun.json.runId);
    assert.deepEqual([run.trigger.kind, run.rerunOf, run.parameters['day']], ['rerun', victim.json.runId, '2026-11-25']);
    await ended(squat.json.runId);
  });
});

describe('cancel', () => {
  test('a run terminated outside the API (Portal, webhooks) answers cancel with 202 cancelled, not 409', async () => {
    app.setExportDelay(5_000);
    try {
      const started = await app.api<Started>('POST', 'pipelines/data-pipeline/runs', { parameters: { day: '2026-11-25' } });
      const runId = started.json.runId;
      const terminated = await fetch(`${app.host.rpcBaseUrl}instances/${runId}/terminate?reason=stop`, { method: 'POST' });
      assert.equal(terminated.status, 202);
      const run = await ended(runId);
      assert.equal(run.status, 'cancelled');
      const cancel = await app.api<{ runId: string; status: string }>('POST', `runs/${runId}/cancel`, {});
      assert.equal(cancel.status, 202, cancel.text);
      assert.deepEqual([cancel.json.runId, cancel.json.status], [runId, 'cancelled']);
    } finally {
      app.setExportDelay(undefined);
    }
  });
});
