/**
 * Slots missed across a restart are caught up when the app starts, by each schedule's policy,
 * even when the deploy changed the scheduler timer's expression — which makes the Functions host's
 * schedule monitor skip its past-due fire (ScheduleMonitor.CheckPastDueAsync re-plans a changed
 * schedule from now). The real app on the development host, whose timer listener starts as the
 * host's does (past due, or else runOnStartup: src/devhost/schedule-monitor.ts), with the slot
 * ledger in Azurite and the seed's steps against the stand-ins.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, type AppHarness } from '../support/appHarness';
import { withSchedules, type ScheduleInput } from '../support/schedulerPipelines';
import { loadCatalog, type Catalog } from '../../src/pipelines/catalog';
import seed from '../../src/pipelines/definitions/data-pipeline';
import { schedulerTimerSchedule } from '../../src/functions/scheduler';

let app: AppHarness;

before(async () => {
  app = await startApp({ startTime: new Date('2026-11-25T12:00:00Z'), settings: { SCHEDULER_ENABLED: 'true' }, catalog: catalog() });
});
after(async () => {
  await app?.stop();
});

/** A catalog of seed-step pipelines, each with one schedule named after it. */
function catalog(...pipelines: [string, ScheduleInput][]): Catalog {
  return loadCatalog(pipelines.length === 0 ? [withSchedules(seed, 'unscheduled', [])] : pipelines.map(([name, schedule]) => withSchedules(seed, name, [schedule])));
}

async function ledger(pipeline: string, schedule: string): Promise<string[]> {
  return (await app.store.listSlots(pipeline, schedule)).map((s) => `${s.slot.slice(11, 16)} ${s.outcome}`);
}

/** The run ids started for a pipeline's schedule, each run finished and succeeded. */
async function succeededRuns(prefix: string): Promise<string[]> {
  await app.host.runUntilIdle();
  const ids = app.runInstances(prefix);
  for (const id of ids) {
    const run = await app.api<{ status: string }>('GET', `runs/${id}`);
    assert.equal(run.json.status, 'succeeded', `${id}: ${run.text.slice(0, 300)}`);
    assert.equal(app.host.executions(id).length >= 1, true);
  }
  return ids;
}

void describe('scheduler: catch-up at start-up', () => {
  void test('a deploy edits one schedule while the app is down across slots: the slots are caught up when it starts, not at the next fire', async () => {
    const before = catalog(['steady', { name: 'nightly', cron: '0 3 * * *' }], ['edited', { name: 'nightly', cron: '0 2 * * *' }]);
    const after = catalog(['steady', { name: 'nightly', cron: '0 3 * * *' }], ['edited', { name: 'nightly', cron: '0 4 * * *' }]);
    await app.restartHost(new Date('2026-11-26T01:30:00Z'), { catalog: before });
    // Down from 01:30; the new version starts at 03:20. Its timer expression differs, so the
    // host's monitor does not fire past due (the test checks that premise).
    assert.notEqual(schedulerTimerSchedule(before, new Date('2026-11-26T01:30:00Z')), schedulerTimerSchedule(after, new Date('2026-11-26T03:20:00Z')));
    await app.restartHost(new Date('2026-11-26T03:20:00Z'), { catalog: after, monitor: true });

    // The unchanged schedule's 03:00, and the old definition's 02:00 (in force until the new
    // version started), each caught up at 03:20 by 'latest'.
    assert.deepEqual(await ledger('steady', 'nightly'), ['03:00 caught-up']);
    assert.deepEqual(await ledger('edited', 'nightly'), ['02:00 caught-up']);
    // The edited schedule goes on at its new time.
    await app.host.advance(Date.parse('2026-11-26T04:00:30Z') - app.host.now().getTime());
    assert.deepEqual(await ledger('edited', 'nightly'), ['02:00 caught-up', '04:00 fired']);
    assert.deepEqual(await succeededRuns('sched:steady:'), ['sched:steady:nightly:20261126T0300Z']);
    assert.deepEqual(await succeededRuns('sched:edited:'), ['sched:edited:nightly:20261126T0200Z', 'sched:edited:nightly:20261126T0400Z']);
  });

  void test('the yearly window moving at New Year changes the timer expression; the slot missed across it is caught up', async () => {
    // 06:00 in Almaty was 00:00 UTC until Kazakhstan moved to UTC+5 on 2024-03-01. The timer
    // covers the zone's offsets from last year on, so the expression loses 00:00 on 2026-01-01.
    const almaty = catalog(['almaty', { name: 'morning', cron: '0 6 * * *', timezone: 'Asia/Almaty' }]);
    const december = schedulerTimerSchedule(almaty, new Date('2025-12-31T22:00:00Z'));
    const january = schedulerTimerSchedule(almaty, new Date('2026-01-01T01:20:00Z'));
    assert.notEqual(december, january, `the time-zone data of this Node (${process.versions.tz ?? '?'}) has no 2024 change for Asia/Almaty`);

    await app.restartHost(new Date('2025-12-31T22:00:00Z'), { catalog: almaty });
    await app.restartHost(new Date('2026-01-01T01:20:00Z'), { monitor: true });
    assert.deepEqual(await app.store.listSlots('almaty', 'morning').then((slots) => slots.map((s) => [s.slot, s.local, s.outcome])), [
      ['2026-01-01T01:00:00Z', '2026-01-01T06:00:00+05:00', 'caught-up'],
    ]);
    assert.deepEqual(await succeededRuns('sched:almaty:'), ['sched:almaty:morning:20260101T0100Z']);
  });

  void test("each schedule's policy decides at start-up: 'none' records the missed slots, 'latest' starts the last, 'all' starts each", async () => {
    const hourly = (extra: Partial<ScheduleInput> = {}): ScheduleInput => ({ name: 'hourly', cron: '0 * * * *', ...extra });
    const policies: [string, ScheduleInput][] = [
      ['start-none', hourly({ catchUp: 'none' })],
      ['start-latest', hourly({ catchUp: 'latest' })],
      ['start-all', hourly({ catchUp: 'all', catchUpLimit: 5, overlap: 'allow' })],
    ];
    await app.restartHost(new Date('2026-11-27T10:20:00Z'), { catalog: catalog(...policies) });
    // Down from 10:20 to 14:20 (11:00 … 14:00 missed); the deploy adds a half-hourly schedule
    // elsewhere, which changes the expression: no past-due fire from the host.
    await app.restartHost(new Date('2026-11-27T14:20:00Z'), { catalog: catalog(...policies, ['half-hourly', { name: 'hourly', cron: '30 * * * *' }]), monitor: true });

    assert.deepEqual(await ledger('start-none', 'hourly'), ['11:00 missed', '12:00 missed', '13:00 missed', '14:00 missed']);
    assert.deepEqual(await ledger('start-latest', 'hourly'), ['11:00 missed', '12:00 missed', '13:00 missed', '14:00 caught-up']);
    assert.deepEqual(await ledger('start-all', 'hourly'), ['11:00 caught-up', '12:00 caught-up', '13:00 caught-up', '14:00 caught-up']);
    assert.deepEqual(await succeededRuns('sched:start-none:'), []);
    assert.deepEqual(await succeededRuns('sched:start-latest:'), ['sched:start-latest:hourly:20261127T1400Z']);
    assert.deepEqual(await succeededRuns('sched:start-all:'), ['11', '12', '13', '14'].map((h) => `sched:start-all:hourly:20261127T${h}00Z`));
  });

  void test("still one run per slot when the host's past-due fire arrives with the start-up tick", async () => {
    const twice = catalog(['twice-latest', { name: 'hourly', cron: '0 * * * *' }], ['twice-all', { name: 'hourly', cron: '0 * * * *', catchUp: 'all', overlap: 'allow' }]);
    await app.restartHost(new Date('2026-11-28T10:20:00Z'), { catalog: twice });
    const exportsBefore = app.world.callCounts().export;
    // Same expression: the monitor finds 11:00 past due and fires, while the start-up tick runs.
    assert.equal(schedulerTimerSchedule(twice, new Date('2026-11-28T10:20:00Z')), schedulerTimerSchedule(twice, new Date('2026-11-28T13:20:00Z')));
    await app.restartHost(new Date('2026-11-28T13:20:00Z'), { pastDueToo: true });

    assert.deepEqual(await ledger('twice-latest', 'hourly'), ['11:00 missed', '12:00 missed', '13:00 caught-up']);
    assert.deepEqual(await ledger('twice-all', 'hourly'), ['11:00 caught-up', '12:00 caught-up', '13:00 caught-up']);
    const runs = [...(await succeededRuns('sched:twice-latest:')), ...(await succeededRuns('sched:twice-all:'))];
    assert.deepEqual(runs, ['sched:twice-latest:hourly:20261128T1300Z', ...['11', '12', '13'].map((h) => `sched:twice-all:hourly:20261128T${h}00Z`)]);
    for (const id of runs) assert.equal(app.host.executions(id).length, 1, `${id} ran once`);
    assert.equal(app.world.callCounts().export - exportsBefore, 4, 'one export per run');
  });
});
