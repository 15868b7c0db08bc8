/**
 * `forEach` (docs/pipelines.md, section 3): the schema of the field and its load-time checks. The
 * items' ids and definitions are in items.ts; the engine's rule in src/engine/items.ts.
 */
import { z } from 'zod';
import { DEFAULT_ITEM_PARALLELISM } from './items';
import { paramRefSchema, stepRefSchema } from './runValues';
import type { PipelineDefinition } from './schema';
import { describeType, resultTypeOf, typeAtPath } from './stepOutputs';

export const forEachSchema = z
  .object({
    /** A parameter of type `list`, or an upstream result whose type is a list. */
    items: z.union([paramRefSchema, stepRefSchema]),
    /** Items in flight at once, within the run's own `maxParallel`. */
    maxParallel: z.number().int().min(1).max(1000).default(DEFAULT_ITEM_PARALLELISM),
    /** `finishOthers` (ADF ForEach): the step fails once every item ended; `failFast`: no item starts after a failure, the step fails at once. */
    onItemFailure: z.enum(['finishOthers', 'failFast']).default('finishOthers'),
  })
  .strict();

interface ForEachIssue {
  readonly path: (string | number)[];
  readonly message: string;
}

/** `{item}` / `{item.x}` / `{ item: 'x' }` anywhere in a step. */
function usesItem(step: unknown): (string | number)[] | undefined {
  let found: (string | number)[] | undefined;
  const visit = (value: unknown, at: (string | number)[]): void => {
    if (found) return;
    if (typeof value === 'string') {
      if (/\{item(?:\.[A-Za-z_][A-Za-z0-9_]*)?\}/.test(value)) found = at;
      return;
    }
    if (Array.isArray(value)) return value.forEach((v, i) => visit(v, [...at, i]));
    if (typeof value !== 'object' || value === null) return;
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === 'item') {
      found = at;
      return;
    }
    for (const [k, v] of Object.entries(value)) visit(v, [...at, k]);
  };
  visit(step, []);
  return found;
}

export function forEachProblems(pipeline: PipelineDefinition): ForEachIssue[] {
  const issues: ForEachIssue[] = [];
  pipeline.steps.forEach((step, index) => {
    if (step.forEach === undefined) {
      const at = usesItem(step);
      if (at) issues.push({ path: ['steps', index, ...at], message: 'the current item is only known in a step with forEach' });
    } else {
      const items = step.forEach.items;
      if ('param' in items) {
        const spec = pipeline.parameters[items.param];
        if (!spec) issues.push({ path: ['steps', index, 'forEach', 'items'], message: `unknown parameter "${items.param}"` });
        else if (spec.type !== 'list') issues.push({ path: ['steps', index, 'forEach', 'items'], message: `parameter "${items.param}" is a ${spec.type}: forEach takes a parameter of type list` });
      } else {
        const producer = pipeline.steps.find((s) => s.id === items.step);
        const found = producer ? typeAtPath(resultTypeOf(producer), items.path.split('.')) : undefined;
        if (found?.ok && found.type !== 'any' && !(typeof found.type === 'object' && 'list' in found.type)) {
          issues.push({ path: ['steps', index, 'forEach', 'items'], message: `steps.${items.step}.${items.path} is ${describeType(found.type)}: forEach takes a list` });
        }
      }
    }
  });
  return issues;
}
