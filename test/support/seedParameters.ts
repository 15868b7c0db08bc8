import { resolveParameters, runFactsAt } from '../../src/pipelines/parameters';
import { pipelineSchema } from '../../src/pipelines/schema';
import seed from '../../src/pipelines/definitions/data-pipeline';
import type { JsonObject } from '../../src/core/json';

/** When the step contexts tests build say their manual run was requested (its logical date: 2026-01-01). */
export const REQUESTED_AT = '2026-01-01T02:00:00.000Z';

/**
 * The parameters a run of the seed pipeline gets when it is started with none at `at`: its declared
 * defaults (`day`: the run's logical date), as the API fills them. Step contexts built by tests use
 * them, as a real run would.
 */
export function seedDefaultParameters(at: Date | string = new Date()): JsonObject {
  const resolved = resolveParameters(pipelineSchema.parse(seed), {}, {}, runFactsAt(at));
  if (!resolved.ok) throw new Error(`the seed pipeline's parameters need values: ${resolved.problems.map((p) => p.path).join(', ')}`);
  return resolved.parameters;
}
