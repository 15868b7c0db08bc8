/**
 * The pipelines the fault suite runs in real time: polls every second, retries after a second,
 * attempts that give up after seconds (so a hanging service times out within the bench), no
 * pipeline retry (a failure shows as one).
 *
 * - `data-pipeline`: the seed (export → COPY INTO → dbt in a Container Apps job), its services and
 *   secrets;
 * - `kinds-pipeline`: every other step kind, one after the other — a dbt Cloud job, a user
 *   activity (`faultEffect`, registered by child.ts: its effect is a line in FAULT_EFFECTS), a
 *   waitFor on an HTTP condition (the bench's own server, FAULT_WAIT_URL) and an approval the
 *   bench grants through the API;
 * - `calls-pipeline`: one `pipeline` step (`call`) running `child-pipeline`, whose one step (`work`)
 *   is the user activity (its effect line names the child run). The child's step may run longer
 *   than the parent's (60 s against 12 s), so a child held up outlasts the parent step's timeout.
 */
import { loadCatalog, type Catalog } from '../../src/pipelines/catalog';
import { pipelineInputs } from '../../src/pipelines/definitions';
import type { PipelineInput } from '../../src/pipelines/schema';

/** Seconds an attempt of a polled step (COPY INTO, dbt, waits) may take before it times out. */
export const FAULT_STEP_TIMEOUT_SECONDS = 12;
/** Seconds the export call may take before it times out. */
export const FAULT_REQUEST_TIMEOUT_SECONDS = 4;
/** The user activity the kinds pipeline calls. */
export const FAULT_ACTIVITY = 'faultEffect';
/** dbt Cloud stand-in's account and job (its defaults). */
export const FAULT_DBT_CLOUD = { accountId: '70403', jobId: '123', tokenSecret: 'dbt-cloud-token' } as const;

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

/** As the seed's steps under the suite: four attempts, a second apart. */
const timing = { retry: { retries: 3, delays: '1s' }, timeout: `${FAULT_STEP_TIMEOUT_SECONDS}s`, pollInterval: '1s' } as const;
/**
 * An approval records its request in the run store: started while the store is down it fails
 * its attempt, so its retries must outlast the outage (four attempts 30 s apart cover the suite's
 * 60 s; a second apart they do not, and the run fails at the approval).
 */
const APPROVAL_RETRY = { retries: 3, delays: '30s' } as const;

export const KINDS_PIPELINE: PipelineInput = {
  name: 'kinds-pipeline',
  title: 'Every other step kind under faults',
  steps: [
    { id: 'cloud', kind: 'dbt', runner: { type: 'cloud', accountId: FAULT_DBT_CLOUD.accountId, jobId: FAULT_DBT_CLOUD.jobId, token: { secret: FAULT_DBT_CLOUD.tokenSecret } }, ...timing },
    { id: 'custom', kind: 'activity', activity: FAULT_ACTIVITY, dependsOn: ['cloud'], ...timing },
    { id: 'wait', kind: 'waitFor', http: { url: { setting: 'FAULT_WAIT_URL' } }, checkEvery: '1s', dependsOn: ['custom'], ...timing },
    { id: 'approve', kind: 'approval', message: 'Let {run.id} go on?', dependsOn: ['wait'], ...timing, retry: APPROVAL_RETRY },
  ],
  pipelineRetry: { retries: 0 },
};

/** The child's step: the user activity, given longer than the parent step's timeout. */
export const CHILD_PIPELINE: PipelineInput = {
  name: 'child-pipeline',
  title: 'The child run a pipeline step starts under faults',
  steps: [{ id: 'work', kind: 'activity', activity: FAULT_ACTIVITY, ...timing, retry: { retries: 0 }, timeout: `${FAULT_STEP_TIMEOUT_SECONDS * 5}s` }],
  pipelineRetry: { retries: 0 },
};

export const CALLS_PIPELINE: PipelineInput = {
  name: 'calls-pipeline',
  title: 'A pipeline step under faults',
  // As the approval: the step records the child's run before starting it, so its retries outlast the outage.
  steps: [{ id: 'call', kind: 'pipeline', pipeline: CHILD_PIPELINE.name, ...timing, retry: APPROVAL_RETRY }],
  pipelineRetry: { retries: 0 },
};

export function faultCatalog(): Catalog {
  return loadCatalog([...pipelineInputs.map((p) => (p.name === 'data-pipeline' ? faultSeed(p) : p)), KINDS_PIPELINE, CHILD_PIPELINE, CALLS_PIPELINE]);
}
