import type { z } from 'zod';
import { pipelineSchema, type PipelineDefinition } from './schema';
import { checkStepGraph } from './graph';
import { checkStepReferences } from './runValues';
import { reservedNameMessage, reservedOwnKeys } from './names';
import { resolveParameters } from './parameters';
import { conditionProblems } from './conditions';
import { outputReferenceProblems } from './outputRefs';
import { triggerParameterProblems } from '../triggers/definitionChecks';
import { forEachProblems } from './forEach';

export interface DefinitionProblem {
  /** `data-pipeline.steps[1].retry.delays[0]` */
  readonly path: string;
  readonly message: string;
}

export type ValidationResult =
  | { readonly ok: true; readonly pipeline: PipelineDefinition }
  | { readonly ok: false; readonly problems: DefinitionProblem[] };

/** `['steps', 1, 'retry']` under `data-pipeline` → `data-pipeline.steps[1].retry`. */
export function formatPath(root: string, path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (text, key) => (typeof key === 'number' ? `${text}[${key}]` : `${text}.${String(key)}`),
    root,
  );
}

/** Every problem of a definition at once: field rules and graph rules together. */
export function validatePipeline(input: unknown): ValidationResult {
  const root =
    typeof input === 'object' && input !== null && typeof (input as { name?: unknown }).name === 'string'
      ? (input as { name: string }).name
      : 'pipeline';
  const parsed = pipelineSchema.safeParse(input);
  const graph = checkStepGraph(typeof input === 'object' && input !== null ? (input as { steps?: unknown }).steps : undefined);
  const problems: DefinitionProblem[] = [
    ...(parsed.success ? [] : parsed.error.issues.flatMap(explainUnion).map((i) => ({ path: formatPath(root, i.path), message: i.message }))),
    ...graph.map((g) => ({ path: formatPath(root, g.path), message: g.message })),
    ...conditionProblems(typeof input === 'object' && input !== null ? (input as { steps?: unknown }).steps : undefined).map((c) => ({ path: formatPath(root, c.path), message: c.message })),
    ...(parsed.success && graph.length === 0 ? outputReferenceProblems(parsed.data).map((r) => ({ path: formatPath(root, r.path), message: r.message })) : []),
    ...(parsed.success ? forEachProblems(parsed.data).map((r) => ({ path: formatPath(root, r.path), message: r.message })) : []),
    ...(parsed.success ? referenceProblems(parsed.data).map((r) => ({ path: formatPath(root, r.path), message: r.message })) : []),
    ...(parsed.success ? scheduleParameterProblems(parsed.data).map((r) => ({ path: formatPath(root, r.path), message: r.message })) : []),
    ...(parsed.success ? triggerParameterProblems(parsed.data).map((r) => ({ path: formatPath(root, r.path), message: r.message })) : []),
    ...reservedParameterNames(input).map((r) => ({ path: formatPath(root, r.path), message: r.message })),
  ];
  if (parsed.success && problems.length === 0) return { ok: true, pipeline: parsed.data };
  return { ok: false, problems: dedupe(problems) };
}

/** Run values (`{ param: 'day' }`, `'{run.id}'`) checked against the declared parameters, per step. */
function referenceProblems(pipeline: PipelineDefinition): FlatIssue[] {
  const declared = Object.keys(pipeline.parameters);
  return pipeline.steps.flatMap((step, index) => checkStepReferences(step, declared).map((r) => ({ path: ['steps', index, ...r.path], message: r.message })));
}

/**
 * A schedule must be able to start its pipeline: every parameter gets a valid value from the
 * schedule, a default, or the slot (`default: { run: 'logicalDate' }`). Otherwise every slot would
 * fail to start, long after the definition was accepted.
 */
function scheduleParameterProblems(pipeline: PipelineDefinition): FlatIssue[] {
  return pipeline.schedules.flatMap((schedule, index) => {
    // Any slot's date will do: the check is whether a value exists and fits, not which.
    const resolved = resolveParameters(pipeline, undefined, schedule.parameters, { logicalDate: '2000-01-01' });
    if (resolved.ok) return [];
    return resolved.problems.map((p) => {
      const name = p.path.replace(/^parameters\./, '');
      const missing = /required .* is missing/.test(p.message);
      return {
        path: ['schedules', index, 'parameters', name],
        message: missing
          ? `${p.message}: this schedule could never start a run; set parameters: { ${name}: … } on the schedule, or give the parameter a default${pipeline.parameters[name]?.type === 'date' ? " (default: { run: 'logicalDate' } takes the slot's date)" : ''}`
          : p.message,
      };
    });
  });
}

/**
 * Parameter names that are Object.prototype members, declared or set by a schedule. Read from the
 * raw input because zod's record parser drops an own `__proto__` key without a word.
 */
function reservedParameterNames(input: unknown): FlatIssue[] {
  if (typeof input !== 'object' || input === null) return [];
  const { parameters, schedules } = input as { parameters?: unknown; schedules?: unknown };
  const issues: FlatIssue[] = reservedOwnKeys(parameters).map((name) => ({ path: ['parameters', name], message: reservedNameMessage('parameter', name) }));
  if (Array.isArray(schedules)) {
    schedules.forEach((schedule: unknown, index) => {
      const given = typeof schedule === 'object' && schedule !== null ? (schedule as { parameters?: unknown }).parameters : undefined;
      for (const name of reservedOwnKeys(given)) issues.push({ path: ['schedules', index, 'parameters', name], message: reservedNameMessage('parameter', name) });
    });
  }
  return issues;
}

interface FlatIssue {
  readonly path: PropertyKey[];
  readonly message: string;
}

/** A union branch that failed only because the value had another type: not what the user meant. */
function isTypeMismatch(issues: readonly z.core.$ZodIssue[]): boolean {
  return issues.every(
    (i) => i.path.length === 0 && (i.code === 'invalid_type' || (i.code === 'invalid_union' && i.errors.every(isTypeMismatch))),
  );
}

/**
 * zod reports a failed union as one "Invalid input" at the union. Where one branch matched the
 * value's shape (a list for a list of delays), its own problems are the useful ones: report those.
 */
function explainUnion(issue: z.core.$ZodIssue): FlatIssue[] {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return [{ path: issue.path, message: issue.message }];
  const branch = issue.errors.find((b) => !isTypeMismatch(b));
  if (!branch) return [{ path: issue.path, message: 'Invalid input: not any of the accepted forms' }];
  return branch.flatMap((inner) => explainUnion({ ...inner, path: [...issue.path, ...inner.path] }));
}

function dedupe(problems: DefinitionProblem[]): DefinitionProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.path}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export class PipelineValidationError extends Error {
  override readonly name = 'PipelineValidationError';
  constructor(readonly problems: DefinitionProblem[]) {
    super(`invalid pipeline definition (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` + problems.map((p) => `  ${p.path}: ${p.message}`).join('\n'));
  }
}
