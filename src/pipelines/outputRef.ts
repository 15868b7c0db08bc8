/**
 * A reference to a value a step produced: the step's id and a JSON path into its output,
 * `{ output: { step: 'load', path: '$.rowsLoaded' } }`. Used by "pipeline succeeded" triggers to
 * hand an upstream run's results to the downstream run as parameters; made to be reused for step
 * outputs as inputs within a run (issue 23).
 *
 * The path is a member path, not a query: `$`, then `.name`, `['any name']` or `[index]`, so one
 * reference names exactly one value (no wildcards, filters or slices that could yield several). A
 * general JSONPath library would accept those and leave us to refuse them; parsing the subset is
 * a dozen lines and has no expression evaluator to keep safe.
 */
import { z } from 'zod';
import type { Json } from '../core/json';
import { stepId } from './fields';

export type PathPart = string | number;

/** `$.files[0]['row count']` → `['files', 0, 'row count']`; a string describing the problem when it does not parse. */
export function parseJsonPath(path: string): PathPart[] | string {
  if (!path.startsWith('$')) return 'a JSON path starts with $ (e.g. $.rowsLoaded, $.files[0].name)';
  const parts: PathPart[] = [];
  let rest = path.slice(1);
  while (rest.length > 0) {
    const member = /^\.([A-Za-z_$][A-Za-z0-9_$-]*)/.exec(rest);
    const index = /^\[(\d{1,9})\]/.exec(rest);
    const quoted = /^\['((?:[^'\\]|\\.)*)'\]/.exec(rest);
    const match = member ?? index ?? quoted;
    if (!match) return `cannot read ${JSON.stringify(rest)}: use .name, ['name'] or [index] (no wildcards, filters or slices: a reference names one value)`;
    if (member) parts.push(member[1] ?? '');
    else if (index) parts.push(Number(index[1]));
    else parts.push((quoted?.[1] ?? '').replace(/\\(.)/g, '$1'));
    rest = rest.slice(match[0].length);
  }
  return parts;
}

export const jsonPathSchema = z.string().superRefine((path, ctx) => {
  const parsed = parseJsonPath(path);
  if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: `not a JSON path: ${parsed}` });
});

export const outputRefSchema = z.object({ output: z.object({ step: stepId, path: jsonPathSchema.default('$') }).strict() }).strict();
export type OutputRef = z.output<typeof outputRefSchema>;

/** The value at `path` in `value`, or undefined when the path leads nowhere. Own properties only. */
export function valueAtPath(value: Json | undefined, path: string): Json | undefined {
  const parts = parseJsonPath(path);
  if (typeof parts === 'string') return undefined;
  let current: Json | undefined = value;
  for (const part of parts) {
    if (current === null || current === undefined || typeof current !== 'object') return undefined;
    if (Array.isArray(current)) {
      current = typeof part === 'number' ? current[part] : undefined;
    } else {
      const key = String(part);
      current = Object.hasOwn(current, key) ? current[key] : undefined;
    }
  }
  return current;
}
