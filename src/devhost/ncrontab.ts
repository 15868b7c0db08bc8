/**
 * NCRONTAB schedules of timer triggers: six fields `{second} {minute} {hour} {day} {month}
 * {day-of-week}`, evaluated in UTC (Linux Consumption / Flex Consumption ignore WEBSITE_TIME_ZONE).
 * NCrontab requires day-of-month and day-of-week to both match, hence `domAndDow`.
 */
import { Cron } from 'croner';

export class NcrontabSchedule {
  private readonly cron: Cron;

  constructor(readonly expression: string) {
    const fields = expression.trim().split(/\s+/);
    if (fields.length !== 6) throw new Error(`timer schedule "${expression}" must have six NCRONTAB fields (seconds first)`);
    this.cron = new Cron(expression, { timezone: 'UTC', paused: true, mode: '6-part', domAndDow: true });
  }

  /** The first occurrence strictly after `after`. */
  next(after: Date): Date | undefined {
    return this.cron.nextRun(after) ?? undefined;
  }
}
