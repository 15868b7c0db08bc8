/**
 * Run values a step can take: a run parameter (`{ param: 'day' }`), a fact of the run
 * (`{ run: 'id' | 'logicalDate' | 'scheduledFor' }`), or a string template that holds them
 * (`'orders/{param.day}/'`, `'{run.id}'`). No expressions and no code: a placeholder is a name,
 * nothing else. Only some fields take them (TEMPLATE_FIELDS): a reference anywhere else is refused
 * when the definition loads, so SQL text, URLs and secret names are never built from run input.
 *
 * Where a value lands decides how it is made safe: COPY INTO's stage path becomes a quoted string
 * literal (copyInto.ts), SQL binds go to Snowflake as bind variables, the export's body and dbt's
 * vars are JSON.
 */
import { z } from 'zod';
import { PermanentError } from '../core/errors';
import type { Json, JsonObject } from '../core/json';
import { isStepRefObject, refKey, STEP_PLACEHOLDER } from './stepRefs';

export const RUN_FACTS = ['id', 'logicalDate', 'scheduledFor'] as const;
export type RunFact = (typeof RUN_FACTS)[number];

const PARAMETER_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const paramRefSchema = z.object({ param: z.string().regex(PARAMETER_NAME, 'parameter names are identifiers') }).strict();
export const runRefSchema = z.object({ run: z.enum(RUN_FACTS) }).strict();
/** `{ step: 'load', path: 'metrics.rowsLoaded' }`: a value of an upstream step's result (docs/pipelines.md). */
export const stepRefSchema = z
  .object({
    step: z.string().min(1),
    path: z.string().regex(/^(?:output|metrics)(?:\.(?:[A-Za-z_][A-Za-z0-9_]*|\d+))*$/, "a result path starts with output or metrics: 'output.files.0', 'metrics.rowsLoaded'"),
  })
  .strict();
/** `{ item: 'table' }` (a field of the current item of a forEach step) or `{ item: '' }` (the item itself). */
export const itemRefSchema = z.object({ item: z.string().regex(/^(?:[A-Za-z_][A-Za-z0-9_]*)?$/, 'an item field is an identifier, or empty for the item itself') }).strict();
/** `{ param: 'day' }`, `{ run: 'logicalDate' }`, `{ step, path }` or `{ item }`: replaced by the value when the step runs. */
export const valueRefSchema = z.union([paramRefSchema, runRefSchema, stepRefSchema, itemRefSchema]);
export type ValueRef = z.infer<typeof valueRefSchema>;

/** `{param.day}` or `{run.id}`; any other brace is plain text. */
const PLACEHOLDER = /\{(param|run)\.([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** What a step's references resolve against; all of it is in the step activity's input. */
export interface RunValues {
  readonly runId: string;
  readonly parameters: JsonObject;
  readonly trigger: { readonly scheduledFor?: string | undefined; readonly requestedAt?: string | undefined };
  /** The upstream values this step refers to, by `<stepId>.<path>` (the run hands them over: engine/referenced.ts). */
  readonly upstream?: Readonly<Record<string, Json>> | undefined;
  /** The current item of a forEach step. */
  readonly item?: Json | undefined;
}

/**
 * Where each step kind takes run values: the fields at these paths from the step, and anything
 * below them. COPY INTO's `path` takes templates only (the schema wants a string there); binds,
 * the export's body and dbt's vars take both forms.
 */
const TEMPLATE_FIELDS: Readonly<Record<string, readonly (readonly string[])[]>> = {
  azureFunction: [['body']],
  snowflake: [['statement', 'copyInto', 'path'], ['statement', 'binds']],
  dbt: [['vars']],
  activity: [['input']],
  waitFor: [['blob', 'path']],
  approval: [['message']],
  pipeline: [['parameters']],
};

export interface ReferenceProblem {
  /** From the step: `['statement', 'copyInto', 'path']`. */
  readonly path: readonly (string | number)[];
  readonly message: string;
}

function isRefObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  if (isStepRefObject(value)) return true;
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === 'param' || keys[0] === 'run' || keys[0] === 'item');
}

function takesValues(kind: string, path: readonly (string | number)[]): boolean {
  // What a forEach step maps over: a parameter or an upstream result (forEach.ts checks which).
  if (path.length === 2 && path[0] === 'forEach' && path[1] === 'items') return true;
  return (TEMPLATE_FIELDS[kind] ?? []).some((field) => field.every((part, i) => path[i] === part));
}

/**
 * Every reference in a step: unknown parameters, unknown run facts, and references in fields that
 * do not take them. `declared` are the pipeline's parameter names.
 */
export function checkStepReferences(step: { readonly kind: string }, declared: readonly string[]): ReferenceProblem[] {
  const problems: ReferenceProblem[] = [];
  const known = declared.length > 0 ? `declared: ${declared.join(', ')}` : 'this pipeline declares no parameters';
  const checkName = (kind: string, name: string, path: readonly (string | number)[]): void => {
    if (kind === 'param' && !declared.includes(name)) problems.push({ path, message: `unknown parameter "${name}" (${known})` });
    if (kind === 'item') return;
    if (kind === 'run' && !(RUN_FACTS as readonly string[]).includes(name)) problems.push({ path, message: `unknown run value "${name}" (one of ${RUN_FACTS.join(', ')})` });
  };
  const visit = (value: unknown, path: (string | number)[]): void => {
    if (typeof value === 'string') {
      const found = [...value.matchAll(PLACEHOLDER), ...value.matchAll(STEP_PLACEHOLDER), ...value.matchAll(ITEM_PLACEHOLDER)];
      if (found.length === 0) return;
      if (!takesValues(step.kind, path)) {
        problems.push({ path, message: `"${found[0]?.[0] ?? ''}": run values are not taken here (${whereTaken(step.kind)})` });
        return;
      }
      for (const m of value.matchAll(PLACEHOLDER)) checkName(m[1] ?? '', m[2] ?? '', path);
      return;
    }
    if (Array.isArray(value)) return value.forEach((v, i) => visit(v, [...path, i]));
    if (typeof value !== 'object' || value === null) return;
    if (isStepRefObject(value)) {
      // Upstream, path and type are checked by outputRefs.ts; here only where it stands.
      if (!takesValues(step.kind, path)) problems.push({ path, message: `{ step: '${value.step}', path: '${value.path}' }: values are not taken here (${whereTaken(step.kind)})` });
      return;
    }
    if (isRefObject(value)) {
      const [kind, name] = Object.entries(value)[0] ?? [];
      // COPY INTO's path is a string: a reference object there is a type error the schema reports.
      if (typeof name === 'string' && kind !== undefined && takesValues(step.kind, path)) {
        checkName(kind, name, path);
        return;
      }
      if (typeof name === 'string' && kind !== undefined && path.length > 0) {
        problems.push({ path, message: `{ ${kind}: '${name}' }: run values are not taken here (${whereTaken(step.kind)})` });
        return;
      }
    }
    for (const [key, inner] of Object.entries(value)) visit(inner, [...path, key]);
  };
  visit(step, []);
  return problems;
}

function whereTaken(kind: string): string {
  const fields = TEMPLATE_FIELDS[kind];
  if (!fields) return `${kind} steps take none; they get the run's parameters in their input`;
  return `${kind} steps take them in ${fields.map((f) => f.join('.')).join(', ')}`;
}

/**
 * A run lacks a value its step refers to (the definition changed under a running run): retrying
 * cannot help.
 */
export class MissingRunValueError extends PermanentError {
  constructor(message: string) {
    super(message, { code: 'config' });
  }
}

/**
 * The run's value for one reference. `logicalDate` is the UTC date of the scheduled slot, or of
 * the request for a run nobody scheduled; `scheduledFor` is that instant itself.
 */
export function runValue(ref: ValueRef, values: RunValues): Json {
  if ('step' in ref) return upstreamValue(refKey(ref.step, ref.path.split('.')), values);
  if ('item' in ref) return itemValue(ref.item, values);
  if ('param' in ref) {
    const value = values.parameters[ref.param];
    if (value === undefined) throw new MissingRunValueError(`the run has no value for parameter "${ref.param}"`);
    return value;
  }
  if (ref.run === 'id') return values.runId;
  const instant = values.trigger.scheduledFor ?? values.trigger.requestedAt;
  if (instant === undefined) throw new MissingRunValueError(`the run has no ${ref.run}: it was neither scheduled nor stamped when requested`);
  return ref.run === 'scheduledFor' ? instant : instant.slice(0, 10);
}

/** An upstream value the run handed over; missing means the producing step's result had no such path. */
function upstreamValue(key: string, values: RunValues): Json {
  const value = values.upstream !== undefined && Object.hasOwn(values.upstream, key) ? values.upstream[key] : undefined;
  if (value === undefined) throw new MissingRunValueError(`steps.${key}: the step's result has no such value (did it succeed?)`);
  return value;
}

/** The current item, or one field of it. */
function itemValue(field: string, values: RunValues): Json {
  const item = values.item;
  if (item === undefined) throw new MissingRunValueError('{item}: this step runs no item (it has no forEach)');
  if (field === '') return item;
  const value = typeof item === 'object' && item !== null && !Array.isArray(item) && Object.hasOwn(item, field) ? item[field] : undefined;
  if (value === undefined) throw new MissingRunValueError(`{item.${field}}: the item ${JSON.stringify(item).slice(0, 80)} has no field "${field}"`);
  return value;
}

/** `{item}` or `{item.field}`. */
const ITEM_PLACEHOLDER = /\{item(?:\.([A-Za-z_][A-Za-z0-9_]*))?\}/g;

const asText = (value: Json): string => (typeof value === 'string' ? value : JSON.stringify(value));

/** `{param.x}`, `{run.x}` or `{steps.id.path}`, in one pass so a value's own text is never expanded again. */
const ANY_PLACEHOLDER = new RegExp(`${PLACEHOLDER.source}|${STEP_PLACEHOLDER.source}|${ITEM_PLACEHOLDER.source}`, 'g');

/** A template with each `{param.x}` / `{run.x}` / `{steps.id.path}` replaced by the value's text. */
export function fillTemplate(template: string, values: RunValues): string {
  return template.replace(ANY_PLACEHOLDER, (whole: string, kind: string | undefined, name: string | undefined, stepId: string | undefined, path: string | undefined, field: string | undefined) => {
    if (stepId !== undefined && path !== undefined) return asText(upstreamValue(refKey(stepId, path.split('.')), values));
    if (whole.startsWith('{item')) return asText(itemValue(field ?? '', values));
    return asText(runValue(kind === 'param' ? { param: name ?? '' } : ({ run: name ?? '' } as ValueRef), values));
  });
}

/** A JSON value with every reference object and template string in it resolved. */
export function fillJson(value: Json, values: RunValues): Json {
  if (typeof value === 'string') return fillTemplate(value, values);
  if (Array.isArray(value)) return value.map((v) => fillJson(v, values));
  if (typeof value !== 'object' || value === null) return value;
  const ref = valueRefSchema.safeParse(value);
  if (ref.success) return runValue(ref.data, values);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillJson(v, values)]));
}
