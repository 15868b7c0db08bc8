/**
 * References to upstream step results in a step: `{ step: 'load', path: 'metrics.rowsLoaded' }`
 * objects, `{steps.load.metrics.rowsLoaded}` placeholders in strings, and `steps.…` in `when`
 * (docs/pipelines.md, section 1). Pure, no imports beyond `when.ts`: the orchestrator uses it to
 * know which values to keep (the referenced paths only) and which to hand each step.
 */
import { parseWhen, whenReferences } from './when';

/** One reference: `key` (`load.metrics.rowsLoaded`) names the value in the run's kept values and in an activity's `upstream`. */
export interface StepRef {
  readonly stepId: string;
  /** From the step's result: `['metrics', 'rowsLoaded']`. */
  readonly path: readonly string[];
  readonly key: string;
  /** Where it sits in the step definition: `['statement', 'binds', 0]`, or `['when']`. */
  readonly at: readonly (string | number)[];
  /** What the place takes: text (a template), a bind (scalar or null), any JSON, or a `when` operand. */
  readonly place: 'text' | 'bind' | 'json' | 'when';
  /** For `when` references, the column in the expression. */
  readonly column?: number;
}

/** `{steps.<id>.<path>}` inside a string. */
export const STEP_PLACEHOLDER = /\{steps\.([A-Za-z][A-Za-z0-9_-]*)\.((?:[A-Za-z_][A-Za-z0-9_]*|\d+)(?:\.(?:[A-Za-z_][A-Za-z0-9_]*|\d+))*)\}/g;

export const refKey = (stepId: string, path: readonly string[]): string => `${stepId}.${path.join('.')}`;

/** A `{ step, path }` reference object (exactly those two keys, both strings). */
export function isStepRefObject(value: unknown): value is { step: string; path: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  const record = value as Record<string, unknown>;
  return keys.length === 2 && typeof record['step'] === 'string' && typeof record['path'] === 'string';
}

const splitPath = (path: string): string[] => (path === '' ? [] : path.split('.'));

/** Every reference to an upstream result in a step (a raw definition is fine: read leniently). */
export function stepRefsOf(step: unknown): StepRef[] {
  const refs: StepRef[] = [];
  const visit = (value: unknown, at: (string | number)[]): void => {
    if (typeof value === 'string') {
      for (const m of value.matchAll(STEP_PLACEHOLDER)) {
        const path = splitPath(m[2] ?? '');
        refs.push({ stepId: m[1] ?? '', path, key: refKey(m[1] ?? '', path), at, place: 'text' });
      }
      return;
    }
    if (Array.isArray(value)) return value.forEach((v, i) => visit(v, [...at, i]));
    if (typeof value !== 'object' || value === null) return;
    if (isStepRefObject(value)) {
      const path = splitPath(value.path);
      const place = at[0] === 'statement' && at[1] === 'binds' ? 'bind' : 'json';
      refs.push({ stepId: value.step, path, key: refKey(value.step, path), at, place });
      return;
    }
    for (const [key, inner] of Object.entries(value)) {
      if (at.length === 0 && (key === 'when' || key === 'id' || key === 'title' || key === 'dependsOn' || key === 'conditions')) continue;
      visit(inner, [...at, key]);
    }
  };
  visit(step, []);
  const when = typeof step === 'object' && step !== null ? (step as { when?: unknown }).when : undefined;
  if (typeof when === 'string') {
    const parsed = parseWhen(when);
    if (parsed.ok) {
      for (const node of whenReferences(parsed.node)) {
        if (node.ref.root !== 'steps') continue;
        refs.push({ stepId: node.ref.stepId, path: node.ref.path, key: refKey(node.ref.stepId, node.ref.path), at: ['when'], place: 'when', column: node.column });
      }
    }
  }
  return refs;
}

/** For each producing step, the paths of its result some step refers to (what the run keeps). */
export function referencedPaths(steps: readonly unknown[]): Map<string, string[][]> {
  const byStep = new Map<string, Map<string, string[]>>();
  for (const step of steps) {
    for (const ref of stepRefsOf(step)) {
      const paths = byStep.get(ref.stepId) ?? new Map<string, string[]>();
      paths.set(ref.key, [...ref.path]);
      byStep.set(ref.stepId, paths);
    }
  }
  return new Map([...byStep].map(([id, paths]) => [id, [...paths.values()]]));
}
