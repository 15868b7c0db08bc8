import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { validatePipeline } from '../../src/pipelines/validate';
import type { PipelineDefinition, PipelineInput } from '../../src/pipelines/schema';
import { runSchedulerTick, type SchedulerTickSummary } from '../../src/scheduler/tick';
import type { LateSlotsEvent } from '../../src/scheduler/ports';
import { MemoryLog, MemoryRunStarter, MemorySchedulerStore } from '../support/scheduler';

type ScheduleInput = NonNullable<PipelineInput['schedules']>[number];

function pipeline(schedules: ScheduleInput[]): PipelineDefinition {
  const result = validatePipeline({
    name: 'sales',
    title: 'Sales',
    parameters: { region: { type: 'string', default: 'us' }, limit: { type: 'integer', default: 10 } },
    steps: [{ id: 'work', kind: 'activity', activity: 'noop' }],
    schedules,
  });
  assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
  return result.pipeline;
}

const hourly = (extra: Partial<ScheduleInput> = {}): ScheduleInput => ({ name: 'hourly', cron: '0 * * * *', timezone: 'UTC', ...extra });

function harness(pipelines: PipelineDefinition[]) {
  const store = new MemorySchedulerStore();
  const starter = new MemoryRunStarter();
  const log = new MemoryLog();
  const alerts: LateSlotsEvent[] = [];
  const tick = (now: string): Promise<SchedulerTickSummary> =>
    runSchedulerTick({
      now: new Date(now),
      catalog: { pipelines },
      store,
      starter,
      log,
      notifyLate: (event) => {
        alerts.push(event);
        return Promise.resolve();
      },
    });
  return { store, starter, log, alerts, tick };
}

/** Every hour in (from, to], as slot keys. */
function hoursBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let t = Math.floor(Date.parse(from) / 3_600_000 + 1) * 3_600_000; t <= Date.parse(to); t += 3_600_000) {
    out.push(new Date(t).toISOString().replace('.000Z', 'Z'));
  }
  return out;
}

void describe('firing', () => {
  void test('the first tick after a deploy does not backfill history; the next slot fires with the run it describes', async () => {
    const h = harness([pipeline([hourly({ parameters: { region: 'eu' } })])]);
    const first = await h.tick('2026-11-26T10:20:00Z');
    assert.deepEqual(first.started, []);
    assert.equal(h.store.ledger('sales', 'hourly').length, 0);

    const second = await h.tick('2026-11-26T11:00:30Z');
    assert.deepEqual(second.started, ['sched:sales:hourly:20261126T1100Z']);
    const run = h.starter.runs.get('sched:sales:hourly:20261126T1100Z')!;
    assert.deepEqual(run.request.trigger, { kind: 'schedule', origin: 'hourly', scheduledFor: '2026-11-26T11:00:00Z' });
    assert.deepEqual(run.request.parameters, { region: 'eu', limit: 10 });
    const [entry] = h.store.ledger('sales', 'hourly');
    assert.equal(entry!.outcome, 'fired');
    assert.equal(entry!.instanceId, 'sched:sales:hourly:20261126T1100Z');
    assert.equal(entry!.lateBySeconds, 30);
  });

  void test('a schedule deployed just before its slot still fires on its first tick', async () => {
    const h = harness([pipeline([hourly()])]);
    const summary = await h.tick('2026-11-26T11:00:40Z');
    assert.deepEqual(summary.started, ['sched:sales:hourly:20261126T1100Z']);
  });

  void test('a disabled schedule fires nothing and records nothing', async () => {
    const h = harness([pipeline([hourly({ enabled: false })])]);
    await h.tick('2026-11-26T10:20:00Z');
    const summary = await h.tick('2026-11-26T13:00:30Z');
    assert.equal(summary.schedules[0]!.state, 'disabled');
    assert.equal(h.starter.calls.length, 0);
    assert.equal(h.store.ledger('sales', 'hourly').length, 0);
  });
});

void describe('exactly once', () => {
  void test('two ticks for the same minute start one run', async () => {
    const h = harness([pipeline([hourly()])]);
    await h.tick('2026-11-26T10:20:00Z');
    await h.tick('2026-11-26T11:00:10Z');
    await h.tick('2026-11-26T11:00:10Z');
    assert.deepEqual(h.starter.started(), ['sched:sales:hourly:20261126T1100Z']);
    assert.equal(h.starter.calls.length, 1);
  });

  void test('a finished slot ticked again (checkpoint lost) is not run a second time', async () => {
    const h = harness([pipeline([hourly()])]);
    await h.tick('2026-11-26T10:20:00Z');
    await h.tick('2026-11-26T11:00:10Z');
    h.starter.completeAll();
    // The checkpoint write of that tick was lost (or the row restored from an old copy).
    const row = h.store.states.get('sales|hourly')!;
    h.store.states.set('sales|hourly', { ...row, checkpoint: '2026-11-26T10:20:00.000Z', version: row.version + 1 });
    const again = await h.tick('2026-11-26T11:00:50Z');
    assert.deepEqual(again.started, []);
    assert.equal(h.starter.calls.length, 1);
    assert.deepEqual(again.schedules[0]!.slots, [{ slot: '2026-11-26T11:00:00Z', local: '2026-11-26T11:00:00+00:00', outcome: 'starting', claimed: false }]);
  });

  void test('two instances ticking at once start one run', async () => {
    const h = harness([pipeline([hourly()])]);
    await h.tick('2026-11-26T10:20:00Z');
    const [a, b] = await Promise.all([h.tick('2026-11-26T11:00:05Z'), h.tick('2026-11-26T11:00:07Z')]);
    assert.equal(a.started.length + b.started.length, 1);
    assert.equal(h.starter.calls.length, 1);
    assert.equal(h.store.ledger('sales', 'hourly').length, 1);
  });

  void test('two instances ticking at once after downtime: one catch-up run, one ledger row per slot', async () => {
    const h = harness([pipeline([hourly()])]);
    await h.tick('2026-11-20T10:20:00Z');
    await Promise.all([h.tick('2026-11-23T10:20:00Z'), h.tick('2026-11-23T10:20:01Z')]);
    assert.equal(h.starter.calls.length, 1);
    assert.equal(h.store.ledger('sales', 'hourly').length, 72);
    assert.equal(h.alerts.length, 1);
  });

  void test('a start interrupted between claim and start (crash) is started by a later tick', async () => {
    const h = harness([pipeline([hourly()])]);
    await h.tick('2026-11-26T10:20:00Z');
    const common = { pipeline: 'sales', schedule: 'hourly', dst: null, lateBySeconds: 5, attempts: 1, recordedAt: '2026-11-26T11:00:05Z' } as const;
    // One row left by a tick that died 5 minutes ago, one being started right now by another tick.
    await h.store.claimSlot({ ...common, slot: '2026-11-26T11:00:00Z', local: '2026-11-26T11:00:00+00:00', scheduledLocal: '2026-11-26T11:00:00', outcome: 'starting', instanceId: 'sched:sales:hourly:20261126T1100Z', updatedAt: '2026-11-26T11:00:05Z' });
    await h.store.claimSlot({ ...common, slot: '2026-11-26T11:04:00Z', local: '2026-11-26T11:04:00+00:00', scheduledLocal: '2026-11-26T11:04:00', outcome: 'starting', instanceId: 'sched:sales:hourly:20261126T1104Z', updatedAt: '2026-11-26T11:05:00Z' });
    const summary = await h.tick('2026-11-26T11:05:10Z');
    assert.deepEqual(summary.started, ['sched:sales:hourly:20261126T1100Z']);
    assert.equal(h.store.ledger('sales', 'hourly')[0]!.outcome, 'fired');
    assert.equal(h.store.ledger('sales', 'hourly')[1]!.outcome, 'starting');
  });

  void test('a failed start is retried on the next ticks, then given up after 3 attempts', async () => {
    const h = harness([pipeline([hourly({ overlap: 'allow' })])]);
    await h.tick('2026-11-26T09:20:00Z');
    h.starter.failures = { count: 1, error: new Error('task hub unavailable') };
    const failed = await h.tick('2026-11-26T10:00:10Z');
    assert.equal(failed.schedules[0]!.slots[0]!.outcome, 'starting');
    assert.match(failed.schedules[0]!.slots[0]!.reason!, /task hub unavailable/);
    const retried = await h.tick('2026-11-26T10:01:10Z');
    assert.deepEqual(retried.started, ['sched:sales:hourly:20261126T1000Z']);
    assert.equal(h.store.ledger('sales', 'hourly')[0]!.outcome, 'fired');

    h.starter.failures = { count: 10, error: new Error('still down') };
    for (const minute of ['00:10', '01:10', '02:10', '03:10']) await h.tick(`2026-11-26T11:${minute}Z`);
    const entry = h.store.ledger('sales', 'hourly')[1]!;
    assert.equal(entry.outcome, 'start-failed');
    assert.match(entry.reason!, /attempt 3 of 3\): still down/);
    assert.equal(h.starter.calls.filter((id) => id.endsWith('T1100Z')).length, 3);
  });
});

void describe('catch-up after three days down', () => {
  // Last tick 2026-11-20 10:20, back 2026-11-23 10:20: 72 hourly slots, the latest 20 minutes old.
  const down = '2026-11-20T10:20:00Z';
  const up = '2026-11-23T10:20:00Z';
  const expectedSlots = hoursBetween(down, up);

  async function afterDowntime(extra: Partial<ScheduleInput>) {
    const h = harness([pipeline([hourly(extra)])]);
    await h.tick(down);
    const summary = await h.tick(up);
    assert.deepEqual(h.store.ledger('sales', 'hourly').map((e) => e.slot), expectedSlots, 'every slot is in the ledger');
    return { h, summary };
  }

  void test("'none' starts nothing and records all 72 slots as missed", async () => {
    const { h } = await afterDowntime({ catchUp: 'none' });
    assert.equal(expectedSlots.length, 72);
    assert.equal(h.starter.calls.length, 0);
    assert.deepEqual(h.store.outcomes('sales', 'hourly'), { missed: 72 });
    assert.match(h.store.ledger('sales', 'hourly')[0]!.reason!, /catchUp 'none'/);
  });

  void test("'none' still fires the current slot when it is within tolerance", async () => {
    const h = harness([pipeline([hourly({ catchUp: 'none' })])]);
    await h.tick(down);
    const summary = await h.tick('2026-11-23T10:00:40Z');
    assert.deepEqual(summary.started, ['sched:sales:hourly:20261123T1000Z']);
    assert.deepEqual(h.store.outcomes('sales', 'hourly'), { missed: 71, fired: 1 });
  });

  void test("'latest' (default) starts the latest slot as caught-up and records the other 71 as missed", async () => {
    const { h, summary } = await afterDowntime({});
    assert.deepEqual(summary.started, ['sched:sales:hourly:20261123T1000Z']);
    assert.deepEqual(h.store.outcomes('sales', 'hourly'), { missed: 71, 'caught-up': 1 });
    assert.equal(h.store.ledger('sales', 'hourly').at(-1)!.lateBySeconds, 1200);
  });

  void test("'all' starts each missed slot up to catchUpLimit, the most recent ones, and records the rest as missed", async () => {
    const { h } = await afterDowntime({ catchUp: 'all', catchUpLimit: 5, overlap: 'allow' });
    assert.deepEqual(h.starter.started(), expectedSlots.slice(-5).map((s) => `sched:sales:hourly:${s.replace(/[-:]/g, '').replace('00Z', 'Z')}`));
    assert.deepEqual(h.store.outcomes('sales', 'hourly'), { missed: 67, 'caught-up': 5 });
    assert.match(h.store.ledger('sales', 'hourly')[0]!.reason!, /beyond catchUpLimit 5/);
  });

  void test("'all' with overlap 'queue' runs the backlog one after another, oldest first", async () => {
    const { h } = await afterDowntime({ catchUp: 'all', catchUpLimit: 3, overlap: 'queue' });
    assert.deepEqual(h.starter.started(), ['sched:sales:hourly:20261123T0800Z']);
    assert.deepEqual(h.store.outcomes('sales', 'hourly'), { missed: 69, 'caught-up': 1, queued: 2 });
    await h.tick('2026-11-23T10:21:00Z'); // still running: nothing more
    assert.equal(h.starter.runs.size, 1);
    h.starter.completeAll();
    await h.tick('2026-11-23T10:22:00Z');
    h.starter.completeAll();
    await h.tick('2026-11-23T10:23:00Z');
    assert.deepEqual(h.starter.started(), ['sched:sales:hourly:20261123T0800Z', 'sched:sales:hourly:20261123T0900Z', 'sched:sales:hourly:20261123T1000Z']);
    assert.deepEqual(h.store.outcomes('sales', 'hourly'), { missed: 69, 'caught-up': 3 });
  });

  void test('the late alert is raised once, naming the late slots', async () => {
    const { h } = await afterDowntime({});
    await h.tick('2026-11-23T10:21:00Z');
    h.starter.completeAll();
    await h.tick('2026-11-23T11:00:10Z');
    assert.equal(h.alerts.length, 1);
    const [alert] = h.alerts;
    assert.equal(alert!.slots.length, 72);
    assert.deepEqual(alert!.slots.at(-1), {
      slot: '2026-11-23T10:00:00Z', local: '2026-11-23T10:00:00+00:00', outcome: 'caught-up', lateBySeconds: 1200, instanceId: 'sched:sales:hourly:20261123T1000Z',
    });
    assert.equal(h.starter.calls.length, 2, 'the 11:00 slot fired on time, without an alert');
  });
});

void describe('overlap', () => {
  void test("'skip' (default) records the slot as skipped, naming the run still running", async () => {
    const h = harness([pipeline([hourly()])]);
    await h.tick('2026-11-26T10:20:00Z');
    await h.tick('2026-11-26T11:00:10Z');
    const summary = await h.tick('2026-11-26T12:00:10Z');
    assert.deepEqual(summary.started, []);
    const entry = h.store.ledger('sales', 'hourly')[1]!;
    assert.equal(entry.outcome, 'skipped-overlap');
    assert.match(entry.reason!, /run sched:sales:hourly:20261126T1100Z of sales was still running/);
  });

  void test("'skip' also sees runs started by hand", async () => {
    const h = harness([pipeline([hourly()])]);
    await h.tick('2026-11-26T10:20:00Z');
    h.starter.external.set('sales', 'manual-7f3a');
    await h.tick('2026-11-26T11:00:10Z');
    assert.match(h.store.ledger('sales', 'hourly')[0]!.reason!, /run manual-7f3a/);
  });

  void test("'queue' holds the slot until the running run ends; 'allow' starts it alongside", async () => {
    const queue = harness([pipeline([hourly({ overlap: 'queue' })])]);
    queue.starter.external.set('sales', 'manual-1');
    await queue.tick('2026-11-26T10:20:00Z');
    await queue.tick('2026-11-26T11:00:10Z');
    assert.equal(queue.store.ledger('sales', 'hourly')[0]!.outcome, 'queued');
    queue.starter.completeAll();
    const later = await queue.tick('2026-11-26T11:03:10Z');
    assert.deepEqual(later.started, ['sched:sales:hourly:20261126T1100Z']);
    assert.equal(queue.store.ledger('sales', 'hourly')[0]!.outcome, 'fired');

    const allow = harness([pipeline([hourly({ overlap: 'allow' })])]);
    allow.starter.external.set('sales', 'manual-1');
    await allow.tick('2026-11-26T10:20:00Z');
    const summary = await allow.tick('2026-11-26T11:00:10Z');
    assert.deepEqual(summary.started, ['sched:sales:hourly:20261126T1100Z']);
  });
});

void describe('pause and resume', () => {
  void test('slots of a paused schedule are recorded skipped-paused, and resuming does not backfill them', async () => {
    const h = harness([pipeline([hourly()])]);
    await h.tick('2026-11-26T10:20:00Z');
    h.store.setPaused('sales', 'hourly', true);
    await h.tick('2026-11-26T11:00:10Z');
    await h.tick('2026-11-26T13:00:10Z');
    assert.equal(h.starter.calls.length, 0);
    assert.deepEqual(h.store.outcomes('sales', 'hourly'), { 'skipped-paused': 3 });

    h.store.setPaused('sales', 'hourly', false);
    await h.tick('2026-11-26T13:30:00Z');
    assert.equal(h.starter.calls.length, 0);
    const resumed = await h.tick('2026-11-26T14:00:10Z');
    assert.deepEqual(resumed.started, ['sched:sales:hourly:20261126T1400Z']);
    assert.equal(h.alerts.length, 0);
  });
});

void describe('DST, firing minute by minute (0 2 * * * Europe/Paris)', () => {
  async function tickEveryMinute(schedule: Partial<ScheduleInput>, from: string, to: string) {
    const h = harness([pipeline([{ name: 'nightly', cron: '0 2 * * *', timezone: 'Europe/Paris', ...schedule }])]);
    for (let t = Date.parse(from); t <= Date.parse(to); t += 60_000) {
      await h.tick(new Date(t + 3_000).toISOString());
      h.starter.completeAll();
    }
    return h;
  }

  void test('2026-03-29: the missing 02:00 fires once, at 03:00 CEST, marked gap', async () => {
    const h = await tickEveryMinute({}, '2026-03-29T00:50:00Z', '2026-03-29T01:10:00Z');
    assert.deepEqual(h.starter.started(), ['sched:sales:nightly:20260329T0100Z']);
    const [entry] = h.store.ledger('sales', 'nightly');
    assert.deepEqual([entry!.local, entry!.scheduledLocal, entry!.dst, entry!.outcome], ['2026-03-29T03:00:00+02:00', '2026-03-29T02:00:00', 'gap', 'fired']);
  });

  void test("2026-03-29 with gap 'skip': nothing fires", async () => {
    const h = await tickEveryMinute({ dst: { gap: 'skip' } }, '2026-03-29T00:50:00Z', '2026-03-29T01:10:00Z');
    assert.equal(h.starter.calls.length, 0);
  });

  void test('2026-10-25: 02:00 happens twice; it fires once at 02:00 CEST by default, at 02:00 CET with second, twice with both', async () => {
    const from = '2026-10-24T23:50:00Z';
    const to = '2026-10-25T01:10:00Z';
    assert.deepEqual((await tickEveryMinute({}, from, to)).starter.started(), ['sched:sales:nightly:20261025T0000Z']);
    assert.deepEqual((await tickEveryMinute({ dst: { overlap: 'second' } }, from, to)).starter.started(), ['sched:sales:nightly:20261025T0100Z']);
    const both = await tickEveryMinute({ dst: { overlap: 'both' } }, from, to);
    assert.deepEqual(both.starter.started(), ['sched:sales:nightly:20261025T0000Z', 'sched:sales:nightly:20261025T0100Z']);
    assert.deepEqual(both.store.ledger('sales', 'nightly').map((e) => [e.local, e.dst]), [
      ['2026-10-25T02:00:00+02:00', 'overlap'],
      ['2026-10-25T02:00:00+01:00', 'overlap'],
    ]);
  });
});

void test('a storage failure on one schedule does not stop the others', async () => {
  const h = harness([pipeline([hourly(), hourly({ name: 'hourly-b' })])]);
  await h.tick('2026-11-26T10:20:00Z');
  h.store.failNext = { op: 'getScheduleState', error: new Error('503 server busy') };
  const summary = await h.tick('2026-11-26T11:00:10Z');
  assert.deepEqual(summary.schedules.map((s) => s.state), ['failed', 'active']);
  assert.deepEqual(summary.started, ['sched:sales:hourly-b:20261126T1100Z']);
  // The failed one is evaluated again on the next tick: its slot is recorded, not lost (skipped,
  // since hourly-b's run of the same pipeline is running).
  const next = await h.tick('2026-11-26T11:01:10Z');
  assert.deepEqual(next.started, []);
  assert.equal(h.store.ledger('sales', 'hourly')[0]!.outcome, 'skipped-overlap');
});

void test('a seconds cron after an hour down records only the latest slots, and says how many it left out', async () => {
  const h = harness([pipeline([{ name: 'fast', cron: '*/2 * * * * *', cronSeconds: true, timezone: 'UTC', catchUp: 'none' }])]);
  await h.tick('2026-11-26T10:00:00Z');
  const summary = await runSchedulerTick({
    now: new Date('2026-11-26T11:00:00Z'), catalog: { pipelines: [pipeline([{ name: 'fast', cron: '*/2 * * * * *', cronSeconds: true, timezone: 'UTC', catchUp: 'none' }])] },
    store: h.store, starter: h.starter, log: h.log, maxSlotsPerSchedule: 100,
  });
  const result = summary.schedules[0]!;
  assert.equal(result.unrecorded, 1800 - 100);
  const ledger = h.store.ledger('sales', 'fast').filter((e) => e.slot > '2026-11-26T10:00:00Z');
  assert.equal(ledger.length, 100);
  assert.equal(ledger[0]!.slot, '2026-11-26T10:56:42Z');
  assert.equal(ledger.at(-1)!.slot, '2026-11-26T11:00:00Z');
  assert.ok(h.log.lines.some((l) => l.level === 'warn' && /not recorded/.test(l.msg)));
});
