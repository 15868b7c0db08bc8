/**
 * NCRONTAB schedules of timer triggers, as the Functions host evaluates them: six fields
 * `{second} {minute} {hour} {day} {month} {day-of-week}`, in UTC (Linux Consumption / Flex
 * Consumption ignore WEBSITE_TIME_ZONE).
 *
 * A port of the rules of atifaziz/NCrontab (the `ncrontab.signed` package the timer trigger uses:
 * Azure/azure-webjobs-sdk-extensions, src/WebJobs.Extensions/Extensions/Timers/Scheduling/CronSchedule.cs):
 * - fields and ranges from NCrontab/CrontabFieldImpl.cs: seconds and minutes 0–59, hours 0–23,
 *   days 1–31, months 1–12 or names, days of week 0–6 (Sunday = 0) or names; `*`, `a`, `a-b`,
 *   `*\/n`, `a-b/n`, `a/n` (from a to the field's maximum) and comma lists; a name is any
 *   case-insensitive prefix of the English month or day name;
 * - an instant fires when **every** field matches, day-of-month *and* day-of-week
 *   (NCrontab/CrontabSchedule.cs, TryGetNextOccurrence: the day is chosen from the day field,
 *   then rejected unless its day of week is in the day-of-week field). Vixie cron and croner fire
 *   on day-of-month *or* day-of-week when both are restricted; schedules follow that, timers do not.
 */

interface FieldSpec {
  readonly kind: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
}

const MONTH_NAMES = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

const FIELDS: readonly FieldSpec[] = [
  { kind: 'second', min: 0, max: 59 },
  { kind: 'minute', min: 0, max: 59 },
  { kind: 'hour', min: 0, max: 23 },
  { kind: 'day', min: 1, max: 31 },
  { kind: 'month', min: 1, max: 12, names: MONTH_NAMES },
  { kind: 'day-of-week', min: 0, max: 6, names: DAY_NAMES },
];

function parseField(text: string, spec: FieldSpec, expression: string): Set<number> {
  const fail = (why: string): never => {
    throw new Error(`timer schedule "${expression}": ${spec.kind} field "${text}" ${why}`);
  };
  const value = (s: string): number => {
    if (s.length === 0) return fail('has an empty value');
    if (/^\d+$/.test(s)) return Number(s);
    const index = spec.names?.findIndex((n) => n.toLowerCase().startsWith(s.toLowerCase())) ?? -1;
    return index >= 0 ? index + spec.min : fail(`has "${s}", not a number${spec.names ? ' or a name' : ''}`);
  };
  const values = new Set<number>();
  for (const part of text.split(',')) {
    const [base = '', stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) fail(`has step "${stepText ?? ''}"`);
    let first: number;
    let last: number;
    if (base === '*') [first, last] = [spec.min, spec.max];
    else if (base.indexOf('-') > 0) [first, last] = base.split('-').map(value) as [number, number];
    else [first, last] = stepText === undefined ? [value(base), value(base)] : [value(base), spec.max];
    if (first < spec.min || last > spec.max || first > last) fail(`is outside ${spec.min}-${spec.max}`);
    for (let v = first; v <= last; v += step) values.add(v);
  }
  return values;
}

const DAY_MS = 86_400_000;

export class NcrontabSchedule {
  private readonly fields: readonly Set<number>[];

  constructor(readonly expression: string) {
    const parts = expression.trim().split(/\s+/);
    if (parts.length !== 6) throw new Error(`timer schedule "${expression}" must have six NCRONTAB fields (seconds first)`);
    this.fields = FIELDS.map((spec, i) => parseField(parts[i] ?? '', spec, expression));
  }

  private has(field: number, value: number): boolean {
    return this.fields[field]?.has(value) ?? false;
  }

  /** Whether the timer fires at this instant (whole seconds, UTC). */
  matches(at: Date): boolean {
    if (at.getTime() % 1000 !== 0) return false;
    return this.matchesDay(at) && this.has(0, at.getUTCSeconds()) && this.has(1, at.getUTCMinutes()) && this.has(2, at.getUTCHours());
  }

  private matchesDay(at: Date): boolean {
    return this.has(3, at.getUTCDate()) && this.has(4, at.getUTCMonth() + 1) && this.has(5, at.getUTCDay());
  }

  /** How many times it fires in [from, to), both at UTC midnight (for cost figures). */
  countBetween(from: Date, to: Date): number {
    if (from.getTime() % DAY_MS !== 0 || to.getTime() % DAY_MS !== 0) throw new Error('countBetween counts whole UTC days');
    const perDay = [0, 1, 2].reduce((n, field) => n * (this.fields[field]?.size ?? 0), 1);
    let fires = 0;
    for (let day = from.getTime(); day < to.getTime(); day += DAY_MS) if (this.matchesDay(new Date(day))) fires += perDay;
    return fires;
  }

  /** The first occurrence strictly after `after`, within ten years; undefined if there is none. */
  next(after: Date): Date | undefined {
    const startMs = Math.floor(after.getTime() / 1000) * 1000 + 1000;
    const firstDay = Math.floor(startMs / DAY_MS) * DAY_MS;
    for (let day = firstDay; day < firstDay + 3660 * DAY_MS; day += DAY_MS) {
      if (!this.matchesDay(new Date(day))) continue;
      const fromSecond = day === firstDay ? (startMs - day) / 1000 : 0;
      const at = this.firstTimeOfDay(fromSecond);
      if (at !== undefined) return new Date(day + at * 1000);
    }
    return undefined;
  }

  /** The first second of a matching day at or after `fromSecond` whose hour, minute and second match. */
  private firstTimeOfDay(fromSecond: number): number | undefined {
    for (let h = Math.floor(fromSecond / 3600); h < 24; h++) {
      if (!this.has(2, h)) continue;
      for (let m = 0; m < 60; m++) {
        if (!this.has(1, m)) continue;
        for (let s = 0; s < 60; s++) {
          const t = h * 3600 + m * 60 + s;
          if (t >= fromSecond && this.has(0, s)) return t;
        }
      }
    }
    return undefined;
  }
}
