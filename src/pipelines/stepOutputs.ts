/**
 * What each step kind's result holds — its `output` and its `metrics` — as a small type language,
 * so a reference to an upstream result (`{ step: 'load', path: 'metrics.rowsLoaded' }`) is checked
 * when the definition loads: the path must exist, the type must fit where it is used. A step whose
 * answer is the user's (`azureFunction`, `activity`) may declare its output; otherwise `any`.
 * The shapes are those the adapters build (src/steps/snowflake/adapter.ts `succeeded`,
 * src/steps/dbt/cloud.ts, containerAppsJob.ts, copyResult.ts `copyMetrics`, runResults.ts).
 */
import { z } from 'zod';

export type OutputType =
  | 'string'
  | 'number'
  | 'integer'
  | 'boolean'
  | 'any'
  | { readonly list: OutputType }
  | { readonly object: Readonly<Record<string, OutputType>> }
  | { readonly nullable: OutputType };

/** A step's declared `output` (azureFunction, activity). */
export const outputTypeSchema: z.ZodType<OutputType> = z.lazy(() =>
  z.union([
    z.enum(['string', 'number', 'integer', 'boolean', 'any']),
    z.object({ list: outputTypeSchema }).strict(),
    z.object({ object: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'output field names are identifiers'), outputTypeSchema) }).strict(),
    z.object({ nullable: outputTypeSchema }).strict(),
  ]),
);

const int = 'integer' as const;

const COPY_OUTPUT: OutputType = {
  object: {
    queryId: 'string',
    files: { list: { object: { file: 'string', status: 'string', rowsParsed: int, rowsLoaded: int, errorsSeen: int, firstError: { nullable: 'string' } } } },
    filesTotal: int,
  },
};
const COPY_METRICS: OutputType = {
  object: { filesLoaded: int, filesPartiallyLoaded: int, filesFailed: int, rowsParsed: int, rowsLoaded: int, errorsSeen: int, firstError: { nullable: 'string' } },
};
const SQL_OUTPUT: OutputType = { object: { queryId: 'string', rowCount: int, rows: { list: 'any' } } };
const DBT_METRICS: OutputType = { object: { modelsSucceeded: int, modelsErrored: int, modelsSkipped: int, testsPassed: int, testsFailed: int, testsWarned: int } };

/** A pipeline step's result: the child run it started and how it ended (src/steps/pipeline/adapter.ts). */
export const CHILD_RUN_OUTPUT: OutputType = { object: { runId: 'string', pipeline: 'string', status: 'string' } };
const CHILD_RUN_METRICS: OutputType = { object: { childSteps: int, childStepsSucceeded: int } };

/** The fields of a step this module reads: its kind, and what picks among its kind's shapes. */
export interface StepShape {
  readonly kind: string;
  readonly forEach?: unknown;
  readonly output?: OutputType | undefined;
  readonly statement?: unknown;
  readonly runner?: unknown;
}

/** What a step's result holds: `{ output, metrics }`, each a type. */
export function resultTypeOf(step: StepShape): { readonly object: { readonly output: OutputType; readonly metrics: OutputType } } {
  // A forEach step's output is the list of its items' outputs (null for an item that did not succeed); its metrics are the items' summed.
  const result = (output: OutputType, metrics: OutputType) => ({ object: { output: step.forEach === undefined ? output : { list: { nullable: output } }, metrics } });
  switch (step.kind) {
    case 'snowflake':
      return typeof step.statement === 'object' && step.statement !== null && 'copyInto' in step.statement ? result(COPY_OUTPUT, COPY_METRICS) : result(SQL_OUTPUT, { object: { rowCount: int } });
    case 'dbt': {
      const type = typeof step.runner === 'object' && step.runner !== null ? (step.runner as { type?: unknown }).type : undefined;
      return result(type === 'cloud' ? { object: { dbtRunId: 'string', url: 'string' } } : { object: { execution: 'string' } }, DBT_METRICS);
    }
    case 'pipeline':
      return result(CHILD_RUN_OUTPUT, CHILD_RUN_METRICS);
    default:
      return result(step.output ?? 'any', 'any');
  }
}

/** A short description of a type, for messages. */
export function describeType(type: OutputType): string {
  if (typeof type === 'string') return type;
  if ('list' in type) return `list of ${describeType(type.list)}`;
  if ('nullable' in type) return `${describeType(type.nullable)} or null`;
  return 'object';
}

/**
 * The type at `path` inside `type`, or why there is none (the first segment that does not exist).
 * Under `any` every path exists and is `any`; a list takes index segments.
 */
export function typeAtPath(type: OutputType, path: readonly string[]): { readonly ok: true; readonly type: OutputType } | { readonly ok: false; readonly message: string } {
  let here: OutputType = type;
  for (const [i, segment] of path.entries()) {
    while (typeof here === 'object' && 'nullable' in here) here = here.nullable;
    if (here === 'any') return { ok: true, type: 'any' };
    const where = i === 0 ? 'the result' : path.slice(0, i).join('.');
    if (typeof here === 'object' && 'list' in here) {
      if (!/^\d+$/.test(segment)) return { ok: false, message: `${where} is a list: "${segment}" is not an index` };
      here = here.list;
      continue;
    }
    if (typeof here === 'object' && 'object' in here) {
      const fields: Readonly<Record<string, OutputType>> = here.object;
      const next = Object.hasOwn(fields, segment) ? fields[segment] : undefined;
      if (next === undefined) return { ok: false, message: `no field "${segment}" in ${where} (fields: ${Object.keys(fields).join(', ')})` };
      here = next;
      continue;
    }
    return { ok: false, message: `${where} is ${describeType(here)}: it has no "${segment}"` };
  }
  return { ok: true, type: here };
}

/** Whether a value of `type` can stand where only a scalar goes (template text, a bind). */
export function isScalarType(type: OutputType, allowNull: boolean): boolean {
  if (typeof type === 'string') return true; // 'any' is checked when the step runs
  if ('nullable' in type) return allowNull && isScalarType(type.nullable, allowNull);
  return false;
}

/** Whether values of `type` can be ordered against a literal of type `literal` (`<`, `>=`…). */
export function orderableWith(type: OutputType, literal: 'number' | 'string'): boolean {
  let here = type;
  while (typeof here === 'object' && 'nullable' in here) here = here.nullable;
  if (here === 'any') return true;
  if (literal === 'number') return here === 'number' || here === 'integer';
  return here === 'string';
}
