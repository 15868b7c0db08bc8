import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Cron } from 'croner';
import { isIntervalSchedule, nextSlots, scheduledInstanceId, slotsBetween, type ScheduleTiming } from '../../src/scheduler/slots';

const DEFAULT_DST = { gap: 'next', overlap: 'first' } as const;
const timing = (cron: string, timezone: string, dst: Partial<ScheduleTiming['dst']> = {}): ScheduleTiming => ({ cron, timezone, dst: { ...DEFAULT_DST, ...dst } });

/** The slots of one local calendar day (a day of the zone, from its 00:00 to the next 00:00). */
function slotsOnLocalDay(t: ScheduleTiming, from: string, to: string) {
  return slotsBetween(t, new Date(from), new Date(to)).map(({ utc, local, dst, scheduledLocal }) => ({ utc, local, dst, scheduledLocal }));
}

void describe('0 2 * * * Europe/Paris (production-daily)', () => {
  // Local days of Europe/Paris: 2026-03-29 runs from 2026-03-28T23:00Z; 2026-10-25 from 2026-10-24T22:00Z.
  void test('spring forward, default gap "next": 02:00 does not exist on 2026-03-29, the run is at 03:00 CEST', () => {
    assert.deepEqual(slotsOnLocalDay(timing('0 2 * * *', 'Europe/Paris'), '2026-03-27T23:00:00Z', '2026-03-30T22:00:00Z'), [
      { utc: '2026-03-28T01:00:00Z', local: '2026-03-28T02:00:00+01:00', dst: null, scheduledLocal: '2026-03-28T02:00:00' },
      { utc: '2026-03-29T01:00:00Z', local: '2026-03-29T03:00:00+02:00', dst: 'gap', scheduledLocal: '2026-03-29T02:00:00' },
      { utc: '2026-03-30T00:00:00Z', local: '2026-03-30T02:00:00+02:00', dst: null, scheduledLocal: '2026-03-30T02:00:00' },
    ]);
  });

  void test('spring forward, gap "skip": no run on 2026-03-29', () => {
    const utc = slotsBetween(timing('0 2 * * *', 'Europe/Paris', { gap: 'skip' }), new Date('2026-03-27T23:00:00Z'), new Date('2026-03-30T22:00:00Z')).map((s) => s.utc);
    assert.deepEqual(utc, ['2026-03-28T01:00:00Z', '2026-03-30T00:00:00Z']);
  });

  void test('fall back, default overlap "first": 02:00 happens twice on 2026-10-25, the run is at 02:00 CEST only', () => {
    assert.deepEqual(slotsOnLocalDay(timing('0 2 * * *', 'Europe/Paris'), '2026-10-24T22:00:00Z', '2026-10-25T23:00:00Z'), [
      { utc: '2026-10-25T00:00:00Z', local: '2026-10-25T02:00:00+02:00', dst: 'overlap', scheduledLocal: '2026-10-25T02:00:00' },
    ]);
  });

  void test('fall back, overlap "second" runs at 02:00 CET; "both" runs twice, an hour apart', () => {
    const day = (overlap: 'second' | 'both') =>
      slotsBetween(timing('0 2 * * *', 'Europe/Paris', { overlap }), new Date('2026-10-24T22:00:00Z'), new Date('2026-10-25T23:00:00Z')).map((s) => s.local);
    assert.deepEqual(day('second'), ['2026-10-25T02:00:00+01:00']);
    assert.deepEqual(day('both'), ['2026-10-25T02:00:00+02:00', '2026-10-25T02:00:00+01:00']);
  });
});

void describe('30 2 * * * Europe/Paris', () => {
  void test('02:30 does not exist on 2026-03-29: it runs at the next valid local time, 03:00 CEST', () => {
    const slots = slotsOnLocalDay(timing('30 2 * * *', 'Europe/Paris'), '2026-03-28T23:00:00Z', '2026-03-29T22:00:00Z');
    assert.deepEqual(slots, [{ utc: '2026-03-29T01:00:00Z', local: '2026-03-29T03:00:00+02:00', dst: 'gap', scheduledLocal: '2026-03-29T02:30:00' }]);
  });

  void test('02:30 happens twice on 2026-10-25: first, second and both', () => {
    const day = (overlap: 'first' | 'second' | 'both') =>
      slotsBetween(timing('30 2 * * *', 'Europe/Paris', { overlap }), new Date('2026-10-24T22:00:00Z'), new Date('2026-10-25T23:00:00Z')).map((s) => [s.utc, s.local, s.dst]);
    assert.deepEqual(day('first'), [['2026-10-25T00:30:00Z', '2026-10-25T02:30:00+02:00', 'overlap']]);
    assert.deepEqual(day('second'), [['2026-10-25T01:30:00Z', '2026-10-25T02:30:00+01:00', 'overlap']]);
    assert.deepEqual(day('both'), [
      ['2026-10-25T00:30:00Z', '2026-10-25T02:30:00+02:00', 'overlap'],
      ['2026-10-25T01:30:00Z', '2026-10-25T02:30:00+01:00', 'overlap'],
    ]);
  });
});

void describe('hourly schedules follow real time', () => {
  const hourly = timing('0 * * * *', 'Europe/Paris');

  void test('0 * * * * Europe/Paris on 2026-10-25 (25 hours long) fires 25 times, at each real hour, 02:00 twice', () => {
    const slots = slotsBetween(hourly, new Date('2026-10-24T21:59:59Z'), new Date('2026-10-25T22:59:59Z'));
    assert.equal(slots.length, 25);
    for (let i = 1; i < slots.length; i++) assert.equal(slots[i]!.epochMs - slots[i - 1]!.epochMs, 3_600_000);
    assert.deepEqual(
      slots.filter((s) => s.dst !== null).map((s) => [s.utc, s.local, s.dst]),
      [
        ['2026-10-25T00:00:00Z', '2026-10-25T02:00:00+02:00', 'overlap'],
        ['2026-10-25T01:00:00Z', '2026-10-25T02:00:00+01:00', 'overlap'],
      ],
    );
  });

  void test('0 * * * * Europe/Paris on 2026-03-29 (23 hours long) fires 23 times, none at the missing 02:00', () => {
    const slots = slotsBetween(hourly, new Date('2026-03-28T22:59:59Z'), new Date('2026-03-29T21:59:59Z'));
    assert.equal(slots.length, 23);
    for (let i = 1; i < slots.length; i++) assert.equal(slots[i]!.epochMs - slots[i - 1]!.epochMs, 3_600_000);
    assert.deepEqual(slots.slice(1, 3).map((s) => s.local), ['2026-03-29T01:00:00+01:00', '2026-03-29T03:00:00+02:00']);
    assert.ok(slots.every((s) => s.dst === null));
  });

  void test('the declared overlap policy is for wall-clock schedules; an every-hour cron is an interval', () => {
    assert.equal(isIntervalSchedule('0 * * * *'), true);
    assert.equal(isIntervalSchedule('*/15 * * * *'), true);
    assert.equal(isIntervalSchedule('0 0-23 * * *'), true);
    assert.equal(isIntervalSchedule('0 2 * * *'), false);
    assert.equal(isIntervalSchedule('*/15 2 * * *'), false);
    assert.equal(isIntervalSchedule('0 */2 * * *'), false);
    const second = slotsBetween(timing('0 * * * *', 'Europe/Paris', { overlap: 'second' }), new Date('2026-10-24T23:30:00Z'), new Date('2026-10-25T01:30:00Z'));
    assert.equal(second.length, 2);
  });

  void test('*/15 2 * * * (a wall-clock hour) in the gap collapses onto one run at 03:00 CEST', () => {
    const slots = slotsBetween(timing('*/15 2 * * *', 'Europe/Paris'), new Date('2026-03-28T23:00:00Z'), new Date('2026-03-29T22:00:00Z'));
    assert.deepEqual(slots.map((s) => [s.local, s.dst]), [['2026-03-29T03:00:00+02:00', 'gap']]);
  });
});

void describe('UTC and America/New_York', () => {
  void test('UTC has no DST: 24 hourly slots on both European change days, no marks', () => {
    for (const dayStart of ['2026-03-29T00:00:00Z', '2026-10-25T00:00:00Z']) {
      const from = new Date(Date.parse(dayStart) - 1000);
      const slots = slotsBetween(timing('0 * * * *', 'UTC'), from, new Date(from.getTime() + 86_400_000));
      assert.equal(slots.length, 24);
      assert.equal(slots[2]!.local, `${dayStart.slice(0, 10)}T02:00:00+00:00`);
      assert.ok(slots.every((s) => s.dst === null && s.local.endsWith('+00:00')));
    }
  });

  void test('New York springs forward on 2026-03-08: 02:00 runs at 03:00 EDT', () => {
    const [first] = nextSlots(timing('0 2 * * *', 'America/New_York'), new Date('2026-03-08T05:00:00Z'), 1);
    assert.deepEqual({ utc: first!.utc, local: first!.local, dst: first!.dst }, { utc: '2026-03-08T07:00:00Z', local: '2026-03-08T03:00:00-04:00', dst: 'gap' });
  });

  void test('New York falls back on 2026-11-01: 01:30 happens twice, first at EDT, second at EST', () => {
    const on = (overlap: 'first' | 'second') => nextSlots(timing('30 1 * * *', 'America/New_York', { overlap }), new Date('2026-11-01T04:00:00Z'), 1)[0]!.local;
    assert.equal(on('first'), '2026-11-01T01:30:00-04:00');
    assert.equal(on('second'), '2026-11-01T01:30:00-05:00');
  });
});

void describe('6-field (seconds) crons', () => {
  void test('*/20 * * * * * UTC fires every 20 seconds', () => {
    const slots = nextSlots(timing('*/20 * * * * *', 'UTC'), new Date('2026-11-26T06:00:05Z'), 4);
    assert.deepEqual(slots.map((s) => s.utc), ['2026-11-26T06:00:20Z', '2026-11-26T06:00:40Z', '2026-11-26T06:01:00Z', '2026-11-26T06:01:20Z']);
  });

  void test('30 0 2 * * * Europe/Paris: 02:00:30 is in the gap, it runs at 03:00:00 CEST', () => {
    const [slot] = nextSlots(timing('30 0 2 * * *', 'Europe/Paris'), new Date('2026-03-28T12:00:00Z'), 1);
    assert.deepEqual([slot!.local, slot!.dst, slot!.scheduledLocal], ['2026-03-29T03:00:00+02:00', 'gap', '2026-03-29T02:00:30']);
  });
});

void describe('windows', () => {
  void test('(from, to]: a slot exactly at `from` is excluded, one exactly at `to` included', () => {
    const t = timing('0 * * * *', 'UTC');
    const slots = slotsBetween(t, new Date('2026-11-26T01:00:00Z'), new Date('2026-11-26T03:00:00Z'));
    assert.deepEqual(slots.map((s) => s.utc), ['2026-11-26T02:00:00Z', '2026-11-26T03:00:00Z']);
  });

  void test('next slots start strictly after the instant and are in time order across a fall-back', () => {
    const slots = nextSlots(timing('30 * * * *', 'Europe/Paris'), new Date('2026-10-24T23:30:00Z'), 3);
    assert.deepEqual(slots.map((s) => s.utc), ['2026-10-25T00:30:00Z', '2026-10-25T01:30:00Z', '2026-10-25T02:30:00Z']);
  });
});

void test('with the default policy, slots agree with croner in its own time-zone mode, over a year, DST changes included', () => {
  // Croner (v11) implements the same defaults (gap → first valid time, repeated time → once for
  // fixed times, real time for hourly jobs); this pins our wall-time mapping to an independent one.
  const crons = ['0 2 * * *', '30 2 * * *', '0 * * * *', '0 9 * * 1-5', '45 2 1 * *'];
  const zones = ['Europe/Paris', 'America/New_York', 'Australia/Lord_Howe', 'America/Santiago', 'Asia/Kolkata'];
  for (const cron of crons) {
    for (const zone of zones) {
      // From March to November: both changes of the northern and the southern zones.
      const hourly = cron === '0 * * * *';
      const count = hourly ? 24 * 10 : 250;
      const from = new Date(hourly ? '2026-10-20T00:00:00Z' : '2026-03-01T00:00:00Z');
      const ours = nextSlots(timing(cron, zone), from, count).map((s) => s.utc);
      const job = new Cron(cron, { timezone: zone, paused: true });
      const theirs: string[] = [];
      let at: Date | null = from;
      while (theirs.length < count && (at = job.nextRun(at)) !== null) theirs.push(at.toISOString().replace('.000Z', 'Z'));
      assert.deepEqual(ours, theirs, `${cron} in ${zone}`);
    }
  }
});

void describe('slot instance ids', () => {
  void test('sched:<pipeline>:<schedule>:<yyyyMMddTHHmmZ>, seconds only when the slot has them', () => {
    assert.equal(scheduledInstanceId('data-pipeline', 'production-daily', '2026-03-29T01:00:00Z'), 'sched:data-pipeline:production-daily:20260329T0100Z');
    assert.equal(scheduledInstanceId('p', 's', '2026-03-29T01:00:20Z'), 'sched:p:s:20260329T010020Z');
  });

  void test('valid as a Durable instance id and a Table key, even for very long names, and still unique', () => {
    const long = 'x'.repeat(63);
    const a = scheduledInstanceId(long, `${'y'.repeat(80)}-a`, '2026-03-29T01:00:00Z');
    const b = scheduledInstanceId(long, `${'y'.repeat(80)}-b`, '2026-03-29T01:00:00Z');
    for (const id of [a, b]) {
      assert.ok(id.length <= 100, id);
      assert.ok([...id].every((c) => c.charCodeAt(0) > 0x1f && c.charCodeAt(0) !== 0x7f && !"/\\#?".includes(c)), id);
      assert.ok(id.endsWith(':20260329T0100Z'));
    }
    assert.notEqual(a, b);
  });
});
