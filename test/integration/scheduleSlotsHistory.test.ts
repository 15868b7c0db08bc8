/**
 * `GET /api/pipelines/{name}/schedules/{schedule}/slots` and `durable-pipelines schedules history`:
 * the scheduler's slot ledger as a user reads it, from the Table run store on Azurite.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildProgram } from '../../src/cli/main';
import type { SlotEntry } from '../../src/scheduler/ports';
import { FUNCTION_KEY, startApp, type AppHarness } from '../support/appHarness';

const slot = (at: string, outcome: SlotEntry['outcome'], extra: Partial<SlotEntry> = {}): SlotEntry => ({
  pipeline: 'data-pipeline',
  schedule: 'production-daily',
  slot: at,
  local: at.replace('T01:00:00Z', 'T02:00:00+01:00'),
  scheduledLocal: '02:00',
  dst: null,
  outcome,
  lateBySeconds: 4,
  attempts: outcome === 'missed' ? 0 : 1,
  recordedAt: at,
  updatedAt: at,
  ...extra,
});

interface SlotsJson {
  lateAfterSeconds: number;
  slots: { slot: string; outcome: string; reason?: string; runId?: string; late: boolean; lateBySeconds: number }[];
}

void describe('schedule slot history', () => {
  let app: AppHarness;
  before(async () => {
    app = await startApp();
    const entries = [
      slot('2026-11-24T01:00:00Z', 'fired', { instanceId: 'data-pipeline-20261124T010000Z-aaaaaa' }),
      slot('2026-11-25T01:00:00Z', 'missed', { reason: 'app was down; catchUp latest started 2026-11-26T01:00:00Z instead' }),
      slot('2026-11-26T01:00:00Z', 'caught-up', { instanceId: 'data-pipeline-20261126T010000Z-bbbbbb', lateBySeconds: 5400 }),
      slot('2026-11-27T01:00:00Z', 'skipped-overlap', { reason: 'run data-pipeline-20261126T010000Z-bbbbbb still running' }),
    ];
    for (const entry of entries) assert.equal(await app.store.claimSlot(entry), true);
  });
  after(() => app.stop());

  void test('the API lists fired, missed, skipped and late slots newest first, with reasons and run ids', async () => {
    const response = await app.api<SlotsJson>('GET', 'pipelines/data-pipeline/schedules/production-daily/slots');
    assert.equal(response.status, 200, response.text);
    const { slots, lateAfterSeconds } = response.json;
    assert.equal(lateAfterSeconds, 600);
    assert.deepEqual(slots.map((s) => [s.slot, s.outcome, s.late]), [
      ['2026-11-27T01:00:00Z', 'skipped-overlap', false],
      ['2026-11-26T01:00:00Z', 'caught-up', true],
      ['2026-11-25T01:00:00Z', 'missed', false],
      ['2026-11-24T01:00:00Z', 'fired', false],
    ]);
    assert.equal(slots[0]?.reason, 'run data-pipeline-20261126T010000Z-bbbbbb still running');
    assert.equal(slots[3]?.runId, 'data-pipeline-20261124T010000Z-aaaaaa');
    const two = await app.api<SlotsJson>('GET', 'pipelines/data-pipeline/schedules/production-daily/slots?limit=2&until=2026-11-27T00:00:00Z');
    assert.deepEqual(two.json.slots.map((s) => s.slot), ['2026-11-26T01:00:00Z', '2026-11-25T01:00:00Z']);
  });

  void test('bad input is answered as a problem naming the field; an unknown schedule is 404', async () => {
    const bad = await app.api<{ errors?: { field: string }[] }>('GET', 'pipelines/data-pipeline/schedules/production-daily/slots?limit=0');
    assert.equal(bad.status, 400);
    assert.match(bad.headers.get('content-type') ?? '', /application\/problem\+json/);
    assert.match(bad.text, /query\.limit/);
    const unknown = await app.api('GET', 'pipelines/data-pipeline/schedules/nightly/slots');
    assert.equal(unknown.status, 404);
    assert.match((unknown.json as { detail: string }).detail, /has no schedule "nightly" \(has: production-daily, test-hourly\)/);
  });

  void test('`schedules history` prints the ledger as a table, and as JSON with --json', async () => {
    const run = async (...args: string[]): Promise<{ out: string; code: number }> => {
      const lines: string[] = [];
      let code = 0;
      await buildProgram((l) => lines.push(l), (c) => (code = c)).parseAsync(['node', 'durable-pipelines', '--url', app.baseUrl, '--key', FUNCTION_KEY, ...args]);
      return { out: lines.join('\n'), code };
    };
    const human = await run('schedules', 'history', 'data-pipeline', 'production-daily', '--limit', '3');
    assert.equal(human.code, 0);
    const rows = human.out.split('\n').filter((l) => l.startsWith('2026-'));
    assert.equal(rows.length, 3);
    assert.match(rows[0] ?? '', /skipped-overlap .*still running/);
    assert.match(rows[1] ?? '', /caught-up \(late\)/);
    assert.match(rows[2] ?? '', /missed .*app was down/);
    const asJson = await run('--json', 'schedules', 'history', 'data-pipeline', 'production-daily');
    assert.equal((JSON.parse(asJson.out) as SlotsJson).slots.length, 4);
  });
});
