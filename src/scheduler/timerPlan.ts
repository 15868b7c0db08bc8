/**
 * The scheduler's timer trigger: one UTC NCRONTAB expression that fires at (at least) every
 * instant a slot of any schedule can fall on, so the tick runs when a slot may be due and not
 * every minute.
 *
 * Timer triggers evaluate their expression in UTC on Linux plans (WEBSITE_TIME_ZONE is not
 * supported there), and a zone's local time maps to different UTC times across the year. So the
 * expression covers every UTC offset the zone takes in a window of years: `0 2 * * *`
 * Europe/Paris (UTC+1 / UTC+2) becomes `0 0 0,1 * * *`. The tick still decides which fire is the
 * real local slot (slots.ts, today's DST rules) and records each slot once; a fire with no slot
 * due only advances the checkpoints.
 *
 * One expression is a product of six field sets, so covering several schedules (or one schedule
 * in two offsets) can add fires that match no slot: harmless, they cost an invocation each.
 *
 * NCrontab decides when the timer fires (the Functions timer trigger parses its expression with
 * `ncrontab.signed`: Azure/azure-webjobs-sdk-extensions, src/WebJobs.Extensions/WebJobs.Extensions.csproj
 * and Extensions/Timers/Scheduling/CronSchedule.cs). Its rule is that second, minute, hour, day,
 * month *and* day-of-week must all match (atifaziz/NCrontab, NCrontab/CrontabSchedule.cs,
 * TryGetNextOccurrence: the day-of-week check comes after the day is chosen), whereas croner and
 * Vixie cron, which our schedules follow, fire on day-of-month *or* day-of-week when both are
 * restricted. src/devhost/ncrontab.ts implements NCrontab's rule; the property test in
 * test/unit/schedulerTimerPlan.test.ts checks that every slot coincides with a fire.
 */
import { CronPattern } from 'croner';
import type { ScheduleTiming } from './slots';
import { isIntervalSchedule } from './slots';
import { zoneChanges } from './zone';

const DAY_S = 86_400;
/** croner's day-of-week value for "every occurrence in the month" (nth 1–5 and last). */
const ANY_OCCURRENCE = 63;

/** The six NCRONTAB field sets, in UTC: seconds, minutes, hours, days (1–31), months (1–12), days of week (0–6). */
export interface TimerFields {
  readonly second: ReadonlySet<number>;
  readonly minute: ReadonlySet<number>;
  readonly hour: ReadonlySet<number>;
  readonly day: ReadonlySet<number>;
  readonly month: ReadonlySet<number>;
  readonly dayOfWeek: ReadonlySet<number>;
}

/** The daily retention purge's timer (registered in src/functions/scheduler.ts); here so `cost` prices it without loading the registrations. */
export const RETENTION_SCHEDULE = '0 17 3 * * *';

/** The years whose zone rules the expression covers (from, to): deterministic within a calendar year. */
export function coverageWindow(now: Date, yearsAhead = 5): { from: Date; to: Date } {
  const year = now.getUTCFullYear();
  return { from: new Date(Date.UTC(year - 1, 0, 1)), to: new Date(Date.UTC(year + yearsAhead + 1, 0, 1)) };
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const setBits = (bits: readonly number[], base: number): number[] => bits.flatMap((b, i) => (b !== 0 ? [i + base] : []));

/** The UTC fields that cover every slot of one schedule whose zone rules are those of `window`. */
export function scheduleTimerFields(schedule: ScheduleTiming, window: { from: Date; to: Date }): TimerFields {
  const pattern = new CronPattern(schedule.cron, undefined, { mode: '5-or-6-parts' });
  const { offsets, forwardChanges } = zoneChanges(schedule.timezone, window.from.getTime(), window.to.getTime());
  const seconds = setBits(pattern.second, 0);
  const minutes = setBits(pattern.minute, 0);
  const hours = setBits(pattern.hour, 0);

  const utcSecond = new Set<number>();
  const utcMinute = new Set<number>();
  const utcHour = new Set<number>();
  /** How many days the UTC date of a fire is after the local date the cron names: −1, 0 or +1. */
  const shifts = new Set<number>();
  const addFire = (utcSecondOfLocalDay: number): void => {
    const shift = Math.floor(utcSecondOfLocalDay / DAY_S);
    const tod = utcSecondOfLocalDay - shift * DAY_S;
    shifts.add(shift);
    utcHour.add(Math.floor(tod / 3600));
    utcMinute.add(Math.floor((tod % 3600) / 60));
    utcSecond.add(tod % 60);
  };

  // Every slot that is not moved out of a gap is a local time read with one of the zone's offsets.
  for (const offsetMs of offsets) {
    const offset = Math.round(offsetMs / 1000);
    if (offset % 60 === 0) {
      // Whole-minute offsets (every zone today) leave the seconds alone: no need to walk them.
      for (const h of hours) for (const m of minutes) addFire(h * 3600 + m * 60 - offset);
      for (const s of seconds) utcSecond.add(s);
    } else {
      for (const h of hours) for (const m of minutes) for (const s of seconds) addFire(h * 3600 + m * 60 + s - offset);
    }
  }

  // A wall-clock slot in a spring-forward gap runs at the instant the clocks jump (`gap: 'next'`).
  if (!isIntervalSchedule(schedule.cron) && schedule.dst.gap === 'next') {
    for (const change of forwardChanges) {
      const gapStart = Math.round((change.atMs + change.before) / 1000);
      const gapLength = Math.round((change.after - change.before) / 1000);
      const gapStartOfDay = ((gapStart % DAY_S) + DAY_S) % DAY_S;
      const hit = hours.some((h) => minutes.some((m) => seconds.some((s) => (((h * 3600 + m * 60 + s - gapStartOfDay) % DAY_S) + DAY_S) % DAY_S < gapLength)));
      if (!hit) continue;
      const localDayStart = gapStart - gapStartOfDay;
      // The gap may start before local midnight and swallow times of the next local day too.
      const atS = Math.round(change.atMs / 1000);
      addFire(atS - localDayStart);
      if (gapStartOfDay + gapLength > DAY_S) addFire(atS - (localDayStart + DAY_S));
    }
  }

  return { second: utcSecond, minute: utcMinute, hour: utcHour, ...utcDays(pattern, shifts) };
}

/** Day, month and day-of-week sets in UTC, given how far (in days) a fire can be from its local date. */
function utcDays(pattern: CronPattern, shifts: ReadonlySet<number>): Pick<TimerFields, 'day' | 'month' | 'dayOfWeek'> {
  const localMonths = setBits(pattern.month, 1);
  const localDays = setBits(pattern.day, 1);
  const localWeekdays = setBits(pattern.dayOfWeek.slice(0, 7).map((b) => (b === 0 ? 0 : 1)), 0);
  // `L`, `W`, `#n`: croner marks a plain weekday with every occurrence bit set (63), an nth or
  // last weekday with fewer; those days depend on the month, so their fields widen to `*`.
  const special = pattern.lastDayOfMonth || pattern.lastWeekday || pattern.nearestWeekdays.some((b) => b !== 0) || pattern.dayOfWeek.some((b) => b !== 0 && b !== ANY_OCCURRENCE);
  // Croner (like Vixie cron) fires on day-of-month OR day-of-week when both are restricted; an
  // NCRONTAB expression can only say AND, so both become `*` then.
  const either = !pattern.starDOM && !pattern.starDOW && !pattern.useAndLogic;
  const domRestricted = !pattern.starDOM && !special && !either;
  const dowRestricted = !pattern.starDOW && !special && !either;
  const moves = [...shifts].filter((s) => s !== 0);

  const dayOfWeek = new Set<number>(dowRestricted ? [] : range(0, 6));
  if (dowRestricted) for (const s of shifts) for (const d of localWeekdays) dayOfWeek.add((((d + s) % 7) + 7) % 7);

  const day = new Set<number>(domRestricted ? [] : range(1, 31));
  let monthMoves: number[] = moves;
  if (domRestricted) {
    monthMoves = [];
    for (const s of shifts) {
      for (const d of localDays) {
        if (s === 0) day.add(d);
        else if (s < 0 && d === 1) {
          // The 1st, early in the local day, is the last day of the previous month in UTC.
          for (const last of [28, 29, 30, 31]) day.add(last);
          monthMoves.push(-1);
        } else if (s < 0) day.add(d - 1);
        else {
          if (d < 31) day.add(d + 1);
          if (d >= 28) {
            // Late on a month's last day is the 1st of the next month in UTC.
            day.add(1);
            monthMoves.push(1);
          }
        }
      }
    }
  }

  const month = new Set<number>();
  for (const m of localMonths) {
    month.add(m);
    for (const s of monthMoves) month.add((((m - 1 + s) % 12) + 12) % 12 + 1);
  }
  return { day, month, dayOfWeek };
}

/** The fields covering several schedules: the union of each field (a superset of the union of fires). */
export function unionFields(all: readonly TimerFields[]): TimerFields | undefined {
  if (all.length === 0) return undefined;
  const merge = (pick: (f: TimerFields) => ReadonlySet<number>): Set<number> => new Set(all.flatMap((f) => [...pick(f)]));
  return {
    second: merge((f) => f.second),
    minute: merge((f) => f.minute),
    hour: merge((f) => f.hour),
    day: merge((f) => f.day),
    month: merge((f) => f.month),
    dayOfWeek: merge((f) => f.dayOfWeek),
  };
}

/** `0,15-17` — a field as NCRONTAB writes it; `*` when it holds every value of [min, max]. */
function formatField(values: ReadonlySet<number>, min: number, max: number): string {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === max - min + 1) return '*';
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === (sorted[j] ?? 0) + 1) j++;
    const a = sorted[i] ?? 0;
    const b = sorted[j] ?? 0;
    parts.push(a === b ? String(a) : b === a + 1 ? `${a},${b}` : `${a}-${b}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** The six-field NCRONTAB expression of the fields. */
export function formatNcrontab(fields: TimerFields): string {
  return [
    formatField(fields.second, 0, 59),
    formatField(fields.minute, 0, 59),
    formatField(fields.hour, 0, 23),
    formatField(fields.day, 1, 31),
    formatField(fields.month, 1, 12),
    formatField(fields.dayOfWeek, 0, 6),
  ].join(' ');
}

/** Every minute at second 0: the old tick's cadence. */
const EVERY_MINUTE: TimerFields = {
  second: new Set([0]), minute: new Set(range(0, 59)), hour: new Set(range(0, 23)),
  day: new Set(range(1, 31)), month: new Set(range(1, 12)), dayOfWeek: new Set(range(0, 6)),
};

/** What the timer needs of a schedule. */
export type TimerSchedule = ScheduleTiming & { readonly enabled: boolean; readonly overlap: 'skip' | 'queue' | 'allow' };

/**
 * The UTC NCRONTAB expression of the scheduler's timer for these schedules, or undefined when
 * none can fire (no schedules, or all disabled): then no timer is needed at all.
 *
 * A schedule with `overlap: 'queue'` keeps the timer firing every minute: its queued slots start
 * "as soon as no run of the pipeline is running", which only a tick can see, and a tick needs a
 * fire. That is the old cost (43,800 fires a month), paid only by apps that ask for queueing.
 */
export function schedulerTimerExpression(schedules: readonly TimerSchedule[], window: { from: Date; to: Date }): string | undefined {
  const enabled = schedules.filter((s) => s.enabled);
  const fields = enabled.map((s) => scheduleTimerFields(s, window));
  if (enabled.some((s) => s.overlap === 'queue')) fields.push(EVERY_MINUTE);
  const union = unionFields(fields);
  return union && formatNcrontab(union);
}
