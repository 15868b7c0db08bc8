/** Pieces both dbt runners share: the command line, the idempotency cause, patient polling. */
import { classify, RetryAfterError } from '../../core/errors';
import type { Json, JsonObject } from '../../core/json';
import { fillJson, type RunValues } from '../../pipelines/runValues';
import type { StepContext } from '../adapter';
import type { StepOutcome } from '../protocol';
import type { DbtStep } from './types';

/**
 * Names this attempt in dbt Cloud's run list (and finds it again if the start activity runs twice).
 * Derived from the run id, so it is the same on every replay and retry of the activity.
 */
export function dbtCause(ctx: Pick<StepContext, 'runId' | 'stepId' | 'attempt'>): string {
  return `durable-pipelines run ${ctx.runId} step ${ctx.stepId} attempt ${ctx.attempt}`;
}

/**
 * `dbt` arguments: the command (`source freshness` is two words), the step's args, then its vars
 * with the run's values filled in as `--vars '<json>'` (dbt reads a YAML dictionary there, and JSON
 * is YAML: docs.getdbt.com, "Project variables", defining variables on the command line).
 */
export function dbtArgv(step: Pick<DbtStep, 'command' | 'args' | 'vars'>, values: RunValues): string[] {
  const vars = step.vars === undefined ? [] : ['--vars', JSON.stringify(fillJson(step.vars as Json, values))];
  return [...step.command.split(' '), ...step.args, ...vars];
}

/** `dbt run --select 'tag:nightly daily'`: one shell-like line, as dbt Cloud's steps are written. */
export function dbtCommandLine(step: Pick<DbtStep, 'command' | 'args' | 'vars'>, values: RunValues): string {
  return ['dbt', ...dbtArgv(step, values).map(shellQuote)].join(' ');
}

function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_@%+=:,./*-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'"'"'`)}'`;
}

/**
 * Consecutive transient failures a poll tolerates before it fails the attempt. A 503 while a
 * two-hour dbt run is half done must not fail the step: a retry would start dbt all over again.
 */
export const POLL_FAILURE_LIMIT = 5;

/**
 * Runs one poll; a transient failure becomes "still running, look again later" with the count
 * carried in the handle, until the limit is reached.
 */
export async function patientPoll(
  step: DbtStep,
  handle: JsonObject,
  ctx: StepContext,
  poll: () => Promise<StepOutcome>,
): Promise<StepOutcome> {
  try {
    return await poll();
  } catch (error) {
    const failure = classify(error);
    const seen = typeof handle['pollFailures'] === 'number' ? handle['pollFailures'] : 0;
    if (failure.class !== 'transient' || seen + 1 >= POLL_FAILURE_LIMIT) throw error;
    ctx.log.warn({ err: failure.message, pollFailures: seen + 1 }, 'dbt poll failed; will poll again');
    const wait = error instanceof RetryAfterError ? Math.max(error.retryAfterSeconds, 1) : step.pollInterval;
    return { status: 'running', handle: { ...handle, pollFailures: seen + 1 }, pollAfterSeconds: wait };
  }
}

/** The handle without the failure count, once a poll got through. */
export function withoutPollFailures(handle: JsonObject): JsonObject {
  const { pollFailures: _ignored, ...rest } = handle;
  return rest;
}
