/**
 * The seed pipeline as the fault suite runs it in real time: polls every second, retries after a
 * second, attempts that give up after seconds (so a hanging service times out within the bench),
 * no pipeline retry (a failure shows as one). The steps, their services and their secrets are the
 * seed's.
 */
import { loadCatalog, type Catalog } from '../../src/pipelines/catalog';
import { pipelineInputs } from '../../src/pipelines/definitions';
import type { PipelineInput } from '../../src/pipelines/schema';

/** Seconds an attempt of a polled step (COPY INTO, dbt) may take before it times out. */
export const FAULT_STEP_TIMEOUT_SECONDS = 12;
/** Seconds the export call may take before it times out. */
export const FAULT_REQUEST_TIMEOUT_SECONDS = 4;

function faultSeed(input: PipelineInput): PipelineInput {
  const copy = structuredClone(input) as PipelineInput & { steps: Record<string, unknown>[]; pipelineRetry?: unknown };
  for (const step of copy.steps) {
    step['pollInterval'] = '1s';
    step['retry'] = { ...(step['retry'] as Record<string, unknown>), delays: '1s' };
    if (step['kind'] === 'azureFunction') step['requestTimeout'] = `${FAULT_REQUEST_TIMEOUT_SECONDS}s`;
    else step['timeout'] = `${FAULT_STEP_TIMEOUT_SECONDS}s`;
  }
  copy.pipelineRetry = { retries: 0 };
  return copy;
}

export function faultCatalog(): Catalog {
  return loadCatalog(pipelineInputs.map((p) => (p.name === 'data-pipeline' ? faultSeed(p) : p)));
}
