/**
 * How often the deployed definitions run, and how many timer invocations the scheduler costs for
 * that. Fires come from the scheduler's own slot computation (src/scheduler/slots.ts, DST rules
 * included) over a whole year, divided by 12: an average month with its share of DST changes.
 */
import { NcrontabSchedule } from '../devhost/ncrontab';
import type { PipelineDefinition } from '../pipelines/schema';
import { slotsBetween } from '../scheduler/slots';
import { coverageWindow, schedulerTimerExpression } from '../scheduler/timerPlan';

/** Seconds in an average month (365.25 / 12 days). */
export const SECONDS_PER_MONTH = (365.25 / 12) * 86_400;

/** The year the average is taken over: the next whole calendar year after `now`. */
function yearAfter(now: Date): { from: Date; to: Date } {
  const year = now.getUTCFullYear() + 1;
  return { from: new Date(Date.UTC(year, 0, 1) - 1), to: new Date(Date.UTC(year + 1, 0, 1) - 1) };
}

/**
 * A year of one schedule's slots is a few hundred milliseconds of zone arithmetic, and `cost
 * --compare` prices the same schedules some twenty times: computed once per schedule and year.
 */
const slotCache = new Map<string, ReturnType<typeof slotsBetween>>();
function yearSlots(schedule: Parameters<typeof slotsBetween>[0], from: Date, to: Date): ReturnType<typeof slotsBetween> {
  const key = `${JSON.stringify(schedule)}|${from.getTime()}|${to.getTime()}`;
  let slots = slotCache.get(key);
  if (!slots) {
    if (slotCache.size > 500) slotCache.clear();
    slots = slotsBetween(schedule, from, to);
    slotCache.set(key, slots);
  }
  return slots;
}

export interface ScheduleFires {
  readonly pipeline: string;
  readonly schedule: string;
  readonly cron: string;
  readonly timezone: string;
  /** Average fires per month (a year's slots / 12). */
  readonly perMonth: number;
}

export function firesPerMonth(pipelines: readonly PipelineDefinition[], now: Date = new Date()): ScheduleFires[] {
  const { from, to } = yearAfter(now);
  return pipelines.flatMap((p) =>
    p.schedules
      .filter((s) => s.enabled)
      .map((s) => ({ pipeline: p.name, schedule: s.name, cron: s.cron, timezone: s.timezone, perMonth: yearSlots(s, from, to).length / 12 })),
  );
}

/**
 * Runs a month per pipeline: slots of one pipeline's schedules that fall on the same instant start
 * one run (the seed's daily 02:00 Paris is an hourly slot too): the scheduler's tick records the
 * other `skipped-overlap` (src/scheduler/tick.ts, overlap 'skip', the default).
 */
export function runsPerMonth(pipelines: readonly PipelineDefinition[], now: Date = new Date()): Map<string, number> {
  const { from, to } = yearAfter(now);
  const out = new Map<string, number>();
  for (const p of pipelines) {
    const enabled = p.schedules.filter((x) => x.enabled);
    const slots = enabled.map((s) => yearSlots(s, from, to));
    const all = slots.reduce((n, list) => n + list.length, 0);
    const instants = new Set(slots.flat().map((slot) => slot.utc));
    out.set(p.name, (enabled.some((s) => s.overlap === 'allow') ? all : instants.size) / 12);
  }
  return out;
}

/**
 * How the scheduler is woken. `per-slot`: one timer invocation per slot that fires, plus
 * `extraPerMonth` for fires the design adds (e.g. a UTC expression that also fires at the other
 * DST offset and decides there is nothing to do). `fixed-tick`: a timer every `everySeconds`
 * whatever the schedules (the minute tick: 43,830 a month).
 */
export type TriggerDesign =
  | { readonly kind: 'per-slot'; readonly extraPerMonth?: number }
  | { readonly kind: 'fixed-tick'; readonly everySeconds: number }
  /** The NCRONTAB expression of the scheduler's timer (src/scheduler/timerPlan.ts), counted as NCrontab fires it. */
  | { readonly kind: 'ncrontab'; readonly expression: string | undefined };

/** NCRONTAB fires over a whole UTC year, divided by 12 (src/devhost/ncrontab.ts follows NCrontab's rules). */
export function ncrontabFiresPerMonth(expression: string, now: Date = new Date()): number {
  const year = now.getUTCFullYear() + 1;
  return new NcrontabSchedule(expression).countBetween(new Date(Date.UTC(year, 0, 1)), new Date(Date.UTC(year + 1, 0, 1))) / 12;
}

/** The trigger the app deploys for these definitions: the scheduler's one timer, as src/functions/scheduler.ts computes it. */
export function deployedTriggerDesign(pipelines: readonly PipelineDefinition[], now: Date = new Date()): TriggerDesign {
  return { kind: 'ncrontab', expression: schedulerTimerExpression(pipelines.flatMap((p) => p.schedules), coverageWindow(now)) };
}

export const DEFAULT_TRIGGER_DESIGN: TriggerDesign = { kind: 'per-slot' };

/** Timer invocations per month the scheduler costs for these fires. */
export function timerInvocationsPerMonth(fires: readonly ScheduleFires[], design: TriggerDesign = DEFAULT_TRIGGER_DESIGN, now: Date = new Date()): { count: number; basis: string } {
  if (design.kind === 'ncrontab') {
    if (design.expression === undefined) return { count: 0, basis: 'no schedule can fire: no scheduler timer' };
    const count = ncrontabFiresPerMonth(design.expression, now);
    return { count, basis: `scheduler timer '${design.expression}': ${fmtCount(count)}/month` };
  }
  if (design.kind === 'fixed-tick') {
    const count = SECONDS_PER_MONTH / design.everySeconds;
    return { count, basis: `a tick every ${design.everySeconds} s: ${fmtCount(count)}/month` };
  }
  const slots = fires.reduce((a, f) => a + f.perMonth, 0);
  const extra = design.extraPerMonth ?? 0;
  return { count: slots + extra, basis: `one per slot that fires: ${fmtCount(slots)}${extra > 0 ? ` + ${fmtCount(extra)} extra` : ''}` };
}

export function fmtCount(n: number): string {
  return n.toLocaleString('en', { maximumFractionDigits: n < 100 ? 1 : 0 });
}
