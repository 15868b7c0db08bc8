/**
 * What changed between two versions of a pipeline definition, as a list of paths: what the API,
 * the CLI and the console show next to a run started on an older version than the deployed one.
 * Steps are matched by id (a step moved in the list is not a change of every step after it) and
 * schedules by name; everything else is compared by key, in the definitions' canonical order.
 */
import { stringify as stableJson } from 'safe-stable-stringify';
import type { Json } from '../core/json';
import type { PipelineDefinition } from './schema';

export interface DefinitionChange {
  /** Where: `steps.load.statement.copyInto.table`, `schedules.production-daily.cron`, `timeout`. */
  readonly path: string;
  readonly change: 'added' | 'removed' | 'changed';
  readonly before?: Json;
  readonly after?: Json;
}

/** Lists keyed by a member (steps by id, schedules by name) become objects, so they diff by key. */
const KEYED_LISTS: Readonly<Record<string, string>> = { steps: 'id', schedules: 'name' };

function keyed(definition: PipelineDefinition): Json {
  const plain = JSON.parse(JSON.stringify(definition)) as Record<string, Json>;
  for (const [list, key] of Object.entries(KEYED_LISTS)) {
    const items = plain[list];
    if (!Array.isArray(items)) continue;
    plain[list] = Object.fromEntries(items.map((item, index) => [isObject(item) && typeof item[key] === 'string' ? item[key] : `#${index}`, item]));
  }
  return plain;
}

function isObject(value: Json | undefined): value is { [key: string]: Json } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function walk(before: Json | undefined, after: Json | undefined, path: string, out: DefinitionChange[]): void {
  if (before === undefined && after === undefined) return;
  if (before === undefined) return void out.push({ path, change: 'added', after });
  if (after === undefined) return void out.push({ path, change: 'removed', before });
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    for (const key of keys) walk(before[key], after[key], path === '' ? key : `${path}.${key}`, out);
    return;
  }
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
    before.forEach((item, index) => walk(item, after[index], `${path}[${index}]`, out));
    return;
  }
  // Key order is not a change (a pinned definition comes back from its canonical JSON, keys sorted).
  if (stableJson(before) !== stableJson(after)) out.push({ path, change: 'changed', before, after });
}

/** The changes from `before` to `after`; empty when they are the same definition. */
export function diffDefinitions(before: PipelineDefinition, after: PipelineDefinition): DefinitionChange[] {
  const out: DefinitionChange[] = [];
  walk(keyed(before), keyed(after), '', out);
  return out;
}
