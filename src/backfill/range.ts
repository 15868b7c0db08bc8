/**
 * Which slots a backfill covers: the slots the schedule's own calculator (src/scheduler/slots.ts,
 * the one the live scheduler tick uses) gives for the range, so a backfill of a DST week makes
 * exactly the slots the live schedule made — a gap moved or skipped, a repeated hour run once or
 * twice, by the schedule's `dst` policy.
 *
 * `--from` / `--to` are dates (`2026-03-23`: whole local days in the schedule's time zone, both
 * included, as Airflow's `dags backfill -s -e` and ADF's tumbling-window reruns count days) or
 * instants with an offset (`2026-03-23T00:00:00Z`, both included). Slots after `now` are not due:
 * the range is cut at `now`, and the answer says so.
 */
import type { ScheduleDefinition } from '../pipelines/schema';
import { SlotCalculator, type Slot } from '../scheduler/slots';
import { ZoneClock } from '../scheduler/zone';

/** Slots one backfill may cover: a year of hourly slots is 8,760; split bigger ranges. */
export const MAX_BACKFILL_SLOTS = 1000;

export interface RangeProblem {
  readonly field: 'from' | 'to' | 'range';
  readonly message: string;
}

export interface BackfillRange {
  /** First instant covered (inclusive), ISO. */
  readonly from: string;
  /** Last instant covered (inclusive), ISO; `now` when the range reached past it. */
  readonly to: string;
  /** True when `to` was cut at now. */
  readonly cutAtNow: boolean;
  readonly slots: readonly Slot[];
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2})$/;

/** The first instant of local day `date` in `zone` (a midnight in a DST gap: the instant the clocks jump). */
function startOfLocalDay(date: string, zone: string): number | undefined {
  const m = DATE.exec(date);
  if (!m) return undefined;
  const wall = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  // Date.UTC rolls 2026-02-30 over to March: refuse a date that does not exist.
  if (new Date(wall).toISOString().slice(0, 10) !== date) return undefined;
  const r = new ZoneClock(zone).resolve(wall);
  return r.kind === 'single' ? r.instant : r.kind === 'overlap' ? r.first : r.next;
}

function bound(text: string, zone: string, end: boolean): number | undefined {
  if (DATE.test(text)) {
    const start = startOfLocalDay(text, zone);
    if (start === undefined || !end) return start;
    const next = new Date(Date.parse(`${text}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    const after = startOfLocalDay(next, zone);
    return after === undefined ? undefined : after - 1;
  }
  if (!INSTANT.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

const FORMAT = 'a date (2026-03-23: a whole day in the schedule\'s time zone) or an instant with its offset (2026-03-23T02:00:00+01:00)';

/** The slots of `schedule` from `from` to `to`, or the problems with the range, each naming its field. */
export function backfillRange(schedule: Pick<ScheduleDefinition, 'name' | 'cron' | 'timezone' | 'dst'>, from: string, to: string, now: Date): BackfillRange | RangeProblem[] {
  const problems: RangeProblem[] = [];
  const fromMs = bound(from, schedule.timezone, false);
  const toMs = bound(to, schedule.timezone, true);
  if (fromMs === undefined) problems.push({ field: 'from', message: `${JSON.stringify(from)} is not ${FORMAT}` });
  if (toMs === undefined) problems.push({ field: 'to', message: `${JSON.stringify(to)} is not ${FORMAT}` });
  if (fromMs === undefined || toMs === undefined) return problems;
  if (fromMs > toMs) return [{ field: 'from', message: `--from ${from} is after --to ${to}: the range is empty (swap them?)` }];
  const nowMs = now.getTime();
  if (fromMs > nowMs) return [{ field: 'from', message: `--from ${from} is in the future (now ${now.toISOString()}): a backfill runs slots that are already due; the scheduler fires later ones` }];
  const end = Math.min(toMs, nowMs);
  const { slots, dropped } = new SlotCalculator(schedule).between(new Date(fromMs - 1), new Date(end), MAX_BACKFILL_SLOTS);
  if (dropped > 0) {
    return [{ field: 'range', message: `${slots.length + dropped} slots of ${schedule.name} in this range; one backfill covers at most ${MAX_BACKFILL_SLOTS}: split the range` }];
  }
  if (slots.length === 0) {
    return [{ field: 'range', message: `schedule ${schedule.name} (${schedule.cron} ${schedule.timezone}) has no slot from ${new Date(fromMs).toISOString()} to ${new Date(end).toISOString()}` }];
  }
  return { from: new Date(fromMs).toISOString(), to: new Date(end).toISOString(), cutAtNow: toMs > nowMs, slots };
}
