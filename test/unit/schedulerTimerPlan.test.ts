/**
 * The scheduler's timer fires at every slot: the UTC NCRONTAB expression computed from the
 * schedules (src/scheduler/timerPlan.ts) matches, under NCrontab's own rule (src/devhost/ncrontab.ts:
 * every field, day-of-month AND day-of-week), every instant the tick computes as a slot.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { NcrontabSchedule } from '../../src/devhost/ncrontab';
import { SlotCalculator, type ScheduleTiming } from '../../src/scheduler/slots';
import { coverageWindow, formatNcrontab, scheduleTimerFields, schedulerTimerExpression } from '../../src/scheduler/timerPlan';
import { offsetAt } from '../../src/scheduler/zone';
import { schedulerTimerSchedule } from '../../src/functions/scheduler';
import { appCatalog } from '../../src/app/catalog';

const WINDOW = coverageWindow(new Date('2026-06-01T00:00:00Z'));
const YEARS = { from: Date.parse('2026-01-01T00:00:00Z'), to: Date.parse('2029-01-01T00:00:00Z') };

/** Whole, half-hour and 45-minute offsets; DST changes at 02:00, 00:00 (Havana, Santiago), 30 minutes (Lord Howe). */
const ZONES = [
  'Europe/Paris', 'America/New_York', 'Australia/Lord_Howe', 'Pacific/Chatham', 'Asia/Kathmandu', 'Asia/Kolkata',
  'America/St_Johns', 'Australia/Adelaide', 'America/Havana', 'America/Santiago', 'Pacific/Kiritimati',
  'Pacific/Pago_Pago', 'Europe/London', 'Asia/Tehran', 'UTC',
] as const;

/** Every DST change of 2026–2028, per zone: the first second with the new offset. */
const CHANGES = new Map(ZONES.map((zone) => {
  const changes: number[] = [];
  const step = 24 * 3_600_000;
  let before = offsetAt(zone, YEARS.from);
  for (let t = YEARS.from; t < YEARS.to; t += step) {
    const after = offsetAt(zone, t + step);
    if (after === before) continue;
    let [low, high] = [t / 1000, (t + step) / 1000];
    while (high - low > 1) {
      const mid = Math.floor((low + high) / 2);
      if (offsetAt(zone, mid * 1000) === before) low = mid;
      else high = mid;
    }
    changes.push(high * 1000);
    before = after;
  }
  return [zone, changes] as const;
}));

const second = fc.constantFrom('0', '30', '*/20', '15,45');
const minute = fc.constantFrom('0', '30', '45', '15', '*/15', '0-10/5', '5,35', '59', '*');
const hour = fc.constantFrom('2', '0', '23', '1', '*/2', '1-3', '*', '0,12', '22-23', '3');
const day = fc.constantFrom('*', '*', '*', '1', '15', '28-31', '31', '1,15', '29', 'L');
const month = fc.constantFrom('*', '*', '3', '10', '1-3', '*/4', '2', '12');
const weekday = fc.constantFrom('*', '*', '*', '0', '1-5', '6', '0,6', 'MON', '1#2', '5L');
const cron = fc.tuple(fc.boolean(), second, minute, hour, day, month, weekday).map(([withSeconds, s, m, h, d, mo, w]) => `${withSeconds ? `${s} ` : ''}${m} ${h} ${d} ${mo} ${w}`);
const timing = fc.record({
  cron,
  timezone: fc.constantFrom(...ZONES),
  dst: fc.record({ gap: fc.constantFrom('next', 'skip'), overlap: fc.constantFrom('first', 'second', 'both') }),
}) as fc.Arbitrary<ScheduleTiming>;

/**
 * Starts: just before each DST change of the zone in 2026–2028 (dense crons cross it within the
 * hour), up to a day before it (sparse crons cross it within their next slots), and anywhere.
 */
function starts(zone: string, jitter: readonly number[]): number[] {
  const changes = CHANGES.get(zone as (typeof ZONES)[number]) ?? [];
  return [
    ...changes.map((at) => at - 30 * 60_000),
    ...changes.map((at, i) => at - ((jitter[i % jitter.length] ?? 0) % (25 * 3_600_000))),
    ...jitter.map((j) => YEARS.from + (j % (YEARS.to - YEARS.from))),
  ];
}

/** The slots of a schedule near `start` that the timer does not fire at (empty when it covers them). */
function uncovered(schedule: ScheduleTiming, expression: string, startMs: number, count: number): string[] {
  const timer = new NcrontabSchedule(expression);
  const calculator = new SlotCalculator(schedule);
  const slots = [...calculator.between(new Date(startMs), new Date(startMs + 3_600_000)).slots, ...calculator.next(new Date(startMs), count)];
  return slots.filter((s) => !timer.matches(new Date(s.epochMs))).map((s) => `${s.utc} (${s.local}, dst ${String(s.dst)})`);
}

void describe('the scheduler timer fires at every slot (NCrontab rule, UTC)', () => {
  void test('property: thousands of (cron, zone, start) cases around every DST change of 2026–2028', () => {
    let cases = 0;
    let slotsChecked = 0;
    fc.assert(
      fc.property(timing, fc.array(fc.nat(), { minLength: 2, maxLength: 4 }), (schedule, jitter) => {
        const expression = formatNcrontab(scheduleTimerFields(schedule, WINDOW));
        for (const start of starts(schedule.timezone, jitter)) {
          cases++;
          const missing = uncovered(schedule, expression, start, 3);
          slotsChecked++;
          if (missing.length > 0) throw new Error(`${schedule.cron} ${schedule.timezone} ${JSON.stringify(schedule.dst)} → ${expression}: no fire at ${missing.join(', ')}`);
        }
      }),
      { numRuns: 330, seed: 20261129 },
    );
    assert.ok(cases >= 3000, `only ${cases} cases`);
    assert.ok(slotsChecked > 0);
  });

  void test('a timer that ignores the zone misses slots: the check can fail', () => {
    const paris: ScheduleTiming = { cron: '0 2 * * *', timezone: 'Europe/Paris', dst: { gap: 'next', overlap: 'first' } };
    // 02:00 Paris read as UTC+1 all year: every summer slot is an hour off.
    const missing = uncovered(paris, '0 0 1 * * *', Date.parse('2026-07-01T00:00:00Z'), 3);
    assert.deepEqual(missing.slice(0, 1), ['2026-07-02T00:00:00Z (2026-07-02T02:00:00+02:00, dst null)']);
  });

  void test('one expression per zone offset: Paris, Lord Howe (30-minute DST), Chatham (UTC+12:45/+13:45)', () => {
    const expr = (cron: string, timezone: string, gap: 'next' | 'skip' = 'next') => formatNcrontab(scheduleTimerFields({ cron, timezone, dst: { gap, overlap: 'first' } }, WINDOW));
    assert.equal(expr('0 2 * * *', 'Europe/Paris'), '0 0 0,1 * * *');
    // 02:00 at UTC+10:30 and UTC+11 is 15:30 and 15:00 UTC, the day before.
    assert.equal(expr('0 2 * * *', 'Australia/Lord_Howe'), '0 0,30 15 * * *');
    assert.equal(expr('0 2 * * 1', 'Australia/Lord_Howe'), '0 0,30 15 * * 0');
    assert.equal(expr('0 5 * * *', 'Pacific/Chatham'), '0 15 15,16 * * *');
    // Chatham jumps at 02:45 local: 03:00 falls in the gap and moves to the jump, 14:00 UTC.
    assert.equal(expr('0 3 * * *', 'Pacific/Chatham'), '0 0,15 13,14 * * *');
    // 02:30 Paris in the spring gap moves to the jump itself (01:00 UTC); with 'skip' it does not.
    assert.equal(expr('30 2 * * *', 'Europe/Paris'), '0 0,30 0,1 * * *');
    assert.equal(expr('30 2 * * *', 'Europe/Paris', 'skip'), '0 30 0,1 * * *');
    // The 1st just after local midnight in Tokyo is the last day of the previous month in UTC.
    assert.equal(expr('0 1 1 * *', 'Asia/Tokyo'), '0 0 16 28-31 * *');
    // Day-of-month OR day-of-week (croner, Vixie) cannot be said with NCRONTAB's AND: both widen.
    assert.equal(expr('0 2 13 * 5', 'UTC'), '0 0 2 * * *');
  });
});

void describe('NCrontab day rule (atifaziz/NCrontab CrontabSchedule.cs)', () => {
  void test('day-of-month AND day-of-week: 0 0 0 13 * 5 fires on Friday the 13th only', () => {
    const timer = new NcrontabSchedule('0 0 0 13 * 5');
    const fires: string[] = [];
    let at: Date | undefined = new Date('2026-01-01T00:00:00Z');
    for (let i = 0; i < 3 && at; i++) {
      at = timer.next(at);
      if (at) fires.push(at.toISOString());
    }
    assert.deepEqual(fires, ['2026-02-13T00:00:00.000Z', '2026-03-13T00:00:00.000Z', '2026-11-13T00:00:00.000Z']);
  });

  void test('names, ranges and steps as NCrontab reads them; 7 is not a day of week', () => {
    const timer = new NcrontabSchedule('*/20 5/25 1-3 * Feb-Mar Mon-Fri');
    assert.equal(timer.next(new Date('2026-01-31T00:00:00Z'))?.toISOString(), '2026-02-02T01:05:00.000Z');
    assert.equal(timer.matches(new Date('2026-02-02T01:55:40Z')), true);
    assert.equal(timer.matches(new Date('2026-02-02T01:56:40Z')), false);
    assert.throws(() => new NcrontabSchedule('0 0 0 * * 7'), /day-of-week field "7" is outside 0-6/);
    assert.throws(() => new NcrontabSchedule('0 0 * * *'), /six NCRONTAB fields/);
  });
});

void describe('timer invocations per month', () => {
  void test('the seed (0 2 * * * Europe/Paris + 0 * * * * UTC) wakes the scheduler 730 times a month, not 43,800', () => {
    const expression = schedulerTimerSchedule(appCatalog(), new Date('2026-06-01T00:00:00Z'));
    assert.equal(expression, '0 0 * * * *');
    assert.equal(firesIn2027(expression), 8760);
  });

  void test('the daily schedule alone wakes it twice a day; none enabled, no timer at all', () => {
    const daily = { cron: '0 2 * * *', timezone: 'Europe/Paris', dst: { gap: 'next', overlap: 'first' }, enabled: true, overlap: 'skip' } as const;
    assert.equal(firesIn2027(schedulerTimerExpression([daily], WINDOW)), 730);
    assert.equal(schedulerTimerExpression([{ ...daily, enabled: false }], WINDOW), undefined);
  });

  void test("overlap 'queue' keeps the timer firing every minute, so a queued slot starts as soon as the running run ends", () => {
    const daily = { cron: '0 2 * * *', timezone: 'Europe/Paris', dst: { gap: 'next', overlap: 'first' }, enabled: true, overlap: 'queue' } as const;
    assert.equal(schedulerTimerExpression([daily], WINDOW), '0 * * * * *');
    assert.equal(firesIn2027(schedulerTimerExpression([daily], WINDOW)) / 12, 43_800);
  });
});

function firesIn2027(expression: string | undefined): number {
  assert.ok(expression);
  return new NcrontabSchedule(expression).countBetween(new Date('2027-01-01T00:00:00Z'), new Date('2028-01-01T00:00:00Z'));
}
