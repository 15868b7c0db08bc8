/**
 * Which slots a tick owes a schedule since its checkpoint — across deploys that change it.
 *
 * The tick evaluates `(checkpoint, now]` and hands the slots to the catch-up policy. The
 * checkpoint only moves when the timer fires, and the timer fires only at the instants the
 * deployed definitions can have a slot (timerPlan.ts), so after a deploy the window can reach
 * back to before the deploy. Evaluating all of it with the *new* definition would invent slots
 * the schedule never had (an edit from 02:00 to 03:00 made at 10:00 would "catch up" a 03:00
 * run at once), and forget the ones the old definition owed while the app was down for the
 * deploy. So the state row keeps the definition its checkpoint was evaluated under, and when a
 * tick finds another one deployed:
 *
 * - the recorded definition was in force until now: its slots in `(checkpoint, now]` are owed
 *   (a slot missed during the deploy's downtime is caught up by the policy, not lost);
 * - the new one is in force from now, as a new schedule is: only its slots within the first-run
 *   look-back are owed (a schedule deployed just before its slot still fires).
 *
 * A slot both definitions have counts once. Rows written before this existed carry no
 * definition: they are read as recorded under the current one.
 */
import { cronProblems } from '../pipelines/cron';
import { scheduleFieldsSchema, type ScheduleDefinition } from '../pipelines/schema';
import { SlotCalculator, type Slot } from './slots';

/** The part of a schedule that decides its slots, as recorded with its checkpoint. */
export type RecordedSchedule = Pick<ScheduleDefinition, 'cron' | 'timezone' | 'dst' | 'enabled'>;

// A recorded cron was valid when recorded; one that no longer reads as a cron is treated as unreadable.
// Six fields were only ever recorded with cronSeconds, which the record does not keep.
const recordedScheduleSchema = scheduleFieldsSchema
  .pick({ cron: true, timezone: true, dst: true, enabled: true })
  .refine((s) => cronProblems(s.cron, { seconds: s.cron.trim().split(/\s+/).length === 6 }).length === 0);

/** A recorded definition read back from storage; undefined when unreadable (then the current one is assumed). */
export function parseRecordedSchedule(json: string): RecordedSchedule | undefined {
  try {
    const parsed = recordedScheduleSchema.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export function recordedSchedule(schedule: RecordedSchedule): RecordedSchedule {
  return { cron: schedule.cron, timezone: schedule.timezone, dst: { gap: schedule.dst.gap, overlap: schedule.dst.overlap }, enabled: schedule.enabled };
}

export function sameSchedule(a: RecordedSchedule, b: RecordedSchedule): boolean {
  return JSON.stringify(recordedSchedule(a)) === JSON.stringify(recordedSchedule(b));
}

export interface OwedSlotsInput {
  readonly schedule: RecordedSchedule;
  /** The definition the checkpoint was evaluated under; undefined = the current one. */
  readonly recorded: RecordedSchedule | undefined;
  /** The checkpoint (or, with none, now minus the first-run look-back). */
  readonly from: Date;
  readonly now: Date;
  readonly lookbackMs: number;
  /** Slots returned at most; the latest are kept. */
  readonly limit: number;
}

export interface OwedSlots {
  readonly slots: Slot[];
  /** Owed slots beyond `limit`, not returned. */
  readonly dropped: number;
  /** The deployed definition is not the recorded one. */
  readonly changed: boolean;
}

export function owedSlots(input: OwedSlotsInput): OwedSlots {
  const { schedule, recorded, from, now, limit } = input;
  if (recorded === undefined || sameSchedule(recorded, schedule)) return { ...new SlotCalculator(schedule).between(from, now, limit), changed: false };
  const newFrom = new Date(Math.max(from.getTime(), now.getTime() - input.lookbackMs));
  // A disabled definition owed nothing while it was in force.
  const before = recorded.enabled ? new SlotCalculator(recorded).between(from, now, limit) : { slots: [], dropped: 0 };
  const after = new SlotCalculator(schedule).between(newFrom, now, limit);
  const byInstant = new Map<string, Slot>();
  // An instant both have is shown as the deployed definition names it.
  for (const slot of [...after.slots, ...before.slots]) if (!byInstant.has(slot.utc)) byInstant.set(slot.utc, slot);
  const slots = [...byInstant.values()].sort((a, b) => a.epochMs - b.epochMs);
  const excess = Math.max(0, slots.length - limit);
  return { slots: slots.slice(excess), dropped: before.dropped + after.dropped + excess, changed: true };
}
