/** The scheduler: slots of a schedule in its time zone, the preview, the tick, and the timer that fires it. */
export { SlotCalculator, slotsBetween, nextSlots, scheduledInstanceId, isIntervalSchedule, type Slot, type DstMark, type ScheduleTiming } from './slots';
export { previewSchedule, MAX_PREVIEW_COUNT, type PreviewSlot } from './preview';
export { runSchedulerTick, MAX_START_ATTEMPTS, type SchedulerTickInput, type SchedulerTickSummary, type ScheduleTickResult, type SlotResult, type SchedulerLog } from './tick';
export { PENDING_OUTCOMES, type SchedulerStore, type RunStarter, type ScheduledStart, type ScheduleState, type SlotEntry, type SlotOutcome, type LateSlotsEvent, type NotifyLate } from './ports';
export { schedulerTimerExpression, scheduleTimerFields, formatNcrontab, coverageWindow, type TimerFields, type TimerSchedule } from './timerPlan';
