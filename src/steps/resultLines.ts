/**
 * What a step's service answered, as run-log lines (`logs --follow`): COPY INTO's per-file
 * results, dbt's per-node status and timing, the export function's answer. Bounded: a run log is
 * capped per run in the store, and one step must not fill it.
 */
import type { Json, JsonObject } from '../core/json';
import { maskCredentialText, maskCredentials } from '../logging/serviceCredentials';
import type { CopyIntoSummary } from './snowflake/copyResult';
import type { DbtNodeResult } from './dbt/runResults';

export interface StepLogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly msg: string;
  readonly fields?: JsonObject;
}

/** Lines one step reports at most; what is left over is counted in a last line. */
export const MAX_RESULT_LINES = 25;
const ANSWER_EXCERPT = 300;

function bounded(lines: StepLogLine[], what: string): StepLogLine[] {
  if (lines.length <= MAX_RESULT_LINES) return lines;
  const kept = lines.slice(0, MAX_RESULT_LINES - 1);
  return [...kept, { level: 'info', msg: `… and ${lines.length - kept.length} more ${what} (see the step's output)` }];
}

/** One line per file (status, rows, errors seen with the first error), then the totals. */
export function copyIntoLines(summary: CopyIntoSummary, queryId: string): StepLogLine[] {
  const files = summary.files.map((f): StepLogLine => {
    const errors = f.errorsSeen > 0 ? `, ${f.errorsSeen} error${f.errorsSeen === 1 ? '' : 's'} seen${f.firstError ? ` (first at line ${f.firstErrorLine ?? '?'}: ${f.firstError})` : ''}` : '';
    return {
      level: f.status === 'LOADED' ? 'info' : 'warn',
      msg: `COPY INTO ${f.file}: ${f.status}, ${f.rowsLoaded} of ${f.rowsParsed} rows loaded${errors}`,
      fields: { file: f.file, status: f.status, rowsParsed: f.rowsParsed, rowsLoaded: f.rowsLoaded, errorsSeen: f.errorsSeen, firstError: f.firstError },
    };
  });
  const total: StepLogLine = {
    level: summary.errorsSeen > 0 || summary.filesFailed > 0 ? 'warn' : 'info',
    msg:
      summary.files.length === 0
        ? `COPY INTO loaded no file: none matched or all were loaded before (query ${queryId})`
        : `COPY INTO: ${summary.files.length} file${summary.files.length === 1 ? '' : 's'} (${summary.filesLoaded} loaded, ${summary.filesPartiallyLoaded} partially, ${summary.filesFailed} failed), ${summary.rowsLoaded} of ${summary.rowsParsed} rows loaded, ${summary.errorsSeen} errors seen (query ${queryId})`,
  };
  return [...bounded(files, 'files'), total];
}

/** One line per dbt node: status and execution time, and dbt's message when it did not succeed. */
export function dbtNodeLines(nodes: readonly DbtNodeResult[], label: string): StepLogLine[] {
  const lines = nodes.map((n): StepLogLine => {
    const ok = n.status === 'success' || n.status === 'pass';
    const time = n.seconds === null ? '' : ` in ${n.seconds.toFixed(1)}s`;
    return {
      level: ok ? 'info' : n.status === 'skipped' || n.status === 'warn' ? 'warn' : 'error',
      msg: `dbt ${n.id}: ${n.status}${time}${!ok && n.message ? ` — ${n.message}` : ''}`,
      fields: { node: n.id, status: n.status, seconds: n.seconds },
    };
  });
  return [...bounded(lines, 'dbt nodes'), { level: 'info', msg: `${label}: ${nodes.length} node${nodes.length === 1 ? '' : 's'} reported in run_results.json` }];
}

/** The export function's answer in one line: its JSON (or text), cut short. */
export function answerLine(what: string, status: number, body: Json | undefined, text: string): StepLogLine {
  // Masked before it is cut: a cut through a credential's value would leave its start readable.
  const shown = body === undefined ? maskCredentialText(text) : JSON.stringify(maskCredentials(body));
  const excerpt = shown.length > ANSWER_EXCERPT ? `${shown.slice(0, ANSWER_EXCERPT - 1)}…` : shown;
  return { level: 'info', msg: `${what} answered ${status}${excerpt ? `: ${excerpt.replace(/\s+/g, ' ')}` : ''}` };
}
