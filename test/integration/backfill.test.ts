/**
 * Backfills end to end in the development host: the API and the CLI, the driver orchestration,
 * the seed pipeline's real runs against the stand-ins, the slot ledger in Azurite.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { scheduledInstanceId } from '../../src/scheduler/slots';
import { startApp, type AppHarness } from '../support/appHarness';
import { runCli } from '../support/cliRun';

interface BackfillJson {
  id: string;
  state: string;
  counts: Record<string, number>;
  slots: { slot: string; local: string; dst?: string; state: string; runId: string | null; reason?: string }[];
}

const NOW = new Date('2026-04-02T00:00:00Z');

void describe('backfill', () => {
  let app: AppHarness;
  before(async () => {
    app = await startApp({ startTime: NOW });
  });
  after(() => app.stop());

  const cli = (...args: string[]) => runCli(app.baseUrl, ...args);
  const ended = (id: string) => app.until(`backfill ${id} to end`, async () => {
    const b = await app.api<BackfillJson>('GET', `backfills/${id}`);
    return b.json.state === 'done' || b.json.state === 'cancelled' ? b.json : undefined;
  }, { timeoutMs: 90_000 });

  void test('bad input is answered naming the field: --from after --to, an unknown or unnamed schedule, a bad date', async () => {
    const swapped = await cli('backfill', 'data-pipeline', '--schedule', 'production-daily', '--from', '2026-03-30', '--to', '2026-03-27');
    assert.equal(swapped.code, 3);
    assert.match(swapped.out, /--from: --from 2026-03-30 is after --to 2026-03-27/);
    const unnamed = await app.api<{ invalidFields: { field: string; message: string }[] }>('POST', 'pipelines/data-pipeline/backfills', { from: '2026-03-27', to: '2026-03-28' });
    assert.equal(unnamed.status, 400);
    assert.match(unnamed.headers.get('content-type') ?? '', /problem\+json/);
    assert.deepEqual(unnamed.json.invalidFields.map((f) => f.field), ['body.schedule']);
    assert.match(unnamed.json.invalidFields[0]?.message ?? '', /several schedules: name one \(production-daily, test-hourly\)/);
    const unknown = await cli('backfill', 'data-pipeline', '--schedule', 'nightly', '--from', '2026-03-27', '--to', '2026-03-28');
    assert.match(unknown.out, /--schedule: pipeline "data-pipeline" has no schedule "nightly"/);
    const badDate = await cli('backfill', 'data-pipeline', '--schedule', 'production-daily', '--from', '27/03/2026', '--to', '2026-03-28');
    assert.match(badDate.out, /--from: "27\/03\/2026" is not a date/);
    const future = await cli('backfill', 'data-pipeline', '--schedule', 'production-daily', '--from', '2026-05-01', '--to', '2026-05-02');
    assert.match(future.out, /is in the future/);
    assert.equal((await app.api('GET', 'backfills')).status, 200);
    assert.equal(app.runInstances().length, 0, 'no bad request started anything');
  });

  void test('a DST week: one run per slot with the slot\'s logical date, ledger rows `backfilled`, max-parallel respected; re-issuing adds nothing', async () => {
    // The ledger already holds one fired slot and one missed: the backfill fills the missed one only.
    const base = { pipeline: 'data-pipeline', schedule: 'production-daily', scheduledLocal: '', dst: null, lateBySeconds: 0, attempts: 1, recordedAt: NOW.toISOString(), updatedAt: NOW.toISOString() } as const;
    await app.store.claimSlot({ ...base, slot: '2026-03-28T01:00:00Z', local: '2026-03-28T02:00:00+01:00', outcome: 'fired', instanceId: 'data-pipeline-20260328T010000Z-aaaaaa' });
    await app.store.claimSlot({ ...base, slot: '2026-03-30T00:00:00Z', local: '2026-03-30T02:00:00+02:00', outcome: 'missed', reason: 'app down' });

    const dry = await cli('--json', 'backfill', 'data-pipeline', '--schedule', 'production-daily', '--from', '2026-03-27', '--to', '2026-03-31', '--dry-run');
    assert.equal(dry.code, 0, dry.out);
    const plan = JSON.parse(dry.out) as { slots: { slot: string; local: string; would: string }[] };
    assert.deepEqual(plan.slots.map((s) => [s.local, s.would.replace(/:.*/, '')]), [
      ['2026-03-27T02:00:00+01:00', 'run'],
      ['2026-03-28T02:00:00+01:00', 'skip'],
      ['2026-03-29T03:00:00+02:00', 'run'],
      ['2026-03-30T02:00:00+02:00', 'run'],
      ['2026-03-31T02:00:00+02:00', 'run'],
    ]);
    assert.equal(app.runInstances().length, 0, 'a dry run starts nothing');

    const started = await cli('--json', 'backfill', 'data-pipeline', '--schedule', 'production-daily', '--from', '2026-03-27', '--to', '2026-03-31', '--max-parallel', '2');
    assert.equal(started.code, 0, started.out);
    const id = (JSON.parse(started.out) as BackfillJson).id;
    const done = await ended(id);
    assert.equal(done.state, 'done');
    assert.deepEqual({ succeeded: done.counts['succeeded'], skipped: done.counts['skipped'] }, { succeeded: 4, skipped: 1 });
    const gapSlot = done.slots.find((s) => s.slot === '2026-03-29T01:00:00Z');
    assert.equal(gapSlot?.runId, scheduledInstanceId('data-pipeline', 'production-daily', '2026-03-29T01:00:00Z'));
    assert.equal(gapSlot?.dst, 'gap');
    const run = await app.api<{ trigger: { kind: string; origin: string; scheduledFor: string }; parameters: { day: string } }>('GET', `runs/${gapSlot?.runId ?? ''}`);
    assert.deepEqual([run.json.trigger.kind, run.json.trigger.origin, run.json.trigger.scheduledFor, run.json.parameters.day], ['backfill', id, '2026-03-29T01:00:00Z', '2026-03-29']);
    // Never more than two runs at once: each run started after all but one of the earlier ones ended.
    const spans = await Promise.all(done.slots.filter((s) => s.runId).map(async (s) => (await app.api<{ startedAt: string; endedAt: string }>('GET', `runs/${s.runId ?? ''}`)).json));
    const atOnce = spans.map((span) => spans.filter((o) => o.startedAt <= span.startedAt && o.endedAt > span.startedAt).length);
    assert.equal(spans.length, 4);
    assert.equal(Math.max(...atOnce), 2, `runs at once: ${atOnce.join(', ')}`);
    const history = await cli('schedules', 'history', 'data-pipeline', 'production-daily');
    assert.match(history.out, /2026-03-30T00:00:00Z .*backfilled .*backfill bf-\S+ \(was missed\)/);
    assert.match(history.out, /2026-03-28T01:00:00Z .*fired/);
    const shown = await cli('backfills', 'show', id);
    assert.match(shown.out, /5\/5 settled: 4 succeeded, 0 failed/);
    assert.match(shown.out, /2026-03-28T01:00:00Z .*skipped .*already ran: data-pipeline-20260328T010000Z-aaaaaa/);

    const runsBefore = app.runInstances().length;
    const again = await cli('--json', 'backfill', 'data-pipeline', '--schedule', 'production-daily', '--from', '2026-03-27', '--to', '2026-03-31', '--max-parallel', '3');
    const second = await ended((JSON.parse(again.out) as BackfillJson).id);
    assert.equal(second.counts['skipped'], 5);
    assert.equal(app.runInstances().length, runsBefore, 're-issuing started no run');

    // --rerun-all on one day: a new run under a new id; the ledger points to it, the old run stays.
    const rerun = await cli('--json', 'backfill', 'data-pipeline', '--schedule', 'production-daily', '--from', '2026-03-31', '--to', '2026-03-31', '--rerun-all');
    const third = await ended((JSON.parse(rerun.out) as BackfillJson).id);
    assert.equal(third.counts['succeeded'], 1);
    const newRun = third.slots[0]?.runId ?? '';
    assert.notEqual(newRun, scheduledInstanceId('data-pipeline', 'production-daily', '2026-03-31T00:00:00Z'));
    const slots = await app.api<{ slots: { slot: string; runId: string; reason: string }[] }>('GET', 'pipelines/data-pipeline/schedules/production-daily/slots');
    const row = slots.json.slots.find((s) => s.slot === '2026-03-31T00:00:00Z');
    assert.equal(row?.runId, newRun);
    assert.match(row?.reason ?? '', /^rerun of sched:data-pipeline:production-daily:20260331T0000Z by backfill/);
    const listed = await cli('backfills', 'ls');
    assert.equal(listed.out.split('\n').filter((l) => l.startsWith('bf-')).length, 3);
  });

  void test('cancel: the running run is cancelled, queued slots dropped; a second cancel gets the same answer; cancelling a finished one is a conflict', async () => {
    app.setExportDelay(3000);
    try {
      const started = await app.api<BackfillJson>('POST', 'pipelines/data-pipeline/backfills', { schedule: 'test-hourly', from: '2026-03-20T00:00:00Z', to: '2026-03-20T02:00:00Z' });
      assert.equal(started.status, 202, started.text);
      const id = started.json.id;
      // The first run's export is in flight (the stand-in answers after 3 s of real time).
      for (let i = 0; (await app.api<BackfillJson>('GET', `backfills/${id}`)).json.counts['running'] !== 1; i++) {
        assert.ok(i < 1000, 'no run started');
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const cancel = await cli('backfills', 'cancel', id);
      assert.equal(cancel.code, 0, cancel.out);
      assert.match(cancel.out, /cancelling/);
      const twice = await app.api<{ state: string }>('POST', `backfills/${id}/cancel`, {});
      assert.equal(twice.status, 202);
      const done = await ended(id);
      assert.equal(done.state, 'cancelled');
      assert.deepEqual(done.slots.map((s) => s.state), ['cancelled', 'cancelled', 'cancelled']);
      assert.match(done.slots[2]?.reason ?? '', /cancelled by key/);
      const finished = await app.api('POST', `backfills/${id}/cancel`, {});
      assert.equal(finished.status, 202, 'a cancelled backfill answers its cancel again');
      const unknown = await app.api('GET', 'backfills/bf-20260101T000000Z-000000');
      assert.equal(unknown.status, 404);
    } finally {
      app.setExportDelay(undefined);
    }
  });
});
