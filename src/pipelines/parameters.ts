/**
 * Run parameters, validated against a pipeline's declared parameters: unknown names are refused
 * (a typo must not be silently ignored), defaults fill what is omitted, required ones (no default)
 * must be given.
 */
import { z } from 'zod';
import type { JsonObject } from '../core/json';
import { isPrototypeMember, reservedNameMessage } from './names';
import type { ParameterSpec, PipelineDefinition } from './schema';

function schemaFor(spec: ParameterSpec): z.ZodType {
  switch (spec.type) {
    case 'string':
      return spec.enum ? z.enum(spec.enum as [string, ...string[]]) : z.string();
    case 'number': {
      let s = z.number();
      if (spec.min !== undefined) s = s.min(spec.min);
      if (spec.max !== undefined) s = s.max(spec.max);
      return s;
    }
    case 'integer': {
      let s = z.number().int();
      if (spec.min !== undefined) s = s.min(spec.min);
      if (spec.max !== undefined) s = s.max(spec.max);
      return s;
    }
    case 'boolean':
      return z.boolean();
    case 'date':
      // zod's ISO date checks the calendar too (month lengths, leap years): 2026-02-30 is refused.
      return z.iso.date('expected a calendar date as YYYY-MM-DD');
  }
}

export interface ParameterProblem {
  readonly path: string;
  readonly message: string;
}

export type ParameterResult =
  | { readonly ok: true; readonly parameters: JsonObject }
  | { readonly ok: false; readonly problems: ParameterProblem[] };

/** Validates `given` (layered over `overrides`, e.g. a schedule's) and fills defaults. */
export function resolveParameters(pipeline: PipelineDefinition, given: unknown, overrides: JsonObject = {}): ParameterResult {
  if (given !== undefined && (typeof given !== 'object' || given === null || Array.isArray(given))) {
    return { ok: false, problems: [{ path: 'parameters', message: 'expected an object of parameter values' }] };
  }
  // Own keys only, in a Map: a name like `constructor` must read as "not given", never as
  // Object.prototype's member (validation refuses such names; this keeps lookups honest anyway).
  const values = new Map<string, unknown>([...Object.entries(overrides), ...Object.entries((given ?? {}) as Record<string, unknown>)]);
  const declared = new Map(Object.entries(pipeline.parameters));
  const problems: ParameterProblem[] = [];
  const parameters: [string, JsonObject[string]][] = [];
  for (const name of values.keys()) {
    if (isPrototypeMember(name)) problems.push({ path: `parameters.${name}`, message: reservedNameMessage('parameter', name) });
    else if (!declared.has(name)) {
      const known = [...declared.keys()];
      problems.push({ path: `parameters.${name}`, message: `unknown parameter${known.length ? ` (known: ${known.join(', ')})` : ' (this pipeline takes none)'}` });
    }
  }
  for (const [name, spec] of declared) {
    const value = values.get(name) ?? spec.default;
    if (value === undefined) {
      problems.push({ path: `parameters.${name}`, message: `required ${spec.type} parameter is missing` });
      continue;
    }
    const parsed = schemaFor(spec).safeParse(value);
    if (parsed.success) parameters.push([name, parsed.data as JsonObject[string]]);
    else problems.push(...parsed.error.issues.map((i) => ({ path: `parameters.${name}`, message: i.message })));
  }
  // Object.fromEntries defines own properties, whatever the name.
  return problems.length === 0 ? { ok: true, parameters: Object.fromEntries(parameters) } : { ok: false, problems };
}
