/**
 * Every KQL query the project ships or documents, and what each reads of the app's events.
 * Sources: infra/app/queries/*.kql (embedded by the workbook and the alert rule), the queries in
 * infra/app/workbook.json and in the Bicep files, and every ```kusto / ```kql block in README.md,
 * docs/*.md and infra/**\/*.md.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { EVENT_NAMES, type EventName } from '../../src/logging/events';

export interface KqlSource {
  /** Where it is, e.g. `docs/monitoring.md#2` or `infra/app/workbook.json:runs-per-day`. */
  readonly path: string;
  readonly text: string;
}

function filesUnder(dir: string, suffix: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith(suffix))
    .map((f) => join(dir, f))
    .sort();
}

/** The query files the workbook and the alert embed. */
export function queryFiles(root = '.'): KqlSource[] {
  return filesUnder(join(root, 'infra/app/queries'), '.kql').map((path) => ({ path, text: readFileSync(path, 'utf8') }));
}

/** Fenced ```kusto / ```kql blocks of a Markdown text. */
export function markdownQueries(path: string, markdown: string): KqlSource[] {
  const blocks = [...markdown.matchAll(/^```(?:kusto|kql)[^\n]*\n([\s\S]*?)^```/gim)];
  return blocks.map((m, i) => ({ path: `${path}#${i + 1}`, text: m[1] ?? '' }));
}

/** Inline queries of a Bicep file (`query: '…'`), and the files it loads with loadTextContent. */
function bicepQueries(path: string, bicep: string): KqlSource[] {
  const dir = path.slice(0, path.lastIndexOf('/'));
  const loaded = [...bicep.matchAll(/loadTextContent\('([^']+\.(?:kql|kusto))'\)/g)].map((m) => join(dir, m[1] ?? ''));
  const inline = [...bicep.matchAll(/\bquery:\s*'((?:[^'\\]|\\.|'')*)'/g)].map((m) => (m[1] ?? '').replace(/''/g, "'"));
  return [
    ...loaded.map((file) => ({ path: `${path} → ${file}`, text: readFileSync(file, 'utf8') })),
    ...inline.map((text, i) => ({ path: `${path}#${i + 1}`, text })),
  ];
}

/** Every query shipped or documented. */
export function allQueries(root = '.'): KqlSource[] {
  const workbookPath = join(root, 'infra/app/workbook.json');
  const workbook = JSON.parse(readFileSync(workbookPath, 'utf8')) as { items: { name: string; content: { query?: string } }[] };
  const markdown = [join(root, 'README.md'), ...filesUnder(join(root, 'docs'), '.md'), ...filesUnder(join(root, 'infra'), '.md')].filter((p) => existsSync(p));
  return [
    ...queryFiles(root),
    ...workbook.items.flatMap((item) => (item.content.query === undefined ? [] : [{ path: `${workbookPath}:${item.name}`, text: item.content.query }])),
    ...filesUnder(join(root, 'infra'), '.bicep').flatMap((p) => bicepQueries(p, readFileSync(p, 'utf8'))),
    ...markdown.flatMap((p) => markdownQueries(p, readFileSync(p, 'utf8'))),
  ];
}

export interface EventFieldsRead {
  /** The events the query names (as string literals). */
  readonly events: EventName[];
  /** Each `e.a.b` the query reads of the parsed line (`e = parse_json(message)`), as a path. */
  readonly fields: string[][];
}

/** What a query reads of the app's events; comments are left out. */
export function eventFieldsRead(query: string): EventFieldsRead {
  const code = query.replace(/\/\/[^\n]*/g, '');
  const events = EVENT_NAMES.filter((name) => code.includes(`"${name}"`));
  const seen = new Set<string>();
  for (const m of code.matchAll(/(?<![\w.])e\.([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)/g)) {
    const path = m[1] ?? '';
    if (path !== 'event') seen.add(path);
  }
  return { events, fields: [...seen].sort().map((p) => p.split('.')) };
}

/** Whether a query reads the app's events: it parses the message as the app's JSON line. */
export function readsEvents(query: string): boolean {
  return /\be\s*=\s*parse_json\(\s*message\s*\)/.test(query);
}
