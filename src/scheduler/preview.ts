/**
 * `schedules preview`: the next fire times of a schedule, computed from the definition alone (no
 * server), by the same code the scheduler tick uses — what the preview shows is what will fire.
 */
import { SlotCalculator, type DstMark, type ScheduleTiming } from './slots';

export interface PreviewSlot {
  /** ISO instant (`2026-03-29T01:00:00Z`). */
  readonly utc: string;
  /** Wall time with offset in the schedule's zone (`2026-03-29T03:00:00+02:00`). */
  readonly local: string;
  /** `gap`: the scheduled local time did not exist that day; `overlap`: it occurred twice. */
  readonly dst: DstMark;
}

export const MAX_PREVIEW_COUNT = 1000;

/** The next `count` slots strictly after `from` (default: now). */
export function previewSchedule(schedule: ScheduleTiming, options: { from?: Date; count: number }): PreviewSlot[] {
  const { count } = options;
  if (!Number.isInteger(count) || count < 1 || count > MAX_PREVIEW_COUNT) {
    throw new RangeError(`count must be an integer from 1 to ${MAX_PREVIEW_COUNT}, got ${count}`);
  }
  const from = options.from ?? new Date();
  if (Number.isNaN(from.getTime())) throw new RangeError('from is not a valid date');
  return new SlotCalculator(schedule).next(from, count).map((s) => ({ utc: s.utc, local: s.local, dst: s.dst }));
}
