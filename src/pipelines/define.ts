import type { PipelineInput } from './schema';

/**
 * Declares a pipeline with full type checking in the editor. Validation happens once for all
 * pipelines when the catalog loads (`loadCatalog`), so one start-up lists every problem of every
 * definition instead of stopping at the first file.
 */
export function definePipeline<const T extends PipelineInput>(input: T): T {
  return input;
}
