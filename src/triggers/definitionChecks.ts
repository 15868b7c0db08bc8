/**
 * The load-time checks of a pipeline's triggers that need the pipeline around them (parameters),
 * and those that need the whole catalog (the upstream pipeline, its steps, loops). Like a
 * schedule, a trigger that could never start its pipeline is refused when the definition loads,
 * not discovered when the first event is dropped.
 */
import { resolveParameters } from '../pipelines/parameters';
import type { PipelineDefinition } from '../pipelines/schema';
import { compilePattern, patternProblems } from './pathPattern';

export interface TriggerProblem {
  /** From the pipeline: `['triggers', 0, 'blobCreated', 'path']`. */
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/** A stand-in value of each parameter type, to see whether a trigger's values can start a run. */
function sampleValue(type: string): string | number | boolean {
  return type === 'date' ? '2000-01-01' : type === 'boolean' ? true : type === 'string' ? 'x' : 1;
}

/** Problems of one pipeline's triggers against its declared parameters. */
export function triggerParameterProblems(pipeline: PipelineDefinition): TriggerProblem[] {
  const problems: TriggerProblem[] = [];
  const declared = new Map(Object.entries(pipeline.parameters));
  const known = declared.size > 0 ? `declared: ${[...declared.keys()].join(', ')}` : 'this pipeline declares no parameters';
  const names = new Set<string>();
  pipeline.triggers.forEach((trigger, index) => {
    const at = (...path: (string | number)[]) => ['triggers', index, ...path];
    if (names.has(trigger.name)) problems.push({ path: at('name'), message: `duplicate trigger name "${trigger.name}"` });
    names.add(trigger.name);
    // What a run started by this trigger gets, with a stand-in value for each value the event gives.
    const given = new Map<string, unknown>();
    for (const [name, value] of Object.entries(trigger.parameters)) {
      if (!declared.has(name)) problems.push({ path: at('parameters', name), message: `unknown parameter "${name}" (${known})` });
      given.set(name, typeof value === 'object' ? sampleValue(declared.get(name)?.type ?? 'string') : value);
    }
    if (trigger.blobCreated && patternProblems(trigger.blobCreated.path).length === 0) {
      for (const name of compilePattern(trigger.blobCreated.path).names) {
        const spec = declared.get(name);
        if (!spec) {
          problems.push({ path: at('blobCreated', 'path'), message: `{${name}} names no parameter of this pipeline (${known}): the pattern could never start a run` });
          continue;
        }
        given.set(name, sampleValue(spec.type));
      }
    }
    if (trigger.pipelineSucceeded) {
      for (const [name, value] of Object.entries(trigger.pipelineSucceeded.parameters)) {
        const spec = declared.get(name);
        if (!spec) {
          problems.push({ path: at('pipelineSucceeded', 'parameters', name), message: `unknown parameter "${name}" (${known})` });
          continue;
        }
        given.set(name, typeof value === 'object' ? sampleValue(spec.type) : value);
      }
    }
    // Every required parameter must get a value, and every literal must fit: or no event could start a run.
    const resolved = resolveParameters(pipeline, Object.fromEntries(given), {}, { logicalDate: '2000-01-01' });
    if (!resolved.ok) {
      for (const p of resolved.problems) {
        const name = p.path.replace(/^parameters\./, '');
        if (!declared.has(name)) continue; // reported above
        const missing = /required .* is missing/.test(p.message);
        problems.push({
          path: at('parameters', name),
          message: missing ? `${p.message}: this trigger could never start a run; give it a value in the trigger's parameters${trigger.blobCreated ? ' or a {placeholder} in its path' : ''}, or a default` : p.message,
        });
      }
    }
  });
  return problems;
}

/** Problems of the catalog's pipeline triggers: an unknown upstream or step, and chains that loop. */
export function catalogTriggerProblems(pipelines: readonly PipelineDefinition[]): { readonly pipeline: string; readonly problem: TriggerProblem }[] {
  const byName = new Map(pipelines.map((p) => [p.name, p]));
  const found: { pipeline: string; problem: TriggerProblem }[] = [];
  const downstream = new Map<string, string[]>();
  for (const pipeline of pipelines) {
    pipeline.triggers.forEach((trigger, index) => {
      const on = trigger.pipelineSucceeded;
      if (!on) return;
      const upstream = byName.get(on.pipeline);
      if (!upstream) {
        found.push({ pipeline: pipeline.name, problem: { path: ['triggers', index, 'pipelineSucceeded', 'pipeline'], message: `unknown pipeline "${on.pipeline}" (known: ${[...byName.keys()].join(', ')})` } });
        return;
      }
      for (const [name, value] of Object.entries(on.parameters)) {
        if (typeof value !== 'object') continue;
        if ('output' in value && !upstream.steps.some((s) => s.id === value.output.step)) {
          found.push({ pipeline: pipeline.name, problem: { path: ['triggers', index, 'pipelineSucceeded', 'parameters', name, 'output', 'step'], message: `pipeline "${upstream.name}" has no step "${value.output.step}" (steps: ${upstream.steps.map((s) => s.id).join(', ')})` } });
        }
        if ('upstreamParam' in value && !Object.hasOwn(upstream.parameters, value.upstreamParam)) {
          found.push({ pipeline: pipeline.name, problem: { path: ['triggers', index, 'pipelineSucceeded', 'parameters', name, 'upstreamParam'], message: `pipeline "${upstream.name}" declares no parameter "${value.upstreamParam}"` } });
        }
      }
      if (trigger.enabled) downstream.set(upstream.name, [...(downstream.get(upstream.name) ?? []), pipeline.name]);
    });
  }
  // A chain of enabled triggers that comes back to where it started would run forever.
  for (const pipeline of pipelines) {
    const loop = loopFrom(pipeline.name, downstream);
    if (loop) {
      const index = pipeline.triggers.findIndex((t) => t.enabled && t.pipelineSucceeded?.pipeline === loop.at(-2));
      found.push({ pipeline: pipeline.name, problem: { path: ['triggers', Math.max(0, index), 'pipelineSucceeded', 'pipeline'], message: `pipeline triggers loop: ${loop.join(' → ')} would start each other forever` } });
    }
  }
  return found;
}

/** The shortest chain `start → … → start` of downstream pipelines, if there is one (also pipeline steps' calls: src/steps/pipeline/checks.ts). */
export function loopFrom(start: string, downstream: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const queue: string[][] = [[start]];
  const seen = new Set<string>();
  while (queue.length > 0) {
    const path = queue.shift() ?? [];
    const last = path.at(-1) ?? start;
    for (const next of downstream.get(last) ?? []) {
      if (next === start) return [...path, next];
      if (seen.has(next)) continue;
      seen.add(next);
      queue.push([...path, next]);
    }
  }
  return undefined;
}
