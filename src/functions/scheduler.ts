/**
 * The scheduler: one timer trigger whose UTC NCRONTAB expression is computed at start-up from the
 * deployed definitions, so it fires only when a slot may be due (src/scheduler/timerPlan.ts), not
 * every minute. Schedules' own zones are evaluated by the tick (src/scheduler). A daily timer
 * purges runs past their retention together with their Durable history.
 */
import { appCatalog } from '../app/catalog';
import { registerTimer } from '../app/registry';
import { appServices } from '../app/services';
import type { Catalog } from '../pipelines/catalog';
import { tickWithServices } from '../scheduler/fromServices';
import { coverageWindow, RETENTION_SCHEDULE, schedulerTimerExpression } from '../scheduler/timerPlan';
import { purgeExpiredRuns } from '../runs/retention';

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
    // useMonitor (the default, stated): after downtime the host fires once at start-up with
    // isPastDue, and the tick's checkpoint then finds what was missed.
    registerTimer(SCHEDULER_TIMER, { schedule, runOnStartup: false, useMonitor: true }, async (timer, client) => {
      const services = await appServices();
      if (timer.isPastDue) services.log.warn({ event: 'scheduler.pastDue' }, 'scheduler tick is running late');
      await tickWithServices(services, client, services.now());
    });
  }
  registerTimer('purgeExpiredRuns', { schedule: RETENTION_SCHEDULE, runOnStartup: false, useMonitor: true }, async (_timer, client) => {
    await purgeExpiredRuns(await appServices(), client);
  });
}
