/**
 * Two deploys of the seed pipeline for tests in real time: `v1` polls every second (the seed's
 * 30 s would make a test wait minutes), `v2` also asks the export for another body and loads
 * another table with COPY INTO. Both are visible at the stand-ins (the export function's calls, the
 * Snowflake stand-in's queries), so a test tells which definition each run followed.
 */
import { loadCatalog, type Catalog } from '../../src/pipelines/catalog';
import { pipelineInputs } from '../../src/pipelines/definitions';
import type { PipelineInput } from '../../src/pipelines/schema';

export const V2_EXPORT_BODY = { action: 'export_to_blob', format: 'v2' };
export const V2_TABLE = 'ma_table_v2';

function quickSeedPipeline(input: PipelineInput): PipelineInput & { steps: Record<string, unknown>[] } {
  const copy = structuredClone(input) as PipelineInput & { steps: Record<string, unknown>[] };
  for (const step of copy.steps) step['pollInterval'] = '1s';
  return copy;
}

export function changedSeedPipeline(input: PipelineInput): PipelineInput {
  const copy = quickSeedPipeline(input);
  for (const step of copy.steps) {
    if (step['id'] === 'export') step['body'] = V2_EXPORT_BODY;
    if (step['id'] === 'load') {
      const statement = step['statement'] as { copyInto: Record<string, unknown> };
      statement.copyInto['table'] = V2_TABLE;
    }
  }
  return copy;
}

export function seedCatalog(variant: 'v1' | 'v2'): Catalog {
  const change = variant === 'v1' ? quickSeedPipeline : changedSeedPipeline;
  return loadCatalog(pipelineInputs.map((p) => (p.name === 'data-pipeline' ? change(p) : p)));
}
