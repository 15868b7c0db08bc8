/**
 * Backfills without a host: the slots a backfill covers against the slots the live scheduler tick
 * records for the same DST weeks (acceptance: identical), the range's bad inputs, and the driver's
 * passes (max-parallel, idempotent re-issue, reruns, cancel) against the in-memory ledger.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { advanceBackfill, rerunInstanceId, type AdvancePorts } from '../../src/backfill/advance';
import { backfillRange } from '../../src/backfill/range';
import type { BackfillStore, SlotPatch } from '../../src/backfill/store';
import type { BackfillRecord, BackfillSlot, BackfillState } from '../../src/backfill/types';
import type { RunStatus } from '../../src/engine/types';
import type { PipelineDefinition, PipelineInput } from '../../src/pipelines/schema';
import { validatePipeline } from '../../src/pipelines/validate';
import { scheduledInstanceId } from '../../src/scheduler/slots';
import { runSchedulerTick } from '../../src/scheduler/tick';
import { MemoryLog, MemoryRunStarter, MemorySchedulerStore } from '../support/scheduler';

type ScheduleInput = NonNullable<PipelineInput['schedules']>[number];

function pipeline(schedules: ScheduleInput[]): PipelineDefinition {
  const result = validatePipeline({
    name: 'sales',
    title: 'Sales',
    parameters: { day: { type: 'date', default: { run: 'logicalDate' } } },
    steps: [{ id: 'work', kind: 'activity', activity: 'noop' }],
    // Schedules of one pipeline share `overlap`: `allow` so that two at one instant both fire.
    schedules: schedules.map((s) => ({ overlap: 'allow' as const, ...s })),
  });
  assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
  return result.pipeline;
}

const SCHEDULES: ScheduleInput[] = [
  { name: 'paris-daily', cron: '0 2 * * *', timezone: 'Europe/Paris' },
  { name: 'paris-skip-both', cron: '30 2 * * *', timezone: 'Europe/Paris', dst: { gap: 'skip', overlap: 'both' } },
  { name: 'paris-second', cron: '15 2 * * *', timezone: 'Europe/Paris', dst: { gap: 'next', overlap: 'second' } },
  { name: 'paris-hourly', cron: '0 * * * *', timezone: 'Europe/Paris' },
  { name: 'ny-daily', cron: '30 1 * * *', timezone: 'America/New_York' },
  { name: 'lord-howe', cron: '0 2 * * *', timezone: 'Australia/Lord_Howe', dst: { gap: 'next', overlap: 'both' } },
];

/** The live scheduler ticking every 15 minutes over [start, end]: every slot it records, per schedule. */
async function liveSlots(p: PipelineDefinition, start: string, end: string): Promise<Map<string, string[]>> {
  const store = new MemorySchedulerStore();
  const starter = new MemoryRunStarter();
  for (let t = Date.parse(start); t <= Date.parse(end); t += 15 * 60_000) {
    await runSchedulerTick({ now: new Date(t), catalog: { pipelines: [p] }, store, starter, log: new MemoryLog() });
    starter.completeAll(); // no overlap skips: every slot fires
  }
  const bySchedule = new Map<string, string[]>();
  for (const entry of [...store.slots.values()].sort((a, b) => (a.slot < b.slot ? -1 : 1))) {
    assert.ok(entry.outcome === 'fired', `${entry.schedule} ${entry.slot}: ${entry.outcome}`);
    assert.equal(entry.instanceId, scheduledInstanceId(p.name, entry.schedule, entry.slot));
    bySchedule.set(entry.schedule, [...(bySchedule.get(entry.schedule) ?? []), entry.slot]);
  }
  return bySchedule;
}

void describe('backfill range', () => {
  for (const week of [
    { name: 'spring forward', from: '2026-03-26', to: '2026-04-06' },
    { name: 'fall back', from: '2026-10-22', to: '2026-11-03' },
  ]) {
    void test(`a backfill over the ${week.name} weeks makes exactly the slots the live scheduler fired`, async () => {
      const p = pipeline(SCHEDULES);
      // The live scheduler ticks from well before the range to well after it; slots in the range are compared.
      const live = await liveSlots(p, `${shiftDays(week.from, -2)}T00:00:00Z`, `${shiftDays(week.to, 2)}T00:00:00Z`);
      const now = new Date(`${shiftDays(week.to, 3)}T00:00:00Z`);
      for (const schedule of p.schedules) {
        const range = backfillRange(schedule, week.from, week.to, now);
        assert.ok(!Array.isArray(range), JSON.stringify(range));
        const expected = (live.get(schedule.name) ?? []).filter((s) => s >= range.from && s <= range.to);
        assert.ok(expected.length > 0);
        assert.deepEqual(range.slots.map((s) => s.utc), expected, schedule.name);
      }
    });
  }

  void test('the DST days come out as the policy says (gap moved or skipped, overlap once or twice)', () => {
    const p = pipeline(SCHEDULES);
    const now = new Date('2026-12-01T00:00:00Z');
    const get = (name: string, from: string, to: string) => {
      const schedule = p.schedules.find((s) => s.name === name);
      assert.ok(schedule);
      const range = backfillRange(schedule, from, to, now);
      assert.ok(!Array.isArray(range));
      return range.slots.map((s) => `${s.local}${s.dst ? ` ${s.dst}` : ''}`);
    };
    assert.deepEqual(get('paris-daily', '2026-03-28', '2026-03-30'), ['2026-03-28T02:00:00+01:00', '2026-03-29T03:00:00+02:00 gap', '2026-03-30T02:00:00+02:00']);
    const skip = p.schedules.find((s) => s.name === 'paris-skip-both');
    assert.ok(skip);
    const none = backfillRange(skip, '2026-03-29', '2026-03-29', now);
    assert.ok(Array.isArray(none));
    assert.match(none[0]?.message ?? '', /has no slot from 2026-03-28T23:00:00.000Z to 2026-03-29T21:59:59.999Z/);
    assert.deepEqual(get('paris-skip-both', '2026-10-25', '2026-10-25'), ['2026-10-25T02:30:00+02:00 overlap', '2026-10-25T02:30:00+01:00 overlap']);
    assert.equal(get('paris-hourly', '2026-10-25', '2026-10-25').length, 25);
    assert.equal(get('paris-hourly', '2026-03-29', '2026-03-29').length, 23);
  });

  void test('bad ranges are refused naming the field', () => {
    const [schedule] = pipeline(SCHEDULES).schedules;
    assert.ok(schedule);
    const now = new Date('2026-06-01T00:00:00Z');
    const problems = (from: string, to: string) => {
      const r = backfillRange(schedule, from, to, now);
      assert.ok(Array.isArray(r), `${from}..${to} accepted`);
      return r.map((p) => `${p.field}: ${p.message}`).join('\n');
    };
    assert.match(problems('2026-05-10', '2026-05-01'), /^from: --from 2026-05-10 is after --to 2026-05-01/);
    assert.match(problems('2026-02-30', '2026-03-01'), /^from: "2026-02-30" is not a date/);
    assert.match(problems('yesterday', 'today'), /from: .*\nto: /);
    assert.match(problems('2026-07-01', '2026-07-02'), /^from: .* is in the future/);
    assert.match(problems('2023-01-01', '2026-05-01'), /^range: \d+ slots .* at most 1000: split the range/);
    // A range reaching past now is cut at now, and says so.
    const cut = backfillRange(schedule, '2026-05-30', '2026-06-10', now);
    assert.ok(!Array.isArray(cut));
    assert.equal(cut.cutAtNow, true);
    assert.deepEqual(cut.slots.map((s) => s.utc), ['2026-05-30T00:00:00Z', '2026-05-31T00:00:00Z', '2026-06-01T00:00:00Z']);
    assert.equal(cut.to, now.toISOString());
  });
});

function shiftDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

// ── The driver's passes ───────────────────────────────────────────────────────────────────────────

class MemoryBackfills implements Pick<BackfillStore, 'get' | 'slots' | 'updateSlot' | 'transition'> {
  record: BackfillRecord;
  rows = new Map<string, BackfillSlot>();
  constructor(record: BackfillRecord, slots: BackfillSlot[]) {
    this.record = record;
    for (const s of slots) this.rows.set(s.slot, s);
  }
  get(): Promise<BackfillRecord | undefined> {
    return Promise.resolve(this.record);
  }
  slots(): Promise<BackfillSlot[]> {
    return Promise.resolve([...this.rows.values()].sort((a, b) => (a.slot < b.slot ? -1 : 1)));
  }
  updateSlot(_id: string, slot: string, patch: SlotPatch): Promise<void> {
    const row = this.rows.get(slot);
    assert.ok(row);
    this.rows.set(slot, { ...row, ...patch });
    return Promise.resolve();
  }
  transition(_id: string, from: readonly BackfillState[], patch: Partial<Pick<BackfillRecord, 'state' | 'cancelledBy' | 'endedAt'>>): Promise<boolean> {
    if (!from.includes(this.record.state)) return Promise.resolve(false);
    this.record = { ...this.record, ...patch };
    return Promise.resolve(true);
  }
}

function driver(mode: BackfillRecord['mode'], maxParallel: number) {
  const p = pipeline([{ name: 'paris-daily', cron: '0 2 * * *', timezone: 'Europe/Paris' }]);
  const schedule = p.schedules[0];
  assert.ok(schedule);
  const range = backfillRange(schedule, '2026-03-27', '2026-03-31', new Date('2026-04-10T00:00:00Z'));
  assert.ok(!Array.isArray(range));
  const record: BackfillRecord = {
    id: 'bf-20260410T000000Z-abcdef', pipeline: 'sales', schedule: 'paris-daily', from: range.from, to: range.to, mode, maxParallel,
    parameters: {}, state: 'running', createdBy: 'user:ana@contoso.com', createdAt: '2026-04-10T00:00:00Z', slotCount: range.slots.length,
  };
  const backfills = new MemoryBackfills(record, range.slots.map((s) => ({ slot: s.utc, local: s.local, scheduledLocal: s.scheduledLocal, dst: s.dst, state: 'queued', updatedAt: record.createdAt })));
  const ledger = new MemorySchedulerStore();
  const runs = new Map<string, { status: RunStatus; parameters: unknown; trigger: unknown }>();
  const cancels: string[] = [];
  const ports: AdvancePorts = {
    backfills,
    ledger,
    catalog: { get: (name) => (name === 'sales' ? p : undefined) },
    runStatus: (id) => Promise.resolve(runs.get(id)?.status),
    startRun: (start) => {
      if (!runs.has(start.runId)) runs.set(start.runId, { status: 'running', parameters: start.parameters, trigger: start.trigger });
      return Promise.resolve();
    },
    cancelRun: (id) => {
      cancels.push(id);
      return Promise.resolve();
    },
    now: () => new Date('2026-04-10T00:00:00Z'),
    log: new MemoryLog(),
  };
  const pass = () => advanceBackfill(record.id, ports);
  const end = (status: RunStatus) => {
    for (const run of runs.values()) if (run.status === 'running') run.status = status;
  };
  return { record, backfills, ledger, runs, cancels, pass, end, slots: range.slots.map((s) => s.utc) };
}

void describe('backfill driver', () => {
  void test('starts at most maxParallel runs at once, with the slot\'s logical date, and records each slot in the ledger', async () => {
    const d = driver('missing', 2);
    const first = await d.pass();
    assert.equal(d.runs.size, 2);
    assert.deepEqual(first.counts.running, 2);
    assert.equal(first.finished, false);
    await d.pass(); // nothing ended: nothing more starts
    assert.equal(d.runs.size, 2);
    d.end('succeeded');
    await d.pass();
    assert.equal(d.runs.size, 4);
    d.end('succeeded');
    await d.pass();
    d.end('failed');
    const last = await d.pass();
    assert.equal(last.finished, true);
    assert.equal(last.state, 'done');
    assert.deepEqual({ succeeded: last.counts.succeeded, failed: last.counts.failed }, { succeeded: 4, failed: 1 });
    assert.deepEqual([...d.runs.keys()].sort(), d.slots.map((s) => scheduledInstanceId('sales', 'paris-daily', s)).sort());
    const gap = d.runs.get(scheduledInstanceId('sales', 'paris-daily', '2026-03-29T01:00:00Z'));
    assert.deepEqual(gap?.parameters, { day: '2026-03-29' });
    assert.deepEqual(gap?.trigger, { kind: 'backfill', origin: d.record.id, scheduledFor: '2026-03-29T01:00:00Z', by: 'user:ana@contoso.com' });
    const row = await d.ledger.getSlot('sales', 'paris-daily', '2026-03-29T01:00:00Z');
    assert.equal(row?.outcome, 'backfilled');
    assert.equal(row?.backfill, d.record.id);
    assert.equal(row?.dst, 'gap');
  });

  void test('a slot that already ran keeps its run; a missed one gets one; one the scheduler is starting is left to it', async () => {
    const d = driver('missing', 5);
    const [a, b, c] = d.slots;
    assert.ok(a && b && c);
    const base = { pipeline: 'sales', schedule: 'paris-daily', local: '', scheduledLocal: '', dst: null, lateBySeconds: 0, attempts: 1, recordedAt: a, updatedAt: a } as const;
    await d.ledger.claimSlot({ ...base, slot: a, outcome: 'fired', instanceId: 'sched:sales:paris-daily:x' });
    d.runs.set('sched:sales:paris-daily:x', { status: 'failed', parameters: {}, trigger: {} });
    await d.ledger.claimSlot({ ...base, slot: b, outcome: 'missed', reason: 'down' });
    await d.ledger.claimSlot({ ...base, slot: c, outcome: 'queued' });
    await d.pass();
    const rows = await d.backfills.slots();
    assert.equal(rows[0]?.state, 'skipped');
    assert.match(rows[0]?.reason ?? '', /already ran: sched:sales:paris-daily:x failed \(--rerun-failed runs it again\)/);
    assert.equal(rows[1]?.state, 'running');
    assert.match(rows[1]?.reason ?? '', /was missed/);
    assert.equal(rows[2]?.state, 'skipped');
    assert.match(rows[2]?.reason ?? '', /the scheduler is starting this slot/);
    assert.equal(d.runs.size, 1 + 3);
  });

  void test('re-issuing a backfill adds nothing; --rerun-failed reruns only failed runs, under new ids', async () => {
    const d = driver('missing', 5);
    await d.pass();
    d.end('failed');
    await d.pass();
    const again = driver('missing', 5);
    again.ledger.slots.clear();
    for (const [k, v] of d.ledger.slots) again.ledger.slots.set(k, v);
    for (const [k, v] of d.runs) again.runs.set(k, v);
    const reissued = await again.pass();
    assert.equal(reissued.finished, true);
    assert.equal(reissued.counts.skipped, 5);
    assert.equal(again.runs.size, 5);

    const rerun = driver('rerun-failed', 5);
    for (const [k, v] of d.ledger.slots) rerun.ledger.slots.set(k, v);
    for (const [k, v] of d.runs) rerun.runs.set(k, v);
    const firstSlot = rerun.slots[0] ?? '';
    rerun.runs.set(scheduledInstanceId('sales', 'paris-daily', firstSlot), { status: 'succeeded', parameters: {}, trigger: {} });
    await rerun.pass();
    assert.equal(rerun.runs.size, 5 + 4);
    const second = rerun.slots[1] ?? '';
    const newId = rerunInstanceId('sales', 'paris-daily', second, rerun.record.id);
    assert.ok(rerun.runs.has(newId));
    const row = await rerun.ledger.getSlot('sales', 'paris-daily', second);
    assert.equal(row?.instanceId, newId);
    assert.match(row?.reason ?? '', new RegExp(`rerun of ${scheduledInstanceId('sales', 'paris-daily', second)} by backfill`));
    assert.equal((await rerun.backfills.slots())[0]?.state, 'skipped');
  });

  void test('cancel: queued slots are dropped, running runs asked to cancel, and the backfill ends cancelled once they end', async () => {
    const d = driver('missing', 2);
    await d.pass();
    d.backfills.record = { ...d.backfills.record, state: 'cancelling', cancelledBy: 'user:bob' };
    const cancelling = await d.pass();
    assert.equal(cancelling.finished, false);
    assert.equal(cancelling.counts.cancelled, 3);
    assert.equal(d.cancels.length, 2);
    d.end('cancelled');
    const done = await d.pass();
    assert.equal(done.finished, true);
    assert.equal(done.state, 'cancelled');
    assert.equal(d.runs.size, 2);
    assert.match((await d.backfills.slots())[4]?.reason ?? '', /cancelled by user:bob/);
  });
});
