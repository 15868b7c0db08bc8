/**
 * The scheduler: one timer every minute, in UTC (Linux and Flex Consumption ignore
 * WEBSITE_TIME_ZONE); schedules' own zones are evaluated by src/scheduler. A daily timer purges
 * runs past their retention together with their Durable history.
 */
import { registerTimer } from '../app/registry';
import { appServices } from '../app/services';
import { tickWithServices } from '../scheduler/fromServices';
import { purgeExpiredRuns } from '../runs/retention';

export const SCHEDULER_TICK = '0 * * * * *';
export const RETENTION_SCHEDULE = '0 17 3 * * *';

export function registerScheduler(): void {
  registerTimer('schedulerTick', { schedule: SCHEDULER_TICK, runOnStartup: false }, async (timer, client) => {
    const services = await appServices();
    if (timer.isPastDue) services.log.warn({ event: 'scheduler.pastDue' }, 'scheduler tick is running late');
    await tickWithServices(services, client, services.now());
  });
  registerTimer('purgeExpiredRuns', { schedule: RETENTION_SCHEDULE, runOnStartup: false }, async (_timer, client) => {
    await purgeExpiredRuns(await appServices(), client);
  });
}
