/**
 * Run parameters, validated against a pipeline's declared parameters: unknown names are refused
 * (a typo must not be silently ignored), defaults fill what is omitted, required ones (no default)
 * must be given.
 */
import { z } from 'zod';
import type { JsonObject } from '../core/json';
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
  const values: Record<string, unknown> = { ...overrides, ...(given as Record<string, unknown> | undefined) };
  const problems: ParameterProblem[] = [];
  const parameters: JsonObject = {};
  for (const name of Object.keys(values)) {
    if (!(name in pipeline.parameters)) {
      const known = Object.keys(pipeline.parameters);
      problems.push({ path: `parameters.${name}`, message: `unknown parameter${known.length ? ` (known: ${known.join(', ')})` : ' (this pipeline takes none)'}` });
    }
  }
  for (const [name, spec] of Object.entries(pipeline.parameters)) {
    const value = values[name] ?? spec.default;
    if (value === undefined) {
      problems.push({ path: `parameters.${name}`, message: `required ${spec.type} parameter is missing` });
      continue;
    }
    const parsed = schemaFor(spec).safeParse(value);
    if (parsed.success) parameters[name] = parsed.data as JsonObject[string];
    else problems.push(...parsed.error.issues.map((i) => ({ path: `parameters.${name}`, message: i.message })));
  }
  return problems.length === 0 ? { ok: true, parameters } : { ok: false, problems };
}
