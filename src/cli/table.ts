import { oneLine } from '../core/visibleText';

/** Plain aligned columns for terminals; `--json` prints the data instead. A cell never spans lines. */
export function table(headers: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cells = rows.map((r) => r.map((c) => oneLine(c === undefined || c === null ? '-' : typeof c === 'object' ? JSON.stringify(c) : String(c as string | number | boolean))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

export function seconds(value: number | undefined | null): string {
  if (value === undefined || value === null) return '-';
  if (value < 60) return `${value.toFixed(1)}s`;
  const m = Math.floor(value / 60);
  return m < 60 ? `${m}m${Math.round(value % 60)}s` : `${Math.floor(m / 60)}h${m % 60}m`;
}
