/**
 * The slots of a schedule: the instants its cron fires in its time zone, under its DST policy.
 *
 * Croner (v11) already resolves DST its own way (a fixed time in a gap runs at the first valid
 * time, a repeated time runs once; interval jobs follow real time), but it has no `skip`,
 * `second` or `both`, and it does not say which fires were moved. So croner only enumerates
 * *wall times* here (it runs at UTC offset 0, where wall time = naive time), and this module maps
 * each wall time to real instants itself (zone.ts), applying the declared policy.
 *
 * Two kinds of schedule (docs/scheduling.md):
 * - wall-clock schedules (the hour field does not cover all 24 hours, e.g. `0 2 * * *`): the
 *   declared `dst` policy applies: a gap runs at the next valid local time (`next`) or not at all
 *   (`skip`); a repeated time runs at its `first` occurrence, its `second`, or `both`;
 * - interval schedules (the hour field is `*`, e.g. `0 * * * *`, `*\/15 * * * *`): they follow
 *   real time, like Vixie cron's wildcard jobs: they fire at every real instant whose wall time
 *   matches, so both occurrences of a repeated hour, and never at a wall time that does not exist
 *   (the next real slot comes an interval later anyway). The `dst` policy does not apply.
 */
import { createHash } from 'node:crypto';
import { Cron, CronPattern } from 'croner';
import type { ScheduleDefinition } from '../pipelines/schema';
import { ZoneClock, formatLocal, formatUtc, formatWall } from './zone';

/** What a slot needs of a schedule definition. */
export type ScheduleTiming = Pick<ScheduleDefinition, 'cron' | 'timezone' | 'dst'>;

/** `null`: an ordinary slot; `gap`: its local time did not exist that day; `overlap`: it occurred twice. */
export type DstMark = null | 'gap' | 'overlap';

export interface Slot {
  /** The instant it fires, ISO to the second (`2026-03-29T01:00:00Z`); also the slot's key. */
  readonly utc: string;
  /** The wall time it fires, with the zone's offset then (`2026-03-29T03:00:00+02:00`). */
  readonly local: string;
  readonly dst: DstMark;
  /** The local time the cron names (`2026-03-29T02:00:00`), which differs from `local` in a gap. */
  readonly scheduledLocal: string;
  readonly epochMs: number;
}

const CRON_OPTIONS = { utcOffset: 0, paused: true, mode: '5-or-6-parts' } as const;

/** True when the cron's hour field covers every hour: the schedule follows real time across DST. */
export function isIntervalSchedule(cron: string): boolean {
  const pattern = new CronPattern(cron, undefined, { mode: CRON_OPTIONS.mode });
  return pattern.hour.length === 24 && pattern.hour.every((h) => h === 1);
}

/** A compiled schedule: the cron, the zone's clock and the policy. Reuse it for many queries. */
export class SlotCalculator {
  private readonly cron: Cron;
  private readonly clock: ZoneClock;
  readonly interval: boolean;

  constructor(readonly schedule: ScheduleTiming) {
    this.cron = new Cron(schedule.cron, CRON_OPTIONS);
    this.clock = new ZoneClock(schedule.timezone);
    this.interval = isIntervalSchedule(schedule.cron);
  }

  /** Slots with `from < utc <= to`, in time order; at most `limit` (the latest ones are kept). */
  between(from: Date, to: Date, limit = Number.POSITIVE_INFINITY): { slots: Slot[]; dropped: number } {
    const fromMs = from.getTime();
    const toMs = to.getTime();
    const found = new SlotSet();
    let dropped = 0;
    this.scan(fromMs, (wallMs) => {
      // Every instant of this or a later wall time is at least wallMs − max offset: past `to`, stop.
      if (wallMs - this.clock.offsetBounds(wallMs).max > toMs) return false;
      for (const slot of this.slotsOf(wallMs)) {
        if (slot.epochMs > fromMs && slot.epochMs <= toMs) found.add(slot);
      }
      // Bound memory on huge windows (a seconds cron after days down): keep the latest.
      if (found.size > limit * 2 + 10) dropped += found.dropOldest(found.size - limit);
      return true;
    });
    const slots = found.sorted();
    const excess = Math.max(0, slots.length - limit);
    return { slots: slots.slice(excess), dropped: dropped + excess };
  }

  /** The first `count` slots strictly after `after`. */
  next(after: Date, count: number): Slot[] {
    const afterMs = after.getTime();
    const found = new SlotSet();
    if (count <= 0) return [];
    // Once `count` slots are found, the latest of them bounds the answer: a later wall time can
    // still map earlier (clocks set back) but never past that bound once wall − max offset is.
    let bound = Number.POSITIVE_INFINITY;
    this.scan(afterMs, (wallMs) => {
      if (wallMs - this.clock.offsetBounds(wallMs).max > bound) return false;
      for (const slot of this.slotsOf(wallMs)) if (slot.epochMs > afterMs && slot.epochMs <= bound) found.add(slot);
      if (bound === Number.POSITIVE_INFINITY && found.size >= count) bound = found.latest();
      return true;
    });
    return found.sorted().slice(0, count);
  }

  /** Calls `visit` with each wall time that can map after `afterMs`, until it returns false. */
  private scan(afterMs: number, visit: (wallMs: number) => boolean): void {
    // A wall time w maps to instants in [w − max offset, w − min offset]; start low enough.
    let cursor: Date | null = new Date(afterMs + this.clock.offsetBounds(afterMs).min - 1000);
    for (;;) {
      cursor = this.cron.nextRun(cursor);
      if (cursor === null || !visit(cursor.getTime())) return;
    }
  }

  /** The slots one wall time yields under this schedule's policy (0, 1 or 2). */
  private slotsOf(wallMs: number): Slot[] {
    const r = this.clock.resolve(wallMs);
    const make = (epochMs: number, dst: DstMark): Slot => ({
      utc: formatUtc(epochMs),
      local: formatLocal(this.clock, epochMs),
      dst,
      scheduledLocal: formatWall(wallMs),
      epochMs,
    });
    switch (r.kind) {
      case 'single':
        return [make(r.instant, null)];
      case 'gap':
        if (this.interval || this.schedule.dst.gap === 'skip') return [];
        return [make(r.next, 'gap')];
      case 'overlap': {
        const policy = this.interval ? 'both' : this.schedule.dst.overlap;
        if (policy === 'first') return [make(r.first, 'overlap')];
        if (policy === 'second') return [make(r.second, 'overlap')];
        return [make(r.first, 'overlap'), make(r.second, 'overlap')];
      }
    }
  }
}

/** Slots by instant: two wall times moved out of a gap onto one instant make one slot. */
class SlotSet {
  private readonly byTime = new Map<number, Slot>();

  get size(): number {
    return this.byTime.size;
  }

  add(slot: Slot): void {
    const existing = this.byTime.get(slot.epochMs);
    // A real wall time beats one moved there out of a gap: it is what the cron names.
    if (!existing || (existing.dst === 'gap' && slot.dst !== 'gap')) this.byTime.set(slot.epochMs, slot);
  }

  latest(): number {
    return Math.max(...this.byTime.keys());
  }

  dropOldest(n: number): number {
    const keys = [...this.byTime.keys()].sort((a, b) => a - b).slice(0, n);
    for (const k of keys) this.byTime.delete(k);
    return keys.length;
  }

  sorted(): Slot[] {
    return [...this.byTime.values()].sort((a, b) => a.epochMs - b.epochMs);
  }
}

/** Slots with `from < utc <= to`. */
export function slotsBetween(schedule: ScheduleTiming, from: Date, to: Date): Slot[] {
  return new SlotCalculator(schedule).between(from, to).slots;
}

/** The next `count` slots strictly after `after`. */
export function nextSlots(schedule: ScheduleTiming, after: Date, count: number): Slot[] {
  return new SlotCalculator(schedule).next(after, count);
}

/** Durable instance ids of the Azure Storage backend hold at most 100 characters. */
const MAX_INSTANCE_ID = 100;

/**
 * `sched:<pipeline>:<schedule>:20260329T0100Z` — the run id of a slot. Deterministic, so a second
 * start of the same slot collides instead of running twice. Free of `/ \ # ?` and control
 * characters (pipeline and schedule names are slugs), so it is also a valid Table key. Seconds
 * appear only for slots that have them (6-field crons).
 */
export function scheduledInstanceId(pipeline: string, schedule: string, slotUtc: string): string {
  const d = new Date(slotUtc);
  if (Number.isNaN(d.getTime())) throw new Error(`not an instant: ${slotUtc}`);
  const iso = formatUtc(d.getTime());
  const stamp = iso.slice(0, 4) + iso.slice(5, 7) + iso.slice(8, 10) + 'T' + iso.slice(11, 13) + iso.slice(14, 16) + (iso.slice(17, 19) === '00' ? '' : iso.slice(17, 19)) + 'Z';
  const id = `sched:${pipeline}:${schedule}:${stamp}`;
  if (id.length <= MAX_INSTANCE_ID) return id;
  // Very long names: keep a readable prefix and make it unique with a hash of the whole id.
  const hash = createHash('sha256').update(id).digest('hex').slice(0, 12);
  const head = `sched:${pipeline}:${schedule}`.slice(0, MAX_INSTANCE_ID - stamp.length - hash.length - 2);
  return `${head}~${hash}:${stamp}`;
}
