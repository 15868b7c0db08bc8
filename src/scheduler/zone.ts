/**
 * Wall clocks of IANA time zones, from the runtime's own tz database (Intl). A "wall time" is kept
 * as naive milliseconds: the local date and time read as if they were UTC, so that cron matching
 * and arithmetic on local times need no zone at all.
 */
import { BoundedMap } from '../core/boundedMap';

const HOUR = 3_600_000;
/**
 * Any instant whose wall time is w lies within 14 h of w (the widest UTC offsets are −12 h and
 * +14 h). Sampling the offset 15 h each side of w therefore brackets every candidate, as long as
 * a zone does not change its offset twice within 30 h (none does).
 */
const BRACKET = 15 * HOUR;

/** One formatter per zone the definitions name; bounded above the IANA database's size (about 600 zones). */
const formatters = new BoundedMap<string, Intl.DateTimeFormat>(1024);

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, f);
  }
  return f;
}

/** The zone's offset from UTC at an instant, in milliseconds (east positive). */
export function offsetAt(zone: string, epochMs: number): number {
  const fields: Record<string, string> = {};
  for (const part of formatter(zone).formatToParts(new Date(epochMs))) fields[part.type] = part.value;
  const wall = Date.UTC(Number(fields['year']), Number(fields['month']) - 1, Number(fields['day']), Number(fields['hour']), Number(fields['minute']), Number(fields['second']));
  // Intl works in whole seconds; the instant's own milliseconds are not part of the offset.
  return wall - (epochMs - (((epochMs % 1000) + 1000) % 1000));
}

/** How one wall time of a zone maps to real instants. */
export type WallResolution =
  | { readonly kind: 'single'; readonly instant: number }
  /** The wall time happens twice (clocks set back); instants in order. */
  | { readonly kind: 'overlap'; readonly first: number; readonly second: number }
  /** The wall time never happens (clocks set forward); `next` is the first instant after it. */
  | { readonly kind: 'gap'; readonly next: number };

/**
 * Resolves wall times of one zone, caching offsets by the hour: a scheduler tick or a preview asks
 * about many wall times close together.
 */
export class ZoneClock {
  private readonly hourly = new Map<number, number>();

  constructor(readonly zone: string) {}

  offset(epochMs: number): number {
    return offsetAt(this.zone, epochMs);
  }

  private hourOffset(epochMs: number): number {
    const hour = Math.floor(epochMs / HOUR);
    let o = this.hourly.get(hour);
    if (o === undefined) {
      o = offsetAt(this.zone, hour * HOUR);
      this.hourly.set(hour, o);
    }
    return o;
  }

  /** Lowest and highest offsets any instant near this wall time (or instant) can have. */
  offsetBounds(naiveMs: number): { min: number; max: number } {
    const a = this.hourOffset(naiveMs - BRACKET);
    const b = this.hourOffset(naiveMs + BRACKET);
    return { min: Math.min(a, b), max: Math.max(a, b) };
  }

  resolve(wallMs: number): WallResolution {
    const { min, max } = this.offsetBounds(wallMs);
    if (min === max) return { kind: 'single', instant: wallMs - min };
    const valid = [wallMs - max, wallMs - min].filter((u) => this.offset(u) === wallMs - u);
    const [first, second] = valid;
    if (first !== undefined && second !== undefined) return { kind: 'overlap', first, second };
    if (first !== undefined) return { kind: 'single', instant: first };
    return { kind: 'gap', next: this.firstInstantAfterWall(wallMs, wallMs - max, wallMs - min) };
  }

  /** Smallest instant in (lo, hi] whose wall time is later than `wallMs`, to the second. */
  private firstInstantAfterWall(wallMs: number, lo: number, hi: number): number {
    let low = Math.floor(lo / 1000);
    let high = Math.ceil(hi / 1000);
    while (high - low > 1) {
      const mid = Math.floor((low + high) / 2);
      const u = mid * 1000;
      if (u + this.offset(u) > wallMs) high = mid;
      else low = mid;
    }
    return high * 1000;
  }
}

const pad = (n: number, width = 2): string => String(Math.abs(n)).padStart(width, '0');

/** `2026-03-29T02:00:00` for a naive wall time. */
export function formatWall(naiveMs: number): string {
  const d = new Date(naiveMs);
  const y = d.getUTCFullYear();
  const year = y >= 0 && y <= 9999 ? pad(y, 4) : (y < 0 ? '-' : '+') + pad(y, 6);
  return `${year}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/** `+02:00`; seconds appear only for historical local mean times. */
export function formatOffset(offsetMs: number): string {
  const total = Math.round(offsetMs / 1000);
  const sign = total < 0 ? '-' : '+';
  const abs = Math.abs(total);
  const base = `${sign}${pad(Math.floor(abs / 3600))}:${pad(Math.floor((abs % 3600) / 60))}`;
  return abs % 60 === 0 ? base : `${base}:${pad(abs % 60)}`;
}

/** `2026-03-29T03:00:00+02:00`: the wall time of an instant in the zone, with its offset. */
export function formatLocal(clock: ZoneClock, epochMs: number): string {
  const offset = clock.offset(epochMs);
  return formatWall(epochMs + offset) + formatOffset(offset);
}

/** `2026-03-29T01:00:00Z`: an instant to the second (slots have no milliseconds). */
export function formatUtc(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A change of a zone's offset: at `atMs` the offset goes from `before` to `after` (milliseconds). */
export interface ZoneChange {
  readonly atMs: number;
  readonly before: number;
  readonly after: number;
}

/**
 * Every offset a zone takes in [fromMs, toMs), and the instants (to the second) where it sets its
 * clocks forward. Sampled weekly (this runs at start-up, in the cold start), which finds every
 * change as long as a zone does not change its offset and back within a week; none does (the
 * shortest are Morocco's Ramadan suspensions, about a month). Each change is then bisected.
 */
export function zoneChanges(zone: string, fromMs: number, toMs: number): { offsets: ReadonlySet<number>; forwardChanges: readonly ZoneChange[] } {
  // Many schedules share a zone and a window (the scheduler's timer plan): compute once.
  const key = `${zone} ${fromMs} ${toMs}`;
  let found = zoneChangeCache.get(key);
  if (!found) {
    found = findZoneChanges(zone, fromMs, toMs);
    zoneChangeCache.set(key, found);
  }
  return found;
}

/** Keyed by zone and window, and windows move with time: bounded, the oldest forgotten. */
const zoneChangeCache = new BoundedMap<string, { offsets: ReadonlySet<number>; forwardChanges: readonly ZoneChange[] }>(64);

function findZoneChanges(zone: string, fromMs: number, toMs: number): { offsets: Set<number>; forwardChanges: ZoneChange[] } {
  const step = 7 * 24 * HOUR;
  const offsets = new Set<number>();
  const forwardChanges: ZoneChange[] = [];
  let previous = offsetAt(zone, fromMs);
  offsets.add(previous);
  for (let t = fromMs + step; t < toMs + step; t += step) {
    const current = offsetAt(zone, t);
    if (current === previous) continue;
    offsets.add(current);
    if (current > previous) {
      // Bisect to the first second with the new offset.
      let low = Math.floor((t - step) / 1000);
      let high = Math.floor(t / 1000);
      while (high - low > 1) {
        const mid = Math.floor((low + high) / 2);
        if (offsetAt(zone, mid * 1000) === previous) low = mid;
        else high = mid;
      }
      forwardChanges.push({ atMs: high * 1000, before: previous, after: current });
    }
    previous = current;
  }
  return { offsets, forwardChanges };
}
