/**
 * dbt-core in an Azure Container Apps job, driven through ARM with the app's managed identity:
 * start an execution whose container runs `dbt <command> <args>`, poll the execution, then read
 * the `run_results.json` the container uploaded to Blob Storage (see infra/dbt-job).
 *
 * ARM replaces the job's *whole* template with a start override (documented behaviour), so the
 * override is built from the job's own template: same image, resources and env (secret references
 * included), with our args and the DP_* variables added.
 *
 * Once per attempt: the attempt's execution is recorded in two blobs next to its
 * run_results.json, by two writers, so a re-delivered start finds it without relying on what ARM
 * echoes of an execution's template (its env values are not shown in the spec's examples):
 * `start.json`, written by this runner the moment ARM answers the start (execution name, or the
 * start operation's Location), and `execution.json`, written by the container as its first act
 * (entrypoint.py, from CONTAINER_APP_JOB_EXECUTION_NAME, which Container Apps sets in a job's
 * replicas: learn.microsoft.com "Manage environment variables on Azure Container Apps", built-in
 * variables for jobs). The second also names the execution when the start operation ends without
 * saying (a final 204).
 */
import { z } from 'zod';
import { PermanentError, TransientError } from '../../core/errors';
import type { JsonObject } from '../../core/json';
import { createArmClient, type ArmClient } from '../../azure/arm';
import { blobUrl, readBlobText, stripQuery, writeBlobJson } from '../../azure/blob';
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
/** `start.json` (this runner) and `execution.json` (the container): what names the attempt's execution. */
/**
 * `start.json`: the runner's note. `startingAt` alone: a start call was about to be made (written
 * before it); with `execution` or `startOperation`: its answer.
 */
const markerSchema = z.object({ execution: z.string().regex(EXECUTION_NAME).nullish(), startOperation: z.string().url().nullish(), startingAt: z.string().nullish() });

/**
 * Polls of an execution in `Degraded` without run_results.json before the step treats it as ended.
 * The status enum lists Degraded without saying whether it is an end (Jobs.json,
 * JobExecutionRunningState): an execution passing through it is waited for, one that stays is not
 * waited for forever.
 */
export const DEGRADED_POLL_LIMIT = 10;
/** Polls waiting for the container to name its execution when the start operation did not. */
export const ANNOUNCE_POLL_LIMIT = 40;

export interface JobHandle extends JsonObject {
  runner: 'containerAppsJob';
  /** Known once ARM has created the execution (or the container announced it). */
  execution: string | null;
  /** ARM's `Location` while the start operation is still accepted-not-done. */
  startOperation: string | null;
}

export interface ContainerAppsJobDeps {
  readonly fetch: Fetch;
  readonly tokens: TokenSource;
}

/** Names of the environment variables the job's entry script reads. */
export const JOB_ENV = { runId: 'DP_RUN_ID', stepId: 'DP_STEP_ID', attempt: 'DP_ATTEMPT', resultsUrl: 'DP_RESULTS_URL', startedUrl: 'DP_STARTED_URL' } as const;
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

  /**
   * The attempt's blobs, one folder per run, step and attempt: `run_results.json` (the container
   * uploads it), `execution.json` (the container names itself), `start.json` (this runner).
   */
  async function attemptBlob(runner: ContainerAppsJobRunner, ctx: StepContext, name: 'run_results.json' | 'execution.json' | 'start.json'): Promise<string> {
    const container = await resolveValue(runner.resultsContainerUrl, ctx.secrets, ctx.settings);
    try {
      return blobUrl(container, [ctx.runId, ctx.stepId, String(ctx.attempt), name]);
    } catch {
      throw new PermanentError('resultsContainerUrl is not a URL', { code: 'CONFIG' });
    }
  }
  const resultsBlob = (runner: ContainerAppsJobRunner, ctx: StepContext) => attemptBlob(runner, ctx, 'run_results.json');

  async function readMarker(runner: ContainerAppsJobRunner, ctx: StepContext, name: 'execution.json' | 'start.json') {
    const url = await attemptBlob(runner, ctx, name);
    const text = await readBlobText(url, deps);
    if (text === undefined) return undefined;
    const parsed = markerSchema.safeParse(safeJson(text));
    if (!parsed.success) {
      ctx.log.warn({ blob: stripQuery(url) }, `${name} does not name an execution; ignored`);
      return undefined;
    }
    return parsed.data;
  }

  /** The execution the container announced (`execution.json`), if it has. */
  async function announced(runner: ContainerAppsJobRunner, ctx: StepContext): Promise<string | undefined> {
    return (await readMarker(runner, ctx, 'execution.json'))?.execution ?? undefined;
  }

  function overrideTemplate(job: z.infer<typeof jobSchema>, step: DbtStep, ctx: StepContext, resultsUrl: string, startedUrl: string) {
    const [first, ...others] = job.properties.template.containers as [Container, ...Container[]];
    const env = [
      ...(first.env ?? []).filter((v) => !OUR_ENV.includes(v.name)),
      { name: JOB_ENV.runId, value: ctx.runId },
      { name: JOB_ENV.stepId, value: ctx.stepId },
      { name: JOB_ENV.attempt, value: String(ctx.attempt) },
      { name: JOB_ENV.resultsUrl, value: resultsUrl },
      { name: JOB_ENV.startedUrl, value: startedUrl },
    ];
    const initContainers = job.properties.template.initContainers;
    return {
      containers: [{ ...first, args: dbtArgv(step, ctx), env }, ...others],
      ...(initContainers && initContainers.length > 0 ? { initContainers } : {}),
    };
  }

  /**
   * The execution this very attempt already started, if the start activity is running a second
   * time (activities run at least once): the container's own word first, then this runner's note.
   */
  async function findStarted(runner: ContainerAppsJobRunner, ctx: StepContext): Promise<JobHandle | undefined> {
    const execution = await announced(runner, ctx);
    if (execution !== undefined) return { runner: 'containerAppsJob', execution, startOperation: null };
    const noted = await readMarker(runner, ctx, 'start.json');
    if (noted?.execution) return { runner: 'containerAppsJob', execution: noted.execution, startOperation: null };
    if (noted?.startOperation) return { runner: 'containerAppsJob', execution: null, startOperation: noted.startOperation };
    if (noted?.startingAt) {
      // An earlier delivery called ARM and died before noting the answer. ARM's start takes no name
      // and no tag we could look it up by (JobExecutionTemplate: containers and initContainers
      // only), so it may or may not have started an execution: wait for one of this attempt to
      // announce itself (the container writes execution.json) rather than start a second. None
      // does within ANNOUNCE_POLL_LIMIT polls: the attempt fails transient and the next one starts.
      ctx.log.warn({ startingAt: noted.startingAt }, 'a start of this attempt was called before and its answer was lost; waiting for its execution to announce itself instead of starting another');
      return { runner: 'containerAppsJob', execution: null, startOperation: null };
    }
    return undefined;
  }

  function running(step: DbtStep, handle: JobHandle, status: string, pollAfterSeconds = step.pollInterval): StepOutcome {
    return { status: 'running', handle, pollAfterSeconds, metrics: { executionStatus: status } };
  }

  /**
   * The step's result once the execution ended. `text` is run_results.json when the caller already
   * read it. A Degraded execution that left results is judged by them, as dbt's own word.
   */
  async function finish(step: DbtStep, runner: ContainerAppsJobRunner, ctx: StepContext, execution: string, status: string, text?: string): Promise<StepOutcome> {
    const url = await resultsBlob(runner, ctx);
    if (text === undefined) text = await readBlobText(url, deps);
    let summary;
    if (text !== undefined) {
      summary = summarizeRunResults(parseJson({ status: 200, headers: new Headers(), text }, `read ${stripQuery(url)}`));
      if (summary === undefined) ctx.log.warn({ execution }, 'run_results.json has an unexpected shape; no dbt metrics');
    } else ctx.log.warn({ execution, blob: stripQuery(url) }, 'the job uploaded no run_results.json');
    const label = `Container Apps job execution ${execution}`;
    // ARM cannot dedupe a start; a duplicate can still be seen: another execution of this attempt
    // announced itself in the attempt's folder.
    const named = await announced(runner, ctx).catch(() => undefined);
    if (named !== undefined && named !== execution) ctx.log.error({ execution, other: named }, 'duplicate: two job executions ran for this attempt (a start delivered twice); results are those of the one followed');
    return finishDbtRun(step, {
      succeeded: status === 'Succeeded' || (status === 'Degraded' && text !== undefined),
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
      const startedUrl = await attemptBlob(runner, ctx, 'execution.json');
      const already = await findStarted(runner, ctx);
      if (already !== undefined) {
        ctx.log.info({ execution: already.execution, startOperation: already.startOperation !== null }, 'execution already started by this attempt; following it');
        return running(step, already, already.execution === null ? 'Starting' : 'Running');
      }
      const job = parseWith(jobSchema, await client.call('GET', id, CONTAINER_APPS_API_VERSION), `ARM GET ${id}`);
      const template = overrideTemplate(job, step, ctx, resultsUrl, startedUrl);
      // Noted before the call: a delivery that dies between ARM's answer and the note below leaves
      // this, and the next delivery waits for the execution instead of starting another.
      const note = await attemptBlob(runner, ctx, 'start.json');
      await writeBlobJson(note, { execution: null, startOperation: null, startingAt: new Date().toISOString() }, deps);
      let reply;
      try {
        reply = await client.call('POST', `${id}/start`, CONTAINER_APPS_API_VERSION, template);
      } catch (error) {
        // ARM answered with an error: nothing started, the next delivery may start. No answer at
        // all (code NETWORK: refused, reset, timed out) leaves the note: it may have started.
        if (!(error instanceof TransientError && error.code === 'NETWORK')) await writeBlobJson(note, { execution: null, startOperation: null }, deps).catch(() => undefined);
        throw error;
      }
      const handle = startedHandle(reply);
      // Noted before anything else: a start delivered again finds this execution instead of starting another.
      try {
        await writeBlobJson(await attemptBlob(runner, ctx, 'start.json'), { execution: handle.execution, startOperation: handle.startOperation }, deps);
      } catch (error) {
        ctx.log.warn({ err: error instanceof Error ? error.message : String(error) }, 'could not note the started execution in start.json; a re-delivered start relies on the container announcing itself');
      }
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
          if (reply.status === 202) return running(step, current, 'Starting', startWait(reply) ?? step.pollInterval);
          const body = reply.text.trim() === '' ? undefined : executionBaseSchema.safeParse(safeJson(reply.text));
          // A finished operation that names nothing (204, or an empty 200): the container will.
          current = { runner: 'containerAppsJob', execution: body?.success ? body.data.name : null, startOperation: null };
        }
        let execution = current.execution;
        if (execution === null) {
          const named = await announced(runner, ctx);
          if (named === undefined) {
            const waited = (typeof handle['announcePolls'] === 'number' ? handle['announcePolls'] : 0) + 1;
            if (waited > ANNOUNCE_POLL_LIMIT) {
              throw new TransientError(`the Container Apps job start ended without naming its execution, and no execution of this attempt announced itself in ${ANNOUNCE_POLL_LIMIT} polls`, { code: 'EXECUTION_UNKNOWN' });
            }
            return running(step, { ...current, announcePolls: waited }, 'Starting');
          }
          execution = named;
          current = { runner: 'containerAppsJob', execution, startOperation: null };
        }
        const what = `ARM GET execution ${execution}`;
        const state = parseWith(executionSchema, await client.call('GET', `${id}/executions/${execution}`, CONTAINER_APPS_API_VERSION), what);
        const status = state.properties.status;
        switch (status) {
          case 'Succeeded':
          case 'Failed':
            return finish(step, runner, ctx, execution, status);
          case 'Degraded': {
            // An end only once the container left its results, or after waiting long enough.
            const text = await readBlobText(await resultsBlob(runner, ctx), deps);
            const degraded = (typeof handle['degradedPolls'] === 'number' ? handle['degradedPolls'] : 0) + 1;
            if (text !== undefined || degraded >= DEGRADED_POLL_LIMIT) return finish(step, runner, ctx, execution, status, text);
            return running(step, { ...current, degradedPolls: degraded }, status);
          }
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
  // The start operation ended without naming the execution: waiting for the container to.
  if (execution === null && startOperation === null) return { runner: 'containerAppsJob', execution: null, startOperation: null };
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
