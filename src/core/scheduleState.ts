/**
 * A schedule's state in one word, the same in the API, the CLI (`schedules ls`) and the console:
 * `disabled` (the definition says so), `paused` (at runtime), `scheduler off` (the app's
 * SCHEDULER_ENABLED is false: nothing fires), `failing` (its latest slot could not start its run),
 * else `active`. Only `active` and `failing` schedules have a next run.
 */
export type ScheduleStateWord = 'active' | 'failing' | 'paused' | 'disabled' | 'scheduler off';

export function scheduleStateWord(s: { readonly enabled: boolean; readonly paused: boolean; readonly schedulerEnabled: boolean; readonly failing: boolean }): ScheduleStateWord {
  if (!s.enabled) return 'disabled';
  if (s.paused) return 'paused';
  if (!s.schedulerEnabled) return 'scheduler off';
  return s.failing ? 'failing' : 'active';
}

/** Whether a schedule in this state fires at its next slot. */
export const firesNext = (state: ScheduleStateWord): boolean => state === 'active' || state === 'failing';
