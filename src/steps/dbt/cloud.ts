/**
 * dbt Cloud runner (Admin API v2): trigger the job with this attempt as its `cause`, poll the run,
 * read `run_results.json` from the artifacts of each of its steps. The API token is a secret; it goes in the
 * `Authorization: Token` header and nowhere else (not in the handle, not in errors).
 */
import { z } from 'zod';
import { PermanentError } from '../../core/errors';
import type { JsonObject } from '../../core/json';
import { AuthRejectedError, failureFor, isSuccess, parseJson, send, type Fetch, type HttpReply } from '../../azure/http';
import { resolveValue } from '../../secrets/types';
import type { StepContext } from '../adapter';
import type { StepOutcome } from '../protocol';
import { dbtCause, dbtCommandLine, patientPoll } from './common';
import { finishDbtRun } from './outcome';
import { mergeRunResults, summarizeRunResults } from './runResults';
import type { DbtCloudRunner, DbtStep } from './types';

/** dbt Cloud run statuses (Admin API v2). */
export const DBT_CLOUD_STATUS = { queued: 1, starting: 2, running: 3, success: 10, error: 20, cancelled: 30 } as const;

const STATUS_NAMES: Record<number, string> = { 1: 'queued', 2: 'starting', 3: 'running', 10: 'success', 20: 'error', 30: 'cancelled' };

const envelopeStatus = z
  .object({ user_message: z.string().nullish(), developer_message: z.string().nullish() })
  .partial()
  .nullish();

const runSchema = z.object({
  id: z.number(),
  status: z.number(),
  href: z.string().nullish(),
  status_message: z.string().nullish(),
  trigger: z.object({ cause: z.string().nullish() }).nullish(),
});

/**
 * The two forms `include_related` might be parsed in: a JSON list (`["trigger"]`, the form of the
 * Admin API v2 reference's example) and a plain, comma-separated value (`trigger`, what HTTP
 * clients send for a list). Which one dbt Cloud parses is not documented beyond "a list of related
 * fields", and a form it does not parse is ignored silently: the run comes back without `trigger`
 * or `run_steps`. So the runner asks in one form, checks the related objects came back, and asks in
 * the other when they did not; the form that worked is asked first from then on.
 */
const RELATED_FORMS: readonly ((names: readonly string[]) => string)[] = [(names) => JSON.stringify(names), (names) => names.join(',')];

/** RunStep (Admin API v2): only what picks the steps whose artifacts are read. */
const runStepSchema = z.object({ index: z.number().int().positive(), name: z.string().nullish() });

const runEnvelope = z.object({ data: runSchema, status: envelopeStatus });
const runWithStepsEnvelope = z.object({ data: runSchema.extend({ run_steps: z.array(runStepSchema).nullish() }), status: envelopeStatus });

/** More steps than any job we would run; bounds the artifact calls for one run. */
const MAX_STEPS_READ = 30;
const runListEnvelope = z.object({ data: z.array(runSchema), status: envelopeStatus });

export interface CloudHandle extends JsonObject {
  runner: 'cloud';
  runId: string;
  accountId: string;
}

export interface DbtCloudDeps {
  readonly fetch: Fetch;
}

interface Resolved {
  baseUrl: string;
  accountId: string;
  jobId: string;
}

/**
 * App setting that points every dbt Cloud step at another endpoint (a private link, the local
 * stand-in `npm run demo -- --pipeline` starts), as SNOWFLAKE_ACCESS_URL does for Snowflake.
 */
export const DBT_CLOUD_ACCESS_URL_SETTING = 'DBT_CLOUD_ACCESS_URL';

export function createDbtCloudRunner(deps: DbtCloudDeps) {
  /** Index of the `include_related` form that last brought the related objects back. */
  let workingForm = 0;

  /**
   * GETs with `include_related` in each form until `got` says the related objects came back;
   * undefined when every form was ignored (or on 404).
   */
  async function withRelated<T>(runner: DbtCloudRunner, ctx: StepContext, url: (include: string) => string, names: readonly string[], what: string, read: (reply: HttpReply) => T, got: (value: T) => boolean): Promise<T | undefined> {
    const order = [workingForm, ...RELATED_FORMS.keys()].filter((i, at, all) => all.indexOf(i) === at);
    for (const index of order) {
      const form = RELATED_FORMS[index];
      if (!form) continue;
      const reply = await call(runner, ctx, 'GET', url(form(names)), what);
      if (reply.status === 404) return undefined;
      const value = read(reply);
      if (got(value)) {
        workingForm = index;
        return value;
      }
    }
    return undefined;
  }

  async function resolve(runner: DbtCloudRunner, ctx: StepContext): Promise<Resolved> {
    const access = ctx.settings(DBT_CLOUD_ACCESS_URL_SETTING);
    const [baseUrl, accountId, jobId] = await Promise.all([
      access !== undefined && access !== '' ? access : resolveValue(runner.baseUrl, ctx.secrets, ctx.settings),
      resolveValue(runner.accountId, ctx.secrets, ctx.settings),
      resolveValue(runner.jobId, ctx.secrets, ctx.settings),
    ]);
    for (const [name, value] of [['accountId', accountId], ['jobId', jobId]] as const) {
      if (!/^\d+$/.test(value)) throw new PermanentError(`dbt Cloud ${name} must be a number`, { code: 'CONFIG' });
    }
    let origin: string;
    try {
      origin = new URL(baseUrl).toString().replace(/\/+$/, '');
    } catch {
      throw new PermanentError('dbt Cloud baseUrl is not a URL', { code: 'CONFIG' });
    }
    return { baseUrl: origin, accountId, jobId };
  }

  /**
   * One API call with the token secret. A refused token is dropped from the secret cache and read
   * again once: after a rotation the new value is picked up without failing the step.
   */
  async function call(runner: DbtCloudRunner, ctx: StepContext, method: 'GET' | 'POST', url: string, what: string, json?: unknown): Promise<HttpReply> {
    const secret = runner.token.secret;
    let previous: string | undefined;
    for (;;) {
      const token = await ctx.secrets.get(secret);
      const reply = await send(deps.fetch, { method, url, headers: { authorization: `Token ${token}` }, json }, what);
      if (isSuccess(reply) || reply.status === 404) return reply;
      const error = failureFor(reply, what, envelopeMessage(reply));
      if (error instanceof AuthRejectedError) {
        ctx.secrets.invalidate(secret);
        if (previous === undefined) {
          previous = token;
          const fresh = await ctx.secrets.get(secret);
          if (fresh !== token) continue;
        }
        throw new AuthRejectedError(`${error.message} (check the dbt Cloud token in secret "${secret}")`, error.status);
      }
      throw error;
    }
  }

  async function getRun(runner: DbtCloudRunner, ctx: StepContext, where: Resolved, runId: string): Promise<z.infer<typeof runSchema>> {
    const what = `dbt Cloud GET run ${runId}`;
    const reply = await call(runner, ctx, 'GET', `${accountUrl(where)}/runs/${encodeURIComponent(runId)}/`, what);
    if (reply.status === 404) throw new PermanentError(`${what}: run not found`, { code: 'HTTP 404' });
    return parse(runEnvelope, reply, what).data;
  }

  /**
   * The run this very attempt already triggered, if the start activity is running a second time:
   * the job's 20 newest runs with their trigger, matched on the cause this attempt sends. When no
   * form of `include_related` brings triggers back, nothing can be matched: the start goes ahead
   * and says so in the log.
   */
  async function findTriggered(runner: DbtCloudRunner, ctx: StepContext, where: Resolved, cause: string): Promise<number | undefined> {
    const what = 'dbt Cloud list runs';
    const url = (include: string) => `${accountUrl(where)}/runs/?${new URLSearchParams({ job_definition_id: where.jobId, order_by: '-id', limit: '20', include_related: include }).toString()}`;
    const runs = await withRelated(runner, ctx, url, ['trigger'], what, (reply) => parse(runListEnvelope, reply, what).data, (list) => list.length === 0 || list.some((run) => run.trigger));
    if (runs === undefined) {
      ctx.log.warn({ jobId: where.jobId }, 'dbt Cloud listed the job’s runs without their triggers in either form of include_related; cannot tell whether this attempt already triggered one');
      return undefined;
    }
    return runs.find((run) => run.trigger?.cause === cause)?.id;
  }

  /** The step indexes of a finished run (`include_related` run_steps), in order; [] when none listed. */
  async function listSteps(runner: DbtCloudRunner, ctx: StepContext, where: Resolved, runId: string): Promise<number[]> {
    const what = `dbt Cloud GET run ${runId} steps`;
    const url = (include: string) => `${accountUrl(where)}/runs/${encodeURIComponent(runId)}/?${new URLSearchParams({ include_related: include }).toString()}`;
    const run = await withRelated(runner, ctx, url, ['run_steps'], what, (reply) => parse(runWithStepsEnvelope, reply, what).data, (data) => (data.run_steps ?? []).length > 0);
    const steps = run?.run_steps ?? [];
    const indexes = [...new Set(steps.map((s) => s.index))].sort((a, b) => a - b);
    if (indexes.length > MAX_STEPS_READ) ctx.log.warn({ dbtRunId: runId, steps: indexes.length }, `dbt Cloud run has more than ${MAX_STEPS_READ} steps; reading the last ${MAX_STEPS_READ}`);
    return indexes.slice(-MAX_STEPS_READ);
  }

  /**
   * run_results.json of every step, merged. Without `?step=` dbt Cloud serves the last step's
   * artifact only ("If the step parameter is omitted, then this method will return the artifacts
   * compiled for the last step in the run", Admin API v2 "Retrieve Run Artifact"; prefect-dbt
   * cloud/runs.py says the same), so a `dbt seed` + `dbt run` + `dbt test` job would report its
   * tests alone. Steps that ran no dbt command (git clone, profile) answer 404 and are skipped.
   */
  async function fetchRunResults(runner: DbtCloudRunner, ctx: StepContext, where: Resolved, runId: string) {
    const base = `${accountUrl(where)}/runs/${encodeURIComponent(runId)}/artifacts/run_results.json`;
    const steps = await listSteps(runner, ctx, where, runId);
    const artifacts: unknown[] = [];
    for (const step of steps.length > 0 ? steps : [undefined]) {
      const what = `dbt Cloud run ${runId} artifact run_results.json${step === undefined ? '' : ` of step ${step}`}`;
      const reply = await call(runner, ctx, 'GET', step === undefined ? base : `${base}?step=${step}`, what);
      if (reply.status !== 404) artifacts.push(parseJson(reply, what));
    }
    if (artifacts.length === 0) return undefined;
    const summary = summarizeRunResults(mergeRunResults(artifacts));
    if (summary === undefined) ctx.log.warn({ dbtRunId: runId }, 'run_results.json has an unexpected shape; no dbt metrics');
    return summary;
  }

  function running(step: DbtStep, handle: CloudHandle, status: number): StepOutcome {
    return { status: 'running', handle, pollAfterSeconds: step.pollInterval, metrics: { dbtStatus: STATUS_NAMES[status] ?? String(status) } };
  }

  return {
    async start(step: DbtStep, runner: DbtCloudRunner, ctx: StepContext): Promise<StepOutcome> {
      const where = await resolve(runner, ctx);
      const cause = dbtCause(ctx);
      let runId = await findTriggered(runner, ctx, where, cause);
      if (runId === undefined) {
        const what = `dbt Cloud trigger job ${where.jobId}`;
        const body: Record<string, unknown> = { cause };
        // The job's own steps run unless the step asks for something else.
        if (step.command !== 'run' || step.args.length > 0 || step.vars !== undefined) body['steps_override'] = [dbtCommandLine(step, ctx)];
        const reply = await call(runner, ctx, 'POST', `${accountUrl(where)}/jobs/${where.jobId}/run/`, what, body);
        if (reply.status === 404) throw new PermanentError(`${what}: job not found in account ${where.accountId}`, { code: 'HTTP 404' });
        runId = parse(runEnvelope, reply, what).data.id;
        ctx.log.info({ dbtRunId: runId, jobId: where.jobId }, 'dbt Cloud run triggered');
      } else {
        ctx.log.info({ dbtRunId: runId }, 'dbt Cloud run already triggered by this attempt; following it');
      }
      const handle: CloudHandle = { runner: 'cloud', runId: String(runId), accountId: where.accountId };
      return running(step, handle, DBT_CLOUD_STATUS.queued);
    },

    async poll(step: DbtStep, runner: DbtCloudRunner, handle: JsonObject, ctx: StepContext): Promise<StepOutcome> {
      const runId = readRunId(handle);
      const where = { ...(await resolve(runner, ctx)), accountId: readAccountId(handle) };
      const fresh: CloudHandle = { runner: 'cloud', runId, accountId: where.accountId };
      return patientPoll(step, handle, ctx, async () => {
        const run = await getRun(runner, ctx, where, runId);
        if (run.status === DBT_CLOUD_STATUS.cancelled) throw new PermanentError(`dbt Cloud run ${runId} was cancelled in dbt Cloud`, { code: 'DBT_CANCELLED' });
        if (run.status !== DBT_CLOUD_STATUS.success && run.status !== DBT_CLOUD_STATUS.error) return running(step, fresh, run.status);
        const summary = await fetchRunResults(runner, ctx, where, runId);
        const label = `dbt Cloud run ${runId}`;
        const statusMessage = run.status_message ?? undefined;
        return finishDbtRun(step, {
          succeeded: run.status === DBT_CLOUD_STATUS.success,
          summary,
          label,
          output: { dbtRunId: runId, ...(run.href ? { url: run.href } : {}) },
          ...(statusMessage ? { statusMessage } : {}),
          failedWithoutResults: () => new PermanentError(`${label} failed${statusMessage ? `: ${statusMessage}` : ''}`, { code: 'DBT_ERROR' }),
        }, ctx);
      });
    },

    async cancel(_step: DbtStep, runner: DbtCloudRunner, handle: JsonObject, ctx: StepContext): Promise<void> {
      const runId = readRunId(handle);
      const where = { ...(await resolve(runner, ctx)), accountId: readAccountId(handle) };
      await call(runner, ctx, 'POST', `${accountUrl(where)}/runs/${encodeURIComponent(runId)}/cancel/`, `dbt Cloud cancel run ${runId}`);
      ctx.log.info({ dbtRunId: runId }, 'dbt Cloud run cancel requested');
    },
  };
}

function accountUrl(where: Resolved): string {
  return `${where.baseUrl}/api/v2/accounts/${where.accountId}`;
}

/** dbt Cloud answers errors in its envelope: `{ status: { user_message, developer_message }, data: null }`. */
function envelopeMessage(reply: HttpReply): string | undefined {
  try {
    const body = JSON.parse(reply.text) as { status?: { user_message?: unknown; developer_message?: unknown } };
    const parts = [body.status?.user_message, body.status?.developer_message].filter((p): p is string => typeof p === 'string' && p !== '');
    return parts.length > 0 ? parts.join(' — ') : undefined;
  } catch {
    return undefined;
  }
}

function parse<T>(schema: z.ZodType<T>, reply: HttpReply, what: string): T {
  const parsed = schema.safeParse(parseJson(reply, what));
  if (!parsed.success) throw new PermanentError(`${what}: unexpected response shape (${parsed.error.issues[0]?.message ?? 'invalid'})`, { code: 'BAD_RESPONSE' });
  return parsed.data;
}

function readRunId(handle: JsonObject): string {
  const runId = handle['runId'];
  if (typeof runId !== 'string' || !/^\d+$/.test(runId)) throw new PermanentError('dbt Cloud poll handle has no run id', { code: 'BAD_HANDLE' });
  return runId;
}

function readAccountId(handle: JsonObject): string {
  const accountId = handle['accountId'];
  if (typeof accountId !== 'string' || !/^\d+$/.test(accountId)) throw new PermanentError('dbt Cloud poll handle has no account id', { code: 'BAD_HANDLE' });
  return accountId;
}

export type DbtCloudRunnerImpl = ReturnType<typeof createDbtCloudRunner>;
