/**
 * Run parameters, validated against a pipeline's declared parameters: unknown names are refused
 * (a typo must not be silently ignored), defaults fill what is omitted, required ones (no default)
 * must be given. A date parameter may default to the run's logical date (`default: { run:
 * 'logicalDate' }`, Airflow's `ds`): the scheduled slot's UTC date, or the request's for a manual
 * run. It is filled in when the run starts, so the run carries a plain date like any other value.
 */
import { z } from 'zod';
import type { JsonObject } from '../core/json';
import { isPrototypeMember, reservedNameMessage } from './names';
import type { ParameterSpec, PipelineDefinition } from './schema';
import { MAX_ITEMS } from './items';

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
    case 'list':
      return z.array(z.json()).max(MAX_ITEMS, `at most ${MAX_ITEMS} items`);
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

/** What a run knows when it starts, for defaults taken from the run. */
export interface RunFacts {
  /** `YYYY-MM-DD`: the UTC date of the scheduled slot, or of the request for a manual run. */
  readonly logicalDate?: string;
}

/** The run facts of a run triggered at this instant (a slot, or a request). */
export function runFactsAt(instant: string | Date): RunFacts {
  return { logicalDate: (typeof instant === 'string' ? instant : instant.toISOString()).slice(0, 10) };
}

/** The value a parameter takes when none is given: its default, read from the run if it says so. */
function defaultOf(spec: ParameterSpec, facts: RunFacts | undefined): { value: unknown } | { problem: string } | undefined {
  const fallback = spec.default;
  if (fallback === undefined) return undefined;
  if (typeof fallback !== 'object' || Array.isArray(fallback)) return { value: fallback };
  if (facts?.logicalDate === undefined) return { problem: "defaults to the run's logical date, but the run has none" };
  return { value: facts.logicalDate };
}

/** Validates `given` (layered over `overrides`, e.g. a schedule's) and fills defaults. */
export function resolveParameters(pipeline: PipelineDefinition, given: unknown, overrides: JsonObject = {}, facts?: RunFacts): ParameterResult {
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
    const fallback = values.has(name) ? { value: values.get(name) } : defaultOf(spec, facts);
    if (fallback === undefined || ('value' in fallback && fallback.value === undefined)) {
      problems.push({ path: `parameters.${name}`, message: `required ${spec.type} parameter is missing` });
      continue;
    }
    if ('problem' in fallback) {
      problems.push({ path: `parameters.${name}`, message: fallback.problem });
      continue;
    }
    const value = fallback.value;
    const parsed = schemaFor(spec).safeParse(value);
    if (parsed.success) parameters.push([name, parsed.data as JsonObject[string]]);
    else problems.push(...parsed.error.issues.map((i) => ({ path: `parameters.${name}`, message: i.message })));
  }
  // Object.fromEntries defines own properties, whatever the name.
  return problems.length === 0 ? { ok: true, parameters: Object.fromEntries(parameters) } : { ok: false, problems };
}
