import { resolveParameters } from '../../src/pipelines/parameters';
import { pipelineSchema } from '../../src/pipelines/schema';
import seed from '../../src/pipelines/definitions/data-pipeline';
import type { JsonObject } from '../../src/core/json';

/**
 * The parameters a run of the seed pipeline gets when it is started with none: its declared
 * defaults, as the API fills them. Step contexts built by tests use them, as a real run would.
 */
export function seedDefaultParameters(): JsonObject {
  const resolved = resolveParameters(pipelineSchema.parse(seed), {});
  if (!resolved.ok) throw new Error(`the seed pipeline's parameters need values: ${resolved.problems.map((p) => p.path).join(', ')}`);
  return resolved.parameters;
}
