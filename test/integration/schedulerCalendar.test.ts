/**
 * The scheduler across calendar trouble, in the real app on a virtual clock: `0 2 * * *`
 * Europe/Paris through both 2026 DST changes (firing, the ledger, and the next-run preview of
 * GET /api/pipelines), and three days of downtime under each catch-up policy.
 *
 * The scheduler's timer fires at the UTC times its expression computes from the definitions (for
 * `0 2 * * *` Paris: 00:00 and 01:00 UTC), so every slot here is reached by a real fire of that
 * timer, not by a tick every minute. Long quiet stretches are crossed by restarting the host later
 * (`restartHost`): the checkpoint is kept in the store, so that is the app being down — and where
 * no slot falls in the stretch, being down changes nothing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, type AppHarness } from '../support/appHarness';
import { withSchedules, type ScheduleInput } from '../support/schedulerPipelines';
import { loadCatalog } from '../../src/pipelines/catalog';
import seed from '../../src/pipelines/definitions/data-pipeline';
import type { SlotEntry } from '../../src/scheduler/ports';
import { schedulerTimerSchedule } from '../../src/functions/scheduler';

let app: AppHarness;

before(async () => {
  app = await startApp({ startTime: new Date('2026-03-28T12:00:00Z'), settings: { SCHEDULER_ENABLED: 'true' } });
});
after(async () => {
  await app?.stop();
});

const tick = (): Promise<void> => app.host.invokeTimer('schedulerTick');
const PARIS_2AM = { cron: '0 2 * * *', timezone: 'Europe/Paris' } as const;

type NextRun = { utc: string; local: string; dst: string | null } | null;

async function nextRuns(): Promise<Record<string, NextRun>> {
  const response = await app.api<{ schedulerEnabled: boolean; pipelines: { name: string; schedules: { nextRun: NextRun }[] }[] }>('GET', 'pipelines');
  assert.equal(response.status, 200, response.text);
  assert.equal(response.json.schedulerEnabled, true);
  return Object.fromEntries(response.json.pipelines.map((p) => [p.name, p.schedules[0]?.nextRun ?? null]));
}

const row = (s: SlotEntry) => ({ slot: s.slot, local: s.local, scheduledLocal: s.scheduledLocal, dst: s.dst, outcome: s.outcome, lateBySeconds: s.lateBySeconds });

/** Lets virtual time run to `untilIso` (the scheduler timer fires on the way), then lets every run started end. */
async function tickThrough(untilIso: string): Promise<void> {
  await app.host.advance(Date.parse(untilIso) - app.host.now().getTime());
  await app.host.runUntilIdle();
}

async function assertRunsSucceeded(ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    const run = await app.api<{ status: string; trigger: { scheduledFor?: string } }>('GET', `runs/${id}`);
    assert.equal(run.json.status, 'succeeded', `${id}: ${run.text.slice(0, 300)}`);
  }
}

describe('scheduler: DST in Europe/Paris', () => {
  test("spring forward 2026-03-29: 02:00 does not exist — 'next' fires at 03:00 CEST, 'skip' not at all", async () => {
    app.useCatalog(loadCatalog([
      withSchedules(seed, 'spring-next', [{ name: 'nightly', ...PARIS_2AM }]),
      withSchedules(seed, 'spring-skip', [{ name: 'nightly', ...PARIS_2AM, dst: { gap: 'skip' } }]),
    ]));
    // The timer fires only at the two UTC times 02:00 Paris can be: the moved slot must come from one.
    assert.equal(schedulerTimerSchedule(app.services.catalog, app.host.now()), '0 0 0,1 * * *');
    // Saturday noon (UTC): the preview shows the moved slot.
    assert.deepEqual(await nextRuns(), {
      'spring-next': { utc: '2026-03-29T01:00:00Z', local: '2026-03-29T03:00:00+02:00', dst: 'gap' },
      'spring-skip': { utc: '2026-03-30T00:00:00Z', local: '2026-03-30T02:00:00+02:00', dst: null },
    });
    await tick(); // first sight of the schedules: checkpoint at 12:00Z, nothing backfilled

    // Down overnight with nothing due; up at 00:50Z (01:50 CET) and ticking through the jump.
    await app.restartHost(new Date('2026-03-29T00:50:00Z'));
    await tickThrough('2026-03-29T01:30:00Z');
    assert.deepEqual((await app.store.listSlots('spring-next', 'nightly')).map(row), [
      { slot: '2026-03-29T01:00:00Z', local: '2026-03-29T03:00:00+02:00', scheduledLocal: '2026-03-29T02:00:00', dst: 'gap', outcome: 'fired', lateBySeconds: 0 },
    ]);
    assert.deepEqual(await app.store.listSlots('spring-skip', 'nightly'), []);
    assert.deepEqual(app.runInstances(), ['sched:spring-next:nightly:20260329T0100Z']);
    await assertRunsSucceeded(app.runInstances());
    // After it, both show Monday 02:00 CEST.
    const monday = { utc: '2026-03-30T00:00:00Z', local: '2026-03-30T02:00:00+02:00', dst: null };
    assert.deepEqual(await nextRuns(), { 'spring-next': monday, 'spring-skip': monday });

    // Monday: an ordinary 02:00, now at +02:00 — both fire.
    await app.restartHost(new Date('2026-03-29T23:50:00Z'));
    await tickThrough('2026-03-30T00:20:00Z');
    for (const pipeline of ['spring-next', 'spring-skip']) {
      const last = (await app.store.listSlots(pipeline, 'nightly')).at(-1);
      assert.deepEqual(last && row(last), { slot: '2026-03-30T00:00:00Z', local: '2026-03-30T02:00:00+02:00', scheduledLocal: '2026-03-30T02:00:00', dst: null, outcome: 'fired', lateBySeconds: 0 });
    }
    assert.deepEqual(app.runInstances(), ['sched:spring-next:nightly:20260330T0000Z', 'sched:spring-skip:nightly:20260330T0000Z']);
    await assertRunsSucceeded(app.runInstances());
  });

  test("fall back 2026-10-25: 02:00 happens twice — 'first' fires once at 02:00 CEST, 'second' at 02:00 CET, 'both' twice", async () => {
    await app.restartHost(new Date('2026-10-24T12:00:00Z'));
    app.useCatalog(loadCatalog([
      withSchedules(seed, 'fall-first', [{ name: 'nightly', ...PARIS_2AM }]),
      withSchedules(seed, 'fall-second', [{ name: 'nightly', ...PARIS_2AM, dst: { overlap: 'second' } }]),
      withSchedules(seed, 'fall-both', [{ name: 'nightly', ...PARIS_2AM, dst: { overlap: 'both' } }]),
    ]));
    const first = { utc: '2026-10-25T00:00:00Z', local: '2026-10-25T02:00:00+02:00', dst: 'overlap' };
    const second = { utc: '2026-10-25T01:00:00Z', local: '2026-10-25T02:00:00+01:00', dst: 'overlap' };
    assert.deepEqual(await nextRuns(), { 'fall-first': first, 'fall-second': second, 'fall-both': first });
    await tick();

    // Up from 01:50 CEST, ticking every minute through both 02:00s (00:00Z and 01:00Z).
    await app.restartHost(new Date('2026-10-24T23:50:00Z'));
    await tickThrough('2026-10-25T01:20:00Z');
    const expected = (s: typeof first) => ({ slot: s.utc.replace('.000', ''), local: s.local, scheduledLocal: '2026-10-25T02:00:00', dst: 'overlap', outcome: 'fired', lateBySeconds: 0 });
    assert.deepEqual((await app.store.listSlots('fall-first', 'nightly')).map(row), [expected(first)]);
    assert.deepEqual((await app.store.listSlots('fall-second', 'nightly')).map(row), [expected(second)]);
    assert.deepEqual((await app.store.listSlots('fall-both', 'nightly')).map(row), [expected(first), expected(second)]);
    assert.deepEqual(app.runInstances(), [
      'sched:fall-both:nightly:20261025T0000Z',
      'sched:fall-both:nightly:20261025T0100Z',
      'sched:fall-first:nightly:20261025T0000Z',
      'sched:fall-second:nightly:20261025T0100Z',
    ]);
    await assertRunsSucceeded(app.runInstances());
    const monday = { utc: '2026-10-26T01:00:00Z', local: '2026-10-26T02:00:00+01:00', dst: null };
    assert.deepEqual(await nextRuns(), { 'fall-first': monday, 'fall-second': monday, 'fall-both': monday });
  });
});

describe('scheduler: catch-up after three days down', () => {
  test("'latest' starts the newest missed slot, 'all' the newest catchUpLimit, 'none' nothing; every slot is in the ledger", async () => {
    const hourly = (extra: Partial<ScheduleInput> = {}): ScheduleInput => ({ name: 'hourly', cron: '0 * * * *', ...extra });
    await app.restartHost(new Date('2026-11-20T10:20:00Z'));
    app.useCatalog(loadCatalog([
      withSchedules(seed, 'catchup-latest', [hourly()], [{ on: ['late'], channel: 'slack', webhook: { secret: 'slack-webhook-url' } }]),
      withSchedules(seed, 'catchup-all', [hourly({ catchUp: 'all', catchUpLimit: 5, overlap: 'allow' })]),
      withSchedules(seed, 'catchup-none', [hourly({ catchUp: 'none' })]),
    ]));
    await tick(); // up and ticking at 10:20 on Friday
    const before = app.world.callCounts();
    const slackBefore = app.world.slack.posts.length;

    // Down from Friday 10:20 to Monday 10:20. The timer's 11:00 fire was missed: at start-up the
    // host fires it once, past due (the schedule monitor), and that tick catches up.
    await app.restartHost(new Date('2026-11-23T10:20:00Z'), { monitor: true });

    const hours = Array.from({ length: 72 }, (_, i) => new Date(Date.parse('2026-11-20T11:00:00Z') + i * 3_600_000).toISOString().replace('.000Z', 'Z'));
    const ledgers: Record<string, SlotEntry[]> = {};
    for (const pipeline of ['catchup-latest', 'catchup-all', 'catchup-none']) {
      ledgers[pipeline] = await app.store.listSlots(pipeline, 'hourly');
      assert.deepEqual(ledgers[pipeline].map((s) => s.slot), hours, `${pipeline}: every slot of the three days is in the ledger`);
    }
    const caughtUp = (pipeline: string) => ledgers[pipeline]!.filter((s) => s.outcome === 'caught-up').map((s) => s.slot);
    const count = (pipeline: string, outcome: string) => ledgers[pipeline]!.filter((s) => s.outcome === outcome).length;

    assert.deepEqual(caughtUp('catchup-latest'), ['2026-11-23T10:00:00Z']);
    assert.equal(count('catchup-latest', 'missed'), 71);
    assert.equal(ledgers['catchup-latest']!.at(-1)?.lateBySeconds, 1200);
    assert.deepEqual(caughtUp('catchup-all'), hours.slice(-5));
    assert.equal(count('catchup-all', 'missed'), 67);
    assert.deepEqual(caughtUp('catchup-none'), []);
    assert.equal(count('catchup-none', 'missed'), 72);

    const started = [...caughtUp('catchup-latest').map((s) => `sched:catchup-latest:hourly:${s.replace(/[-:]/g, '').replace('00Z', 'Z')}`),
      ...caughtUp('catchup-all').map((s) => `sched:catchup-all:hourly:${s.replace(/[-:]/g, '').replace('00Z', 'Z')}`)].sort();
    assert.deepEqual(app.runInstances(), started);
    await app.host.runUntilIdle();
    await assertRunsSucceeded(started);
    assert.equal(app.world.callCounts().export - before.export, 6);
    // The late alert went out once, for the pipeline that asked for it.
    const alerts = app.world.slack.posts.slice(slackBefore);
    assert.equal(alerts.length, 1);
    assert.match(JSON.stringify(alerts[0]?.payload), /catchup-latest/);

    // Ticking on does not start any of the missed slots.
    await app.host.advance(5 * 60_000);
    await app.host.runUntilIdle();
    assert.deepEqual(app.runInstances(), started);
  });
});
