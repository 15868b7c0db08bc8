/**
 * The timer trigger's schedule monitor and start-up invocation, as Azure/azure-webjobs-sdk-extensions
 * runs them (src/WebJobs.Extensions/Extensions/Timers/Listener/TimerListener.cs `StartAsync`,
 * Scheduling/ScheduleMonitor.cs `CheckPastDueAsync`; the status itself is a blob per timer,
 * WebJobs.Extensions.Timers.Storage/StorageScheduleMonitor.cs):
 *
 * - When the listener starts, with `useMonitor`, the recorded status is read. The schedule counts
 *   as changed when the recorded `next` is not the schedule's next occurrence after the recorded
 *   `last` (or `lastUpdated` when it never fired); a changed schedule whose expected occurrence has
 *   passed is re-planned from now and is **not** past due. Otherwise it is past due when the
 *   recorded `next` has passed.
 * - Then exactly one immediate invocation may follow: past due (`isPastDue`), or else, with
 *   `runOnStartup`, a start-up one. Never both.
 * - The listener is a singleton (`[Singleton(Mode = SingletonMode.Listener)]`): one instance of the
 *   app runs it, and it starts again wherever the lock goes.
 */
import type { NcrontabSchedule } from './ncrontab';

/** One timer trigger's schedule-monitor record. */
export interface TimerStatus {
  readonly name: string;
  readonly schedule: string;
  /** The last invocation (undefined: never fired). */
  readonly last: Date | undefined;
  readonly next: Date | undefined;
  /** When `next` was last computed. */
  readonly lastUpdated?: Date | undefined;
}

/** What the listener decides at start for one timer: its planned next fire, and whether it is past due. */
export interface StartDecision {
  readonly pastDue: boolean;
  readonly next: Date | undefined;
}

/** ScheduleMonitor.CheckPastDueAsync over a recorded status (undefined: none recorded yet). */
export function checkPastDue(recorded: TimerStatus | undefined, schedule: NcrontabSchedule, now: Date): StartDecision {
  if (recorded === undefined) return { pastDue: false, next: schedule.next(now) };
  let next = recorded.next;
  const base = recorded.last ?? recorded.lastUpdated;
  let expected = schedule.next(base ?? now);
  if (next?.getTime() !== expected?.getTime()) {
    if (expected !== undefined && now.getTime() > expected.getTime()) expected = schedule.next(now);
    next = expected;
  }
  return { pastDue: next !== undefined && now.getTime() > next.getTime(), next };
}
