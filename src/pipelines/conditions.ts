/**
 * Dependency conditions and `when` (docs/pipelines.md, section 2): the schema of the two step
 * fields and their load-time checks. The engine's rule is in src/engine/dag.ts (`dependencyVerdict`),
 * the expression language in when.ts.
 */
import { z } from 'zod';
import { parseWhen } from './when';

/** What a dependency waits for. `succeeded` is the default, and what a plain `dependsOn` means. */
export const DEPENDENCY_CONDITIONS = ['succeeded', 'failed', 'completed', 'skipped'] as const;
export type DependencyCondition = (typeof DEPENDENCY_CONDITIONS)[number];

/** `conditions: { load: 'failed' }`: per dependency named in `dependsOn`. */
export const conditionsSchema = z.record(z.string(), z.enum(DEPENDENCY_CONDITIONS));

/** A `when` expression: it must parse (its names are checked with the whole pipeline, outputRefs.ts). */
export const whenSchema = z
  .string()
  .min(1)
  .superRefine((text, ctx) => {
    const parsed = parseWhen(text);
    if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.message });
  });

interface ConditionIssue {
  readonly path: (string | number)[];
  readonly message: string;
}

/** A condition on a step that is not among the step's dependencies (read leniently from raw steps). */
export function conditionProblems(steps: unknown): ConditionIssue[] {
  if (!Array.isArray(steps)) return [];
  return steps.flatMap((raw: unknown, index) => {
    if (typeof raw !== 'object' || raw === null) return [];
    const { dependsOn, conditions } = raw as { dependsOn?: unknown; conditions?: unknown };
    if (typeof conditions !== 'object' || conditions === null) return [];
    const deps = Array.isArray(dependsOn) ? dependsOn.filter((d): d is string => typeof d === 'string') : [];
    return Object.keys(conditions).flatMap((id) =>
      deps.includes(id) ? [] : [{ path: ['steps', index, 'conditions', id], message: `"${id}" is not in this step's dependsOn (${deps.length > 0 ? deps.join(', ') : 'none'}): add it there` }],
    );
  });
}
