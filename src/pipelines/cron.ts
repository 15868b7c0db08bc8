/**
 * The cron rule of a schedule: what an expression must say before the app accepts it.
 *
 * - Five fields (minute hour day month weekday), as cron and Prefect write them.
 * - Six fields only with `cronSeconds: true`. Six fields are read differently by the tools our
 *   users know: Azure's NCRONTAB and croner (which computes our slots) take *seconds first*, so
 *   `0 2 * * * *` fires at minute 2 of every hour; Prefect's croniter takes seconds *last*
 *   (kiorky/croniter, `croniter.py`: a sixth range after day-of-week is seconds). A copied
 *   `0 2 * * *` with one `*` too many would silently fire hourly: refused, with the five-field
 *   forms suggested, unless the schedule says it means seconds.
 * - The macros Vixie cron (crontab(5)) and croniter accept, which croner expands:
 *   `@yearly`/`@annually` `0 0 1 1 *`, `@monthly` `0 0 1 * *`, `@weekly` `0 0 * * 0`,
 *   `@daily`/`@midnight` `0 0 * * *`, `@hourly` `0 * * * *`. `@reboot` has no meaning without a
 *   machine that boots: refused.
 * - An expression that can never fire (`0 2 30 2 *`: there is no 30 February) is refused rather
 *   than shown as an active schedule with no next run.
 */
import { Cron } from 'croner';

export const CRON_MACROS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** croner's options wherever the app reads a schedule's cron (slots.ts, timerPlan.ts use the same mode). */
export const CRON_MODE = '5-or-6-parts' as const;

/** Whether a 5-field expression parses (for suggestions). */
function parses(expr: string): boolean {
  try {
    new Cron(expr, { paused: true, mode: CRON_MODE });
    return true;
  } catch {
    return false;
  }
}

/** Every problem of a schedule's cron, in words; empty when the app can use it. */
export function cronProblems(expr: string, options: { readonly seconds: boolean }): string[] {
  const text = expr.trim();
  if (text.startsWith('@')) {
    const macro = text.toLowerCase();
    if (macro === '@reboot') return ['@reboot is not a schedule here: there is no machine that boots (start runs over HTTP, or give a cron)'];
    if (!Object.hasOwn(CRON_MACROS, macro)) return [`unknown cron macro ${JSON.stringify(text)} (one of ${Object.keys(CRON_MACROS).join(', ')})`];
    if (options.seconds) return [`cronSeconds: true needs 6 fields; ${text} means "${CRON_MACROS[macro] ?? ''}" (5 fields)`];
    return [];
  }
  const fields = text.split(/\s+/);
  if (fields.length === 6 && !options.seconds) return [sixFieldsProblem(text, fields)];
  if (fields.length === 5 && options.seconds) return [`cronSeconds: true but ${JSON.stringify(text)} has 5 fields: give 6 (second minute hour day month weekday) or drop cronSeconds`];
  if (fields.length !== 5 && fields.length !== 6) {
    return [`cron must have 5 fields (minute hour day month weekday)${options.seconds ? ' or, with cronSeconds: true, 6' : ''}; ${JSON.stringify(text)} has ${fields.length}`];
  }
  let cron: Cron;
  try {
    cron = new Cron(text, { paused: true, mode: CRON_MODE, utcOffset: 0 });
  } catch (error) {
    return [`invalid cron ${JSON.stringify(text)}: ${(error as Error).message.replace(/^CronPattern:\s*/, '')}`];
  }
  // A calendar with no fire at all from 2000 on (croner searches years ahead): no such date exists.
  if (cron.nextRun(new Date(Date.UTC(2000, 0, 1))) === null) {
    return [`cron ${JSON.stringify(text)} never fires: no date matches its day and month fields (e.g. 30 February)`];
  }
  return [];
}

/** Six fields without `cronSeconds`: say both readings and the five-field forms. */
function sixFieldsProblem(text: string, fields: readonly string[]): string {
  const secondsFirst = fields.slice(1).join(' ');
  const droppedLast = fields.slice(0, 5).join(' ');
  const forms: string[] = [];
  // Seconds first, at second 0: the same fires in five fields.
  if (fields[0] === '0' && parses(secondsFirst)) forms.push(`"${secondsFirst}" (the first field read as seconds, as NCRONTAB does)`);
  if (fields[5] === '*' && parses(droppedLast) && droppedLast !== secondsFirst) forms.push(`"${droppedLast}" (the last field one too many)`);
  const suggest = forms.length > 0 ? `; write 5 fields: ${forms.join(' or ')}` : '';
  return `cron ${JSON.stringify(text)} has 6 fields, which tools read differently (Azure NCRONTAB and croner take the first as seconds, Prefect's croniter the last)${suggest}; or set cronSeconds: true if the first field really is seconds`;
}
