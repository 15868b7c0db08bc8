/**
 * What the demo's stage holds, folder by day: `COPY INTO … FROM @mon_stage_azure/chemin/vers/fichiers/<day>`
 * loads that day's files, so the seed pipeline's `day` parameter (by default the run's logical
 * date) visibly changes what a run loads. The exports start on DEMO_FIRST_DAY (2026-01-01): 2026-11-27 and
 * 2026-11-28 have their own files, every later day holds the daily export (DEMO_DAILY_EXPORT,
 * three files, one partially loaded), so a run on today's date loads something. A day before
 * them answers as Snowflake does when no file matches: "Copy executed with 0 files processed."
 */
import { copyIntoResult, type QueryScript } from './server';

const FOLDER = 'chemin/vers/fichiers';

export const DEMO_STAGE_DAYS: Readonly<Record<string, Parameters<typeof copyIntoResult>[0]>> = {
  '2026-11-27': [
    { file: `azure://exports/${FOLDER}/2026-11-27/part-0001.json`, status: 'LOADED', rowsParsed: 800, rowsLoaded: 800 },
    { file: `azure://exports/${FOLDER}/2026-11-27/part-0002.json`, status: 'LOADED', rowsParsed: 640, rowsLoaded: 640 },
  ],
  '2026-11-28': [
    {
      file: `azure://exports/${FOLDER}/2026-11-28/part-0001.json`, status: 'PARTIALLY_LOADED', rowsParsed: 505, rowsLoaded: 498,
      errorsSeen: 7, firstError: 'Error parsing JSON: unknown keyword "nul", pos 3', firstErrorLine: 87, firstErrorCharacter: 3,
    },
  ],
};

/** The first day the demo's exports wrote a folder for. */
export const DEMO_FIRST_DAY = '2026-01-01';

/** The daily export every day after the fixed ones holds, in that day's folder. */
export function demoDailyExport(day: string): Parameters<typeof copyIntoResult>[0] {
  const file = (n: number) => `azure://exports/${FOLDER}/${day}/part-000${n}.json`;
  return [
    { file: file(1), status: 'LOADED', rowsParsed: 1200, rowsLoaded: 1200 },
    { file: file(2), status: 'LOADED', rowsParsed: 1150, rowsLoaded: 1150 },
    {
      file: file(3), status: 'PARTIALLY_LOADED', rowsParsed: 1100, rowsLoaded: 1097,
      errorsSeen: 3, firstError: 'Error parsing JSON: incomplete object value', firstErrorLine: 412, firstErrorCharacter: 18,
    },
  ];
}

/** The files of one day's folder: its own, the daily export, or none before the first day. */
export function demoStageFiles(day: string): Parameters<typeof copyIntoResult>[0] {
  if (Object.hasOwn(DEMO_STAGE_DAYS, day)) return DEMO_STAGE_DAYS[day] ?? [];
  return /^\d{4}-\d{2}-\d{2}$/.test(day) && day >= DEMO_FIRST_DAY ? demoDailyExport(day) : [];
}

/**
 * The location a COPY INTO reads (`@stage/path`), read as Snowflake reads it: unquoted up to white
 * space, or a single-quoted string literal where `''` is one quote and a backslash escapes the next
 * character (`\\` one backslash, `\'` a quote, `\n` a line feed, `\t` a tab) — Snowflake's
 * "String & binary data types: escape sequences in single-quoted string constants". Reading a
 * quoted location only up to its first quote loaded the whole stage root for a day of `';DROP…`
 * (red-team pass 2, F13).
 */
export function stageLocationOf(sql: string): string | undefined {
  const from = /^\s*COPY INTO\s+\S+\s+FROM\s+/i.exec(sql);
  if (!from) return undefined;
  const rest = sql.slice(from[0].length);
  if (!rest.startsWith("'")) return /^\S+/.exec(rest)?.[0];
  let out = '';
  for (let i = 1; i < rest.length; i++) {
    const c = rest[i];
    if (c === '\\') {
      const next = rest[i + 1];
      if (next === undefined) return undefined;
      out += next === 'n' ? '\n' : next === 't' ? '\t' : next;
      i++;
    } else if (c === "'") {
      if (rest[i + 1] !== "'") return out;
      out += "'";
      i++;
    } else out += c;
  }
  return undefined; // an unterminated literal: Snowflake answers a syntax error, no load
}

/** The day folder a COPY INTO reads (the location's next segment under the exports folder), or undefined when it loads the whole folder. */
export function dayFolderOf(sql: string): string | undefined {
  const location = stageLocationOf(sql);
  const prefix = `@mon_stage_azure/${FOLDER}/`;
  if (location === undefined || !location.toLowerCase().startsWith(prefix.toLowerCase())) return undefined;
  const day = location.slice(prefix.length).split('/')[0];
  return day === '' ? undefined : day;
}

/** The stand-in's script for day folders (see demoStageFiles). Register after the folder-wide script. */
export function demoStageScripts(): QueryScript[] {
  return [{ match: (sql) => dayFolderOf(sql) !== undefined, result: (sql) => copyIntoResult(demoStageFiles(dayFolderOf(sql) ?? '')) }];
}
