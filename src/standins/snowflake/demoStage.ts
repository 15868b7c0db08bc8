/**
 * What the demo's stage holds, folder by day: `COPY INTO … FROM @mon_stage_azure/chemin/vers/fichiers/<day>`
 * loads that day's files, so the seed pipeline's `day` parameter visibly changes what a run loads.
 * A day with no folder answers as Snowflake does when no file matches: "Copy executed with 0 files
 * processed." The folder itself (no day) holds every file (environment.ts, DEMO_COPY_RESULT).
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

/** The day folder a COPY INTO reads, or undefined when it loads the whole folder. */
export function dayFolderOf(sql: string): string | undefined {
  const match = new RegExp(`^\\s*COPY INTO\\s+\\S+\\s+FROM\\s+'?@mon_stage_azure/${FOLDER}/([^'\\s/]+)`, 'i').exec(sql);
  return match?.[1];
}

/** Scripts for the stand-in: one per known day, and "no files" for any other day. Register after the folder-wide script. */
export function demoStageScripts(): QueryScript[] {
  return [
    { match: (sql) => dayFolderOf(sql) !== undefined, result: copyIntoResult([]) },
    ...Object.entries(DEMO_STAGE_DAYS).map(([day, files]): QueryScript => ({ match: (sql) => dayFolderOf(sql) === day, result: copyIntoResult(files) })),
  ];
}
