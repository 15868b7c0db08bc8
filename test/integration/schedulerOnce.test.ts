/**
 * The scheduler in the real app: the `schedulerTick` timer trigger of src/index, run by the
 * development host on a virtual clock, with the slot ledger in Azurite and runs of real pipelines
 * (the seed's steps against the stand-ins). Exactly once per slot, overlap `skip`, pause / resume.
 *
 * Test-only pipelines reuse the seed pipeline's steps under their own names and schedules.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, type AppHarness } from '../support/appHarness';
import { loadCatalog } from '../../src/pipelines/catalog';
import seed from '../../src/pipelines/definitions/data-pipeline';
import type { ScheduleInput } from '../support/schedulerPipelines';
import { withSchedules } from '../support/schedulerPipelines';

let app: AppHarness;

before(async () => {
  // Deployed without schedules: each test deploys its own (a host start runs a tick, runOnStartup).
  app = await startApp({ startTime: new Date('2026-11-26T10:00:00Z'), settings: { SCHEDULER_ENABLED: 'true' }, catalog: loadCatalog([withSchedules(seed, 'unscheduled', [])]) });
});
after(async () => {
  await app?.stop();
});

const tick = (): Promise<void> => app.host.invokeTimer('schedulerTick');

function catalogOf(...pipelines: [string, ScheduleInput][]): ReturnType<typeof loadCatalog> {
  return loadCatalog(pipelines.map(([name, schedule]) => withSchedules(seed, name, [schedule])));
}

describe('scheduler: each slot starts at most one run', () => {
  test('two ticks for the same minute start one run; a finished slot ticked again starts none', async () => {
    app.useCatalog(catalogOf(['hourly', { name: 'hourly', cron: '0 * * * *' }]));
    const before = app.world.callCounts();

    // Two ticks at 10:00:00 at once, as two instances would: one slot row, one run.
    await Promise.all([tick(), tick()]);
    const ledger = await app.store.listSlots('hourly', 'hourly');
    assert.deepEqual(ledger.map((s) => [s.slot, s.outcome, s.instanceId]), [['2026-11-26T10:00:00Z', 'fired', 'sched:hourly:hourly:20261126T1000Z']]);
    assert.deepEqual(app.runInstances('sched:hourly:'), ['sched:hourly:hourly:20261126T1000Z']);

    const status = await app.host.waitFor('sched:hourly:hourly:20261126T1000Z');
    assert.equal(status.runtimeStatus, 'Completed');
    const run = await app.api<{ status: string; trigger: unknown }>('GET', 'runs/sched:hourly:hourly:20261126T1000Z');
    assert.equal(run.json.status, 'succeeded');
    assert.deepEqual(run.json.trigger, { kind: 'schedule', origin: 'hourly', scheduledFor: '2026-11-26T10:00:00Z' });
    const afterRun = app.world.callCounts();
    assert.equal(afterRun.export - before.export, 1);

    // The slot is behind the checkpoint now; ticking again (twice) does nothing.
    await Promise.all([tick(), tick()]);
    // A lost checkpoint (or a clock behind) puts the finished slot in a tick's window again: its
    // ledger row stops it — Durable alone would *overwrite* the completed instance.
    const state = await app.store.getScheduleState('hourly', 'hourly');
    assert.equal(await app.store.setCheckpoint('hourly', 'hourly', '2026-11-26T09:30:00Z', state.etag), true);
    await tick();
    await app.host.runUntilIdle();

    assert.equal((await app.store.listSlots('hourly', 'hourly')).length, 1);
    assert.deepEqual(app.runInstances('sched:hourly:'), ['sched:hourly:hourly:20261126T1000Z']);
    assert.equal(app.host.executions('sched:hourly:hourly:20261126T1000Z').length, 1);
    assert.equal(app.host.status('sched:hourly:hourly:20261126T1000Z')?.runtimeStatus, 'Completed');
    assert.deepEqual(app.world.callCounts(), afterRun);
    const listed = await app.api<{ runs: { runId: string }[] }>('GET', 'runs?pipeline=hourly');
    assert.deepEqual(listed.json.runs.map((r) => r.runId), ['sched:hourly:hourly:20261126T1000Z']);
  });

  test('pause and resume at runtime: a paused slot is recorded skipped-paused, the next one fires', async () => {
    // Continues the hourly schedule above (checkpoint 10:00).
    const pause = await app.api<{ paused: boolean; nextRun: unknown }>('POST', 'pipelines/hourly/schedules/hourly/pause');
    assert.equal(pause.status, 200, pause.text);
    assert.deepEqual(pause.json, { pipeline: 'hourly', schedule: 'hourly', paused: true, nextRun: null });
    const listed = await app.api<{ pipelines: { name: string; schedules: { paused: boolean; nextRun: unknown }[] }[] }>('GET', 'pipelines');
    assert.deepEqual(listed.json.pipelines.find((p) => p.name === 'hourly')?.schedules.map((s) => [s.paused, s.nextRun]), [[true, null]]);

    await app.host.advance(61 * 60_000 - (app.host.now().getTime() - Date.parse('2026-11-26T10:00:00Z'))); // to 11:01
    const resume = await app.api<{ paused: boolean; nextRun: { utc: string } }>('POST', 'pipelines/hourly/schedules/hourly/resume');
    assert.equal(resume.status, 200, resume.text);
    assert.equal(resume.json.nextRun.utc, '2026-11-26T12:00:00Z');
    await app.host.advance(60 * 60_000); // to 12:01
    await app.host.runUntilIdle();

    const ledger = await app.store.listSlots('hourly', 'hourly');
    assert.deepEqual(ledger.map((s) => [s.slot, s.outcome]), [
      ['2026-11-26T10:00:00Z', 'fired'],
      ['2026-11-26T11:00:00Z', 'skipped-paused'],
      ['2026-11-26T12:00:00Z', 'fired'],
    ]);
    // Resuming did not backfill 11:00.
    assert.deepEqual(app.runInstances('sched:hourly:'), ['sched:hourly:hourly:20261126T1000Z', 'sched:hourly:hourly:20261126T1200Z']);
  });

  test("overlap 'skip': a slot that comes while the previous run still runs is recorded skipped-overlap", async () => {
    // Deployed at 13:59:10: the start-up tick fires 13:59 (within a new schedule's one-minute
    // look-back), then ticks 14:00 … 14:05; a seed run takes 90 s of virtual time (the dbt job is polled).
    await app.restartHost(new Date('2026-11-26T13:59:10Z'), { catalog: catalogOf(['minutely', { name: 'minutely', cron: '* * * * *' }]) });
    await app.host.advance(6 * 60_000); // to 14:05:10
    await app.host.runUntilIdle();

    // (Letting the last run end moves time on: later slots may be in the ledger too.)
    const ledger = (await app.store.listSlots('minutely', 'minutely')).filter((s) => s.slot <= '2026-11-26T14:05:00Z');
    assert.deepEqual(ledger.map((s) => s.slot), ['13:59', '14:00', '14:01', '14:02', '14:03', '14:04', '14:05'].map((m) => `2026-11-26T${m}:00Z`));
    assert.equal(ledger[0]?.outcome, 'fired');
    assert.equal(ledger[1]?.outcome, 'skipped-overlap');
    assert.match(ledger[1]?.reason ?? '', /run sched:minutely:minutely:20261126T1359Z of minutely was still running/);

    const fired = ledger.filter((s) => s.outcome === 'fired');
    const skipped = ledger.filter((s) => s.outcome === 'skipped-overlap');
    assert.equal(fired.length + skipped.length, ledger.length);
    // Exactly the fired slots have runs, and every skipped slot fell inside the run its reason names.
    assert.deepEqual(app.runInstances('sched:minutely:').filter((id) => id <= 'sched:minutely:minutely:20261126T1405Z'), fired.map((s) => s.instanceId).sort());
    for (const slot of skipped) {
      const runId = /run (\S+) of/.exec(slot.reason ?? '')?.[1] ?? '';
      const run = await app.store.getRun(runId);
      assert.ok(run?.startedAt && run.endedAt, `run ${runId} recorded`);
      assert.ok(Date.parse(run.startedAt) <= Date.parse(slot.slot) && Date.parse(slot.slot) < Date.parse(run.endedAt), `${slot.slot} is inside ${runId}`);
      assert.equal(app.host.status(slot.instanceId ?? `sched:minutely:minutely:${slot.slot}`), undefined);
    }
    for (const slot of fired) assert.equal(app.host.status(slot.instanceId ?? '')?.runtimeStatus, 'Completed');
  });

  test("overlap 'queue': a slot that comes while a run runs waits in the ledger and starts after it, one run at a time", async () => {
    await app.restartHost(new Date('2026-11-26T15:59:30Z'), { catalog: catalogOf(['queued', { name: 'minutely', cron: '* * * * *', overlap: 'queue' }]) });
    await app.host.advance(4 * 60_000 + 30_000); // the start-up tick fires 15:59, then ticks 16:00 … 16:04
    const midway = await app.store.listSlots('queued', 'minutely');
    assert.deepEqual(midway.map((s) => s.slot), ['15:59', '16:00', '16:01', '16:02', '16:03', '16:04'].map((m) => `2026-11-26T${m}:00Z`));
    assert.ok(midway.some((s) => s.outcome === 'queued'), `some slot waits: ${midway.map((s) => s.outcome).join(', ')}`);
    // Keep ticking until those five are no longer queued: each tick starts at most one, and only
    // when no run of the pipeline is running. (New slots keep queueing behind them meanwhile.)
    await app.until('the queue to drain', async () => {
      await app.host.advance(60_000);
      const ledger = await app.store.listSlots('queued', 'minutely');
      return ledger.filter((s) => s.slot <= '2026-11-26T16:04:00Z').every((s) => s.outcome !== 'queued') ? ledger : undefined;
    });
    // Pausing drops what is still queued (recorded skipped-paused); let the runs in flight end.
    assert.equal((await app.api('POST', 'pipelines/queued/schedules/minutely/pause')).status, 200);
    await app.host.advance(5 * 60_000);
    await app.host.runUntilIdle();
    const ledger = (await app.store.listSlots('queued', 'minutely')).filter((s) => s.slot <= '2026-11-26T16:04:00Z');
    assert.ok(ledger.every((s) => s.outcome === 'fired' || s.outcome === 'caught-up'), ledger.map((s) => `${s.slot} ${s.outcome}`).join(', '));
    const runs = await Promise.all(ledger.map(async (s) => ({ slot: s.slot, run: await app.store.getRun(s.instanceId ?? '') })));
    // Every slot ran, in slot order, and no two runs of the pipeline overlapped.
    for (const [i, { slot, run }] of runs.entries()) {
      assert.equal(run?.status, 'succeeded', `${slot}: ${run?.status ?? 'no run'}`);
      const previous = runs[i - 1]?.run;
      if (previous?.endedAt && run?.startedAt) assert.ok(Date.parse(previous.endedAt) <= Date.parse(run.startedAt), `${slot} started after the previous run ended`);
    }
  });
});
