/**
 * Load-time checks of pipeline steps that need the whole catalog: the child pipeline exists, it is
 * in the caller's project, the parameters fit the child's declared ones, and no chain of pipeline
 * steps comes back to where it started (a → b → a would start runs forever). Each problem names
 * the path at fault, from the calling pipeline.
 */
import { resolveParameters } from '../../pipelines/parameters';
import type { ParameterSpec, PipelineDefinition, StepDefinition } from '../../pipelines/schema';
import { describeType, resultTypeOf, typeAtPath, type OutputType } from '../../pipelines/stepOutputs';
import { isStepRefObject } from '../../pipelines/stepRefs';
import { loopFrom } from '../../triggers/definitionChecks';

export interface CatalogProblem {
  readonly pipeline: string;
  readonly path: readonly (string | number)[];
  readonly message: string;
}

type PipelineStepOf<S> = S extends { kind: 'pipeline' } ? S : never;
type CallStep = PipelineStepOf<StepDefinition>;

function callsOf(pipeline: PipelineDefinition): { step: CallStep; index: number }[] {
  return pipeline.steps.flatMap((step, index) => (step.kind === 'pipeline' ? [{ step, index }] : []));
}

/** A value that stands for a given parameter of each type, to see whether the child could start. */
function sample(type: ParameterSpec['type']): string | number | boolean | unknown[] {
  return type === 'date' ? '2000-01-01' : type === 'boolean' ? true : type === 'string' ? 'x' : type === 'list' ? [] : 1;
}

/** Whether a value of `type` (a parent's parameter or an upstream result) can be a child parameter of type `want`. */
function fits(type: ParameterSpec['type'] | OutputType, want: ParameterSpec['type']): boolean {
  let here: ParameterSpec['type'] | OutputType = type;
  while (typeof here === 'object' && 'nullable' in here) here = here.nullable;
  if (here === 'any') return true;
  if (typeof here === 'object') return 'list' in here ? want === 'list' : false;
  if (want === 'number') return here === 'number' || here === 'integer';
  if (want === 'string') return here === 'string' || here === 'date';
  if (want === 'date') return here === 'date' || here === 'string';
  return here === want;
}

const typeWord = (type: ParameterSpec['type'] | OutputType): string => (typeof type === 'string' ? type : describeType(type));

/** What a reference object (or template) given as a child parameter holds, when it can be known. */
function givenType(parent: PipelineDefinition, value: unknown): ParameterSpec['type'] | OutputType | 'template' | undefined {
  if (typeof value === 'string') return /\{(?:param|run|steps|item)[.}]/.test(value) ? 'template' : undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  if (isStepRefObject(value)) {
    const producer = parent.steps.find((s) => s.id === value.step);
    if (!producer) return 'any'; // reported by outputRefs.ts
    const at = typeAtPath(resultTypeOf(producer), value.path.split('.'));
    return at.ok ? at.type : 'any';
  }
  const keys = Object.keys(value);
  if (keys.length !== 1) return undefined;
  const [key] = keys;
  const name = (value as Record<string, unknown>)[key ?? ''];
  if (key === 'param' && typeof name === 'string') return parent.parameters[name]?.type ?? 'any';
  if (key === 'run') return name === 'id' ? 'string' : name === 'logicalDate' ? 'date' : 'string';
  if (key === 'item') return 'any';
  return undefined;
}

export function pipelineStepProblems(pipelines: readonly PipelineDefinition[]): CatalogProblem[] {
  const byName = new Map(pipelines.map((p) => [p.name, p]));
  const problems: CatalogProblem[] = [];
  const calls = new Map<string, string[]>();
  for (const parent of pipelines) {
    for (const { step, index } of callsOf(parent)) {
      const at = (...path: (string | number)[]) => ['steps', index, ...path];
      const child = byName.get(step.pipeline);
      if (!child) {
        problems.push({ pipeline: parent.name, path: at('pipeline'), message: `unknown pipeline "${step.pipeline}" (known: ${[...byName.keys()].join(', ')})` });
        continue;
      }
      calls.set(parent.name, [...(calls.get(parent.name) ?? []), child.name]);
      if (child.project !== parent.project) {
        // A child runs with the caller's rights: another project's pipeline would escape its scope.
        problems.push({ pipeline: parent.name, path: at('pipeline'), message: `pipeline "${child.name}" belongs to project "${child.project}", not "${parent.project}": a pipeline step calls pipelines of its own project only` });
        continue;
      }
      const declared = child.parameters;
      const known = Object.keys(declared).length > 0 ? `declared by ${child.name}: ${Object.keys(declared).join(', ')}` : `${child.name} declares no parameters`;
      const given: Record<string, unknown> = {};
      for (const [name, value] of Object.entries(step.parameters)) {
        const spec = Object.hasOwn(declared, name) ? declared[name] : undefined;
        if (!spec) {
          problems.push({ pipeline: parent.name, path: at('parameters', name), message: `unknown parameter "${name}" (${known})` });
          continue;
        }
        const type = givenType(parent, value);
        if (type === undefined) {
          given[name] = value; // a literal: resolveParameters checks it below
          continue;
        }
        if (type === 'template') {
          if (spec.type !== 'string' && spec.type !== 'date') problems.push({ pipeline: parent.name, path: at('parameters', name), message: `a text template gives text: parameter "${name}" of ${child.name} is ${spec.type}` });
        } else if (!fits(type, spec.type)) {
          problems.push({ pipeline: parent.name, path: at('parameters', name), message: `gives ${typeWord(type)}: parameter "${name}" of ${child.name} is ${spec.type}` });
        }
        given[name] = sample(spec.type);
      }
      const resolved = resolveParameters(child, given, {}, { logicalDate: '2000-01-01' });
      if (!resolved.ok) {
        for (const p of resolved.problems) {
          const name = p.path.replace(/^parameters\./, '');
          if (!Object.hasOwn(declared, name)) continue; // reported above
          const missing = /required .* is missing/.test(p.message);
          problems.push({ pipeline: parent.name, path: at('parameters', name), message: missing ? `${p.message}: give it in the step's parameters` : p.message });
        }
      }
    }
  }
  // A chain of calls that comes back to where it started (forEach or not) would start runs forever.
  for (const parent of pipelines) {
    const loop = loopFrom(parent.name, calls);
    if (!loop) continue;
    const index = parent.steps.findIndex((s) => s.kind === 'pipeline' && s.pipeline === loop[1]);
    problems.push({ pipeline: parent.name, path: ['steps', Math.max(0, index), 'pipeline'], message: `pipelines call each other in a cycle: ${loop.join(' → ')}` });
  }
  return problems;
}
