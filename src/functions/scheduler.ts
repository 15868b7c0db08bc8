/**
 * The scheduler: one timer trigger whose UTC NCRONTAB expression is computed at start-up from the
 * deployed definitions, so it fires only when a slot may be due (src/scheduler/timerPlan.ts), not
 * every minute. Schedules' own zones are evaluated by the tick (src/scheduler). A daily timer
 * purges runs past their retention together with their Durable history.
 *
 * The tick also runs when the timer's listener starts (`runOnStartup`), so slots missed while the
 * app was down or being deployed are caught up then, by each schedule's policy, instead of at the
 * next fire. The host's own start-up fire cannot be relied on for that: its schedule monitor does
 * not fire past due when the expression changed (azure-webjobs-sdk-extensions ScheduleMonitor.cs
 * `CheckPastDueAsync`), and the expression changes with any schedule and with the years it covers.
 * Why this hook and not another, with the sources: docs/scheduling.md, "Catch-up at start-up".
 */
import { appCatalog } from '../app/catalog';
import { registerTimer } from '../app/registry';
import { appServices } from '../app/services';
import type { Catalog } from '../pipelines/catalog';
import { tickWithServices } from '../scheduler/fromServices';
import { coverageWindow, RETENTION_SCHEDULE, schedulerTimerExpression } from '../scheduler/timerPlan';
import { purgeExpiredRuns } from '../runs/retention';
import { backfillRunLabels } from '../projects/labelsBackfill';

export const SCHEDULER_TIMER = 'schedulerTick';
export { RETENTION_SCHEDULE };

/**
 * The scheduler timer's NCRONTAB expression for these definitions (undefined: no enabled
 * schedule, no timer). It covers the zone rules of the years around `now`, whole calendar years,
 * so every instance started in the same year registers the same expression.
 */
export function schedulerTimerSchedule(catalog: Catalog, now: Date = new Date()): string | undefined {
  return schedulerTimerExpression(catalog.pipelines.flatMap((p) => p.schedules), coverageWindow(now));
}

export function registerScheduler(): void {
  const schedule = schedulerTimerSchedule(appCatalog());
  if (schedule !== undefined) {
    // The listener's start makes one invocation: past due (useMonitor) or else runOnStartup
    // (TimerListener.StartAsync); either way the tick compares the ledger with the slots owed.
    registerTimer(SCHEDULER_TIMER, { schedule, runOnStartup: true, useMonitor: true }, async (timer, client) => {
      const services = await appServices();
      if (timer.isPastDue) services.log.warn({ event: 'scheduler.pastDue' }, 'scheduler tick is running late');
      await tickWithServices(services, client, services.now());
      // After the slots owed: an upgraded store's runs get their project and tag index rows once.
      await backfillRunLabels(services);
    });
  }
  registerTimer('purgeExpiredRuns', { schedule: RETENTION_SCHEDULE, runOnStartup: false, useMonitor: true }, async (_timer, client) => {
    const services = await appServices();
    await backfillRunLabels(services);
    await purgeExpiredRuns(services, client);
  });
}
