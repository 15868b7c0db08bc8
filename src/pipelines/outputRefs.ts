/**
 * Load-time checks of references to upstream results (docs/pipelines.md, section 1) and of the
 * names in `when` (section 2): the step exists, it is upstream (reachable back through
 * `dependsOn`), the path exists in its result's schema (stepOutputs.ts), and the type fits the
 * place it is used. Each problem names the path at fault.
 */
import { RUN_FACTS } from './runValues';
import type { PipelineDefinition, StepDefinition } from './schema';
import { describeType, isScalarType, orderableWith, resultTypeOf, typeAtPath } from './stepOutputs';
import { stepRefsOf, type StepRef } from './stepRefs';
import { parseWhen, whenComparisons, whenReferences, type WhenNode } from './when';

interface RefIssue {
  readonly path: (string | number)[];
  readonly message: string;
}

/** Every step reachable from `id` back through `dependsOn` (not `id` itself). */
function upstreamOf(steps: readonly StepDefinition[], id: string): Set<string> {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const seen = new Set<string>();
  const stack = [...(byId.get(id)?.dependsOn ?? [])];
  while (stack.length > 0) {
    const next = stack.pop();
    if (next === undefined || seen.has(next)) continue;
    seen.add(next);
    stack.push(...(byId.get(next)?.dependsOn ?? []));
  }
  return seen;
}

function refProblem(pipeline: PipelineDefinition, step: StepDefinition, upstream: Set<string>, ref: StepRef): string | undefined {
  const producer = pipeline.steps.find((s) => s.id === ref.stepId);
  const named = `steps.${ref.key}`;
  if (!producer) return `${named}: unknown step "${ref.stepId}" (steps: ${pipeline.steps.map((s) => s.id).join(', ')})`;
  if (!upstream.has(ref.stepId)) return `${named}: step "${ref.stepId}" is not upstream of "${step.id}": add it to dependsOn (directly or through another step)`;
  const [root] = ref.path;
  if (root !== 'output' && root !== 'metrics') return `${named}: a result path starts with output or metrics`;
  if (producer.forEach !== undefined && !(root === 'metrics' && ref.path.length === 2)) {
    return `${named}: of a forEach step, a reference takes its summed metrics (metrics.<name>); the list of its items' outputs is in the run's record`;
  }
  const found = typeAtPath(resultTypeOf(producer), ref.path);
  if (!found.ok) return `${named}: ${found.message} of a ${producer.kind} step`;
  if (ref.place === 'text' && !isScalarType(found.type, false)) return `${named} is ${describeType(found.type)}: a text template takes a string, number or boolean`;
  if (ref.place === 'bind' && !isScalarType(found.type, true)) return `${named} is ${describeType(found.type)}: a bind takes a string, number, boolean or null`;
  return undefined;
}

/** Ordering comparisons (`<`…) of a reference with a literal of a type its schema cannot hold. */
function comparisonProblems(pipeline: PipelineDefinition, node: WhenNode): string[] {
  return whenComparisons(node).flatMap((cmp) => {
    if (!['<', '<=', '>', '>='].includes(cmp.op)) return [];
    const [ref, literal] = cmp.left.kind === 'ref' ? [cmp.left, cmp.right] : [cmp.right, cmp.left];
    if (ref.kind !== 'ref' || literal.kind !== 'literal' || ref.ref.root !== 'steps') return [];
    const kind = typeof literal.value === 'number' ? 'number' : typeof literal.value === 'string' ? 'string' : undefined;
    const producer = pipeline.steps.find((s) => s.id === (ref.ref as { stepId: string }).stepId);
    if (!producer) return [];
    const found = typeAtPath(resultTypeOf(producer), ref.ref.path);
    if (!found.ok) return [];
    if (kind !== undefined && orderableWith(found.type, kind)) return [];
    return [`"${cmp.op}" at column ${cmp.column} compares ${ref.text} (${describeType(found.type)}) with ${JSON.stringify(literal.value)}: it orders two numbers or two texts`];
  });
}

/** Names in `when` that are not step results: declared parameters and known run facts. */
function whenNameProblems(pipeline: PipelineDefinition, node: WhenNode): string[] {
  const declared = Object.keys(pipeline.parameters);
  return whenReferences(node).flatMap(({ ref, text, column }) => {
    if (ref.root === 'param' && !declared.includes(ref.name)) return [`unknown parameter "${ref.name}" at column ${column} (${declared.length > 0 ? `declared: ${declared.join(', ')}` : 'this pipeline declares no parameters'})`];
    if (ref.root === 'run' && !(RUN_FACTS as readonly string[]).includes(ref.name)) return [`${text} at column ${column}: unknown run value (one of ${RUN_FACTS.join(', ')})`];
    return [];
  });
}

export function outputReferenceProblems(pipeline: PipelineDefinition): RefIssue[] {
  const issues: RefIssue[] = [];
  pipeline.steps.forEach((step, index) => {
    const upstream = upstreamOf(pipeline.steps, step.id);
    for (const ref of stepRefsOf(step)) {
      const problem = refProblem(pipeline, step, upstream, ref);
      if (problem) issues.push({ path: ['steps', index, ...ref.at], message: ref.column === undefined ? problem : `${problem} (column ${ref.column})` });
    }
    if (step.when === undefined) return;
    const parsed = parseWhen(step.when);
    if (!parsed.ok) return;
    for (const message of [...whenNameProblems(pipeline, parsed.node), ...comparisonProblems(pipeline, parsed.node)]) issues.push({ path: ['steps', index, 'when'], message });
  });
  return issues;
}
