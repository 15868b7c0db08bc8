/** The CLI's project and tag filters, and the PROJECT column of its listings (runs, pipelines, schedules, backfills). */
import type { Command } from 'commander';
import { table } from './table';

/** `--project` (any of them) and `--tag` (every one), repeatable, as the API takes them. */
export interface ProjectFilters {
  project?: string[];
  tag?: string[];
}

/** Commander's accumulator for a repeatable option. */
export const collect = (value: string, all: string[] = []): string[] => [...all, value];

/**
 * A table whose PROJECT column shows only when the rows span several projects (or a project was
 * asked for), so an app with one project prints what it always printed.
 */
export function withProjectColumn(headers: string[], rows: (string | undefined)[][], projectOf: (index: number) => string, asked: boolean): string {
  const projects = new Set(rows.map((_, i) => projectOf(i)));
  if (!asked && projects.size <= 1) return table(headers, rows);
  return table(['PROJECT', ...headers], rows.map((r, i) => [projectOf(i), ...r]));
}

export function withProjectFilters(command: Command, what: string): Command {
  return command
    .option('--project <name>', `only ${what} of this project (repeatable: any of them)`, collect)
    .option('--tag <tag>', `only ${what} carrying this tag (repeatable: every one of them)`, collect);
}
