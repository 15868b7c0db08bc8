/**
 * dbt-core in an Azure Container Apps job, driven through ARM with the app's managed identity:
 * start an execution whose container runs `dbt <command> <args>`, poll the execution, then read
 * the `run_results.json` the container uploaded to Blob Storage (see infra/dbt-job).
 *
 * ARM replaces the job's *whole* template with a start override (documented behaviour), so the
 * override is built from the job's own template: same image, resources and env (secret references
 * included), with our args and the DP_* variables added.
 */
import { z } from 'zod';
import { PermanentError, TransientError } from '../../core/errors';
import type { JsonObject } from '../../core/json';
import { createArmClient, type ArmClient } from '../../azure/arm';
import { blobUrl, readBlobText, stripQuery } from '../../azure/blob';
import { parseJson, type Fetch, type HttpReply } from '../../azure/http';
import { ARM_DEFAULT_URL, type TokenSource } from '../../azure/tokens';
import { resolveValue } from '../../secrets/types';
import type { StepContext } from '../adapter';
import type { StepOutcome } from '../protocol';
import { dbtArgv, patientPoll } from './common';
import { finishDbtRun } from './outcome';
import { summarizeRunResults } from './runResults';
import type { ContainerAppsJobRunner, DbtStep } from './types';

export const CONTAINER_APPS_API_VERSION = '2024-03-01';
/** App setting that points ARM calls elsewhere (sovereign clouds, local stand-ins). */
export const ARM_URL_SETTING = 'AZURE_RESOURCE_MANAGER_URL';

const JOB_ID = /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.App\/jobs\/[-\w.()]+$/i;
const EXECUTION_NAME = /^[-\w.()]+$/;

const envVarSchema = z.object({ name: z.string(), value: z.string().optional(), secretRef: z.string().optional() }).loose();
const containerSchema = z
  .object({
    name: z.string().optional(),
    image: z.string().optional(),
    command: z.array(z.string()).optional(),
    args: z.array(z.string()).optional(),
    env: z.array(envVarSchema).optional(),
    resources: z.record(z.string(), z.unknown()).optional(),
  })
  .loose();
type Container = z.infer<typeof containerSchema>;

const jobSchema = z.object({
  properties: z.object({
    template: z.object({ containers: z.array(containerSchema).min(1), initContainers: z.array(containerSchema).nullish() }),
  }),
});
const executionBaseSchema = z.object({ name: z.string().regex(EXECUTION_NAME), id: z.string().optional() });
const executionSchema = z.object({ name: z.string().optional(), properties: z.object({ status: z.string() }) });
const executionListSchema = z.object({
  nextLink: z.string().nullish(),
  value: z.array(
    z.object({
      name: z.string().regex(EXECUTION_NAME),
      properties: z.object({ template: z.object({ containers: z.array(containerSchema).nullish() }).nullish() }).nullish(),
    }),
  ),
});

/** Pages of the executions list read when looking for this attempt's execution. */
const MAX_EXECUTION_PAGES = 10;

export interface JobHandle extends JsonObject {
  runner: 'containerAppsJob';
  /** Known once ARM has created the execution. */
  execution: string | null;
  /** ARM's `Location` while the start operation is still accepted-not-done. */
  startOperation: string | null;
}

export interface ContainerAppsJobDeps {
  readonly fetch: Fetch;
  readonly tokens: TokenSource;
}

/** Names of the environment variables the job's entry script reads. */
export const JOB_ENV = { runId: 'DP_RUN_ID', stepId: 'DP_STEP_ID', attempt: 'DP_ATTEMPT', resultsUrl: 'DP_RESULTS_URL' } as const;
const OUR_ENV: readonly string[] = Object.values(JOB_ENV);

export function createContainerAppsJobRunner(deps: ContainerAppsJobDeps) {
  function arm(ctx: StepContext): ArmClient {
    const baseUrl = ctx.settings(ARM_URL_SETTING) || ARM_DEFAULT_URL;
    return createArmClient({ baseUrl, tokens: deps.tokens, fetch: deps.fetch });
  }

  async function jobId(runner: ContainerAppsJobRunner, ctx: StepContext): Promise<string> {
    const id = (await resolveValue(runner.jobResourceId, ctx.secrets, ctx.settings)).replace(/\/+$/, '');
    if (!JOB_ID.test(id)) throw new PermanentError('jobResourceId must look like /subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.App/jobs/<name>', { code: 'CONFIG' });
    return id;
  }

  /** Where this attempt's container uploads `run_results.json`: one blob per run, step and attempt. */
  async function resultsBlob(runner: ContainerAppsJobRunner, ctx: StepContext): Promise<string> {
    const container = await resolveValue(runner.resultsContainerUrl, ctx.secrets, ctx.settings);
    try {
      return blobUrl(container, [ctx.runId, ctx.stepId, String(ctx.attempt), 'run_results.json']);
    } catch {
      throw new PermanentError('resultsContainerUrl is not a URL', { code: 'CONFIG' });
    }
  }

  function overrideTemplate(job: z.infer<typeof jobSchema>, step: DbtStep, ctx: StepContext, resultsUrl: string) {
    const [first, ...others] = job.properties.template.containers as [Container, ...Container[]];
    const env = [
      ...(first.env ?? []).filter((v) => !OUR_ENV.includes(v.name)),
      { name: JOB_ENV.runId, value: ctx.runId },
      { name: JOB_ENV.stepId, value: ctx.stepId },
      { name: JOB_ENV.attempt, value: String(ctx.attempt) },
      { name: JOB_ENV.resultsUrl, value: resultsUrl },
    ];
    const initContainers = job.properties.template.initContainers;
    return {
      containers: [{ ...first, args: dbtArgv(step, ctx), env }, ...others],
      ...(initContainers && initContainers.length > 0 ? { initContainers } : {}),
    };
  }

  /**
   * The execution this very attempt already started, if the start activity is running a second
   * time (activities run at least once): found by the DP_* variables it was started with.
   */
  async function findStarted(client: ArmClient, id: string, ctx: StepContext): Promise<string | undefined> {
    const what = `ARM GET ${id}/executions`;
    const wanted: Record<string, string> = { [JOB_ENV.runId]: ctx.runId, [JOB_ENV.stepId]: ctx.stepId, [JOB_ENV.attempt]: String(ctx.attempt) };
    // ARM list operations are paged: `value` plus an absolute `nextLink` to the next page, absent
    // on the last (Azure REST API guidelines, "Pagination"; Jobs Executions - List). Newest come
    // first, so a recent execution is on an early page; the bound keeps a job with a long history
    // from costing this activity more than a few calls.
    let page = parseWith(executionListSchema, await client.call('GET', `${id}/executions`, CONTAINER_APPS_API_VERSION), what);
    for (let pages = 1; ; pages++) {
      const found = page.value.find((execution) =>
        (execution.properties?.template?.containers ?? []).some((container) =>
          Object.entries(wanted).every(([name, value]) => container.env?.some((v) => v.name === name && v.value === value)),
        ),
      );
      if (found) return found.name;
      if (!page.nextLink) return undefined;
      if (pages >= MAX_EXECUTION_PAGES) {
        ctx.log.warn({ pages }, `no execution of this attempt in the first ${MAX_EXECUTION_PAGES} pages of the job's executions; starting one`);
        return undefined;
      }
      page = parseWith(executionListSchema, await client.follow(page.nextLink), what);
    }
  }

  function running(step: DbtStep, handle: JobHandle, status: string, pollAfterSeconds = step.pollInterval): StepOutcome {
    return { status: 'running', handle, pollAfterSeconds, metrics: { executionStatus: status } };
  }

  async function finish(step: DbtStep, runner: ContainerAppsJobRunner, ctx: StepContext, execution: string, status: string): Promise<StepOutcome> {
    const url = await resultsBlob(runner, ctx);
    const text = await readBlobText(url, deps);
    let summary;
    if (text !== undefined) {
      summary = summarizeRunResults(parseJson({ status: 200, headers: new Headers(), text }, `read ${stripQuery(url)}`));
      if (summary === undefined) ctx.log.warn({ execution }, 'run_results.json has an unexpected shape; no dbt metrics');
    } else ctx.log.warn({ execution, blob: stripQuery(url) }, 'the job uploaded no run_results.json');
    const label = `Container Apps job execution ${execution}`;
    return finishDbtRun(step, {
      succeeded: status === 'Succeeded',
      summary,
      label,
      output: { execution },
      // The container died before dbt wrote results: image pull, OOM, replica timeout. Worth a retry.
      failedWithoutResults: () => new TransientError(`${label} ended ${status} without run_results.json (see the job's logs)`, { code: `EXECUTION_${status.toUpperCase()}` }),
    }, ctx);
  }

  return {
    async start(step: DbtStep, runner: ContainerAppsJobRunner, ctx: StepContext): Promise<StepOutcome> {
      const client = arm(ctx);
      const id = await jobId(runner, ctx);
      const resultsUrl = await resultsBlob(runner, ctx);
      const already = await findStarted(client, id, ctx);
      if (already !== undefined) {
        ctx.log.info({ execution: already }, 'execution already started by this attempt; following it');
        return running(step, { runner: 'containerAppsJob', execution: already, startOperation: null }, 'Running');
      }
      const job = parseWith(jobSchema, await client.call('GET', id, CONTAINER_APPS_API_VERSION), `ARM GET ${id}`);
      const template = overrideTemplate(job, step, ctx, resultsUrl);
      const reply = await client.call('POST', `${id}/start`, CONTAINER_APPS_API_VERSION, template);
      const handle = startedHandle(reply);
      ctx.log.info({ execution: handle.execution, args: dbtArgv(step, ctx) }, 'Container Apps job execution started');
      return running(step, handle, 'Running', startWait(reply) ?? step.pollInterval);
    },

    async poll(step: DbtStep, runner: ContainerAppsJobRunner, handle: JsonObject, ctx: StepContext): Promise<StepOutcome> {
      const client = arm(ctx);
      const id = await jobId(runner, ctx);
      return patientPoll(step, handle, ctx, async () => {
        let current = readHandle(handle);
        if (current.execution === null && current.startOperation !== null) {
          const reply = await client.follow(current.startOperation);
          if (reply.status === 202 || reply.text.trim() === '') return running(step, current, 'Starting', startWait(reply) ?? step.pollInterval);
          current = { runner: 'containerAppsJob', execution: parseWith(executionBaseSchema, reply, 'ARM start operation').name, startOperation: null };
        }
        const execution = current.execution;
        if (execution === null) throw new PermanentError('Container Apps poll handle names no execution', { code: 'BAD_HANDLE' });
        const what = `ARM GET execution ${execution}`;
        const state = parseWith(executionSchema, await client.call('GET', `${id}/executions/${execution}`, CONTAINER_APPS_API_VERSION), what);
        const status = state.properties.status;
        switch (status) {
          case 'Succeeded':
          case 'Failed':
          case 'Degraded':
            return finish(step, runner, ctx, execution, status);
          case 'Stopped':
            throw new PermanentError(`Container Apps job execution ${execution} was stopped`, { code: 'EXECUTION_STOPPED' });
          default:
            // Running, Processing, Unknown: look again later.
            return running(step, current, status);
        }
      });
    },

    async cancel(_step: DbtStep, runner: ContainerAppsJobRunner, handle: JsonObject, ctx: StepContext): Promise<void> {
      const current = readHandle(handle);
      if (current.execution === null) {
        ctx.log.warn('cancel before ARM named the execution; nothing to stop yet');
        return;
      }
      const id = await jobId(runner, ctx);
      await arm(ctx).call('POST', `${id}/executions/${current.execution}/stop`, CONTAINER_APPS_API_VERSION);
      ctx.log.info({ execution: current.execution }, 'Container Apps job execution stop requested');
    },
  };
}

/** ARM answers a start with 200 + `{ name, id }`, or 202 + `Location` to poll for that body. */
function startedHandle(reply: HttpReply): JobHandle {
  if (reply.status === 200 || reply.status === 201) {
    const body = parseWith(executionBaseSchema.partial(), reply, 'ARM start job');
    if (body.name) return { runner: 'containerAppsJob', execution: body.name, startOperation: null };
  }
  const location = reply.headers.get('location') ?? reply.headers.get('azure-asyncoperation');
  if (location) {
    if (reply.text.trim() !== '') {
      const body = executionBaseSchema.safeParse(safeJson(reply.text));
      if (body.success) return { runner: 'containerAppsJob', execution: body.data.name, startOperation: null };
    }
    return { runner: 'containerAppsJob', execution: null, startOperation: location };
  }
  throw new PermanentError(`ARM start job: HTTP ${reply.status} with neither an execution name nor a Location`, { code: 'BAD_RESPONSE' });
}

function startWait(reply: HttpReply): number | undefined {
  const value = reply.headers.get('retry-after');
  return value !== null && /^\d+$/.test(value) ? Math.max(1, Number(value)) : undefined;
}

function readHandle(handle: JsonObject): JobHandle {
  const execution = handle['execution'];
  const startOperation = handle['startOperation'];
  if (typeof execution === 'string' && EXECUTION_NAME.test(execution)) return { runner: 'containerAppsJob', execution, startOperation: null };
  if (typeof startOperation === 'string') return { runner: 'containerAppsJob', execution: null, startOperation };
  throw new PermanentError('Container Apps poll handle names no execution', { code: 'BAD_HANDLE' });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function parseWith<T>(schema: z.ZodType<T>, reply: HttpReply, what: string): T {
  const parsed = schema.safeParse(parseJson(reply, what));
  if (!parsed.success) throw new PermanentError(`${what}: unexpected response shape (${parsed.error.issues[0]?.message ?? 'invalid'})`, { code: 'BAD_RESPONSE' });
  return parsed.data;
}

export type ContainerAppsJobRunnerImpl = ReturnType<typeof createContainerAppsJobRunner>;
