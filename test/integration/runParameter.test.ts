/**
 * A parameter given to the API changes what the seed pipeline loads, and the run's log shows it:
 * the whole app in the development host against the stand-ins (the demo's world).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, type AppHarness } from '../support/appHarness';

interface RunJson {
  status: string;
  parameters?: Record<string, unknown>;
  metrics: Record<string, Record<string, unknown>>;
}

void describe('run parameters through the API', () => {
  let app: AppHarness;
  before(async () => {
    app = await startApp();
  });
  after(() => app.stop());

  const runToEnd = async (parameters: Record<string, unknown>): Promise<{ runId: string; run: RunJson; log: string[] }> => {
    const started = await app.api<{ runId: string }>('POST', 'pipelines/data-pipeline/runs', { parameters });
    assert.equal(started.status, 202, started.text);
    const { runId } = started.json;
    const run = await app.until(`run ${runId} to end`, async () => {
      const r = (await app.api<RunJson>('GET', `runs/${encodeURIComponent(runId)}`)).json;
      return ['succeeded', 'failed', 'cancelled'].includes(r.status) ? r : undefined;
    });
    const logs = await app.api<{ lines: { msg: string }[] }>('GET', `runs/${encodeURIComponent(runId)}/logs`);
    return { runId, run, log: logs.json.lines.map((l) => l.msg) };
  };

  void test('day=2026-11-27 loads that day: other rows, other files, told file by file in the run log', async () => {
    const { run, log } = await runToEnd({ day: '2026-11-27' });
    assert.equal(run.status, 'succeeded');
    assert.equal(run.metrics['load']?.['rowsLoaded'], 1440);
    assert.ok(log.includes('COPY INTO azure://exports/chemin/vers/fichiers/2026-11-27/part-0002.json: LOADED, 640 of 640 rows loaded'), log.join('\n'));
    assert.ok(log.some((m) => /^dbt model\.shop\.orders_daily: success in 2\.1s$/.test(m)), log.join('\n'));
  });

  void test("without the parameter the run loads its logical date's folder: the request's UTC date", async () => {
    const { run, log } = await runToEnd({});
    const today = app.host.now().toISOString().slice(0, 10);
    assert.deepEqual(run.parameters, { day: today });
    assert.equal(run.metrics['load']?.['rowsLoaded'], 3447);
    assert.ok(log.some((m) => m.includes(`fichiers/${today}/part-0003.json: PARTIALLY_LOADED, 1097 of 1100 rows loaded, 3 errors seen`)), log.join('\n'));
  });

  void test('a day that is not a date is refused before any work: 400 naming the field, no run, no service call', async () => {
    const before = app.world.callCounts();
    const answer = await app.api<{ invalidFields?: { field: string; message: string }[] }>('POST', 'pipelines/data-pipeline/runs', { parameters: { day: 'yesterday' } });
    assert.equal(answer.status, 400, answer.text);
    assert.deepEqual(answer.json.invalidFields, [{ field: 'body.parameters.day', message: 'expected a calendar date as YYYY-MM-DD' }]);
    assert.deepEqual(app.world.callCounts(), before);
  });
});
