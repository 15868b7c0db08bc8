/**
 * The `waitFor` step kind as a polled step: each check is one activity (a Get Blob Properties
 * `HEAD`, or one HTTP request); between checks a durable timer waits (src/engine/pollStep.ts), so
 * nothing runs while the step waits — Airflow's sensors in `reschedule` mode, without a worker slot.
 * The gap between checks grows by `checkEvery` (1 min, ×2, up to 15 min by default); the step's
 * `timeout` (one day by default) ends the wait with a timeout failure.
 *
 * A blob that exists succeeds the step with its URL, ETag and size as output; a blob that does not
 * is "not yet". 401/403 are permanent (the app's identity lacks Storage Blob Data Reader on the
 * container: say so rather than wait a day). HTTP: the condition is the status, and optionally a
 * JSON value at a path of the answer; any other answer is "not yet".
 */
import { PermanentError, TransientError } from '../../core/errors';
import type { Json, JsonObject } from '../../core/json';
import { blobProperties, blobUrl, stripQuery } from '../../azure/blob';
import { send, type Fetch } from '../../azure/http';
import { lazyTokenSource, type TokenCredential } from '../../azure/tokens';
import { valueAtPath } from '../../pipelines/outputRef';
import { fillTemplate } from '../../pipelines/runValues';
import { resolveValue } from '../../secrets/types';
import type { AdapterFor, StepContext } from '../adapter';
import type { StepOutcome } from '../protocol';
import { nextCheckSeconds } from './backoff';
import type { WaitForStep } from './schema';

export interface WaitForAdapterDeps {
  readonly credential?: TokenCredential;
  readonly managedIdentityClientId?: string;
  readonly fetch?: Fetch;
}

export function createWaitForAdapter(deps: WaitForAdapterDeps = {}): AdapterFor<'waitFor'> {
  const fetchImpl: Fetch = deps.fetch ?? ((input, init) => fetch(input, init));
  const lazyTokens = lazyTokenSource(deps);

  /** One check: the output when the condition holds, else undefined. */
  async function met(step: WaitForStep, ctx: StepContext): Promise<{ output: JsonObject; what: string } | undefined> {
    if (step.blob) {
      const container = await resolveValue(step.blob.container, ctx.secrets, ctx.settings);
      const path = fillTemplate(step.blob.path, { runId: ctx.runId, parameters: ctx.parameters, trigger: ctx.trigger });
      const url = blobUrl(container, path.split('/'));
      let found;
      try {
        found = await blobProperties(url, { tokens: lazyTokens, fetch: fetchImpl });
      } catch (error) {
        const status = (error as { status?: number }).status;
        if (status === 401 || status === 403) {
          throw new PermanentError(`cannot look up ${stripQuery(url)}: the app's identity needs Storage Blob Data Reader on the container (${(error as Error).message})`, { cause: error });
        }
        throw error;
      }
      if (!found) return undefined;
      return { output: { blob: stripQuery(url), eTag: found.etag, contentLength: found.contentLength, ...(found.lastModified ? { lastModified: found.lastModified } : {}) }, what: `blob ${stripQuery(url)}` };
    }
    if (step.http) {
      const url = await resolveValue(step.http.url, ctx.secrets, ctx.settings);
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(step.http.headers)) headers[name] = await resolveValue(value, ctx.secrets, ctx.settings);
      const reply = await send(fetchImpl, { method: 'GET', url, headers }, 'waitFor');
      if (!step.http.until.status.includes(reply.status)) return undefined;
      const expected = step.http.until.json;
      if (expected) {
        let body: Json | undefined;
        try {
          body = JSON.parse(reply.text) as Json;
        } catch {
          return undefined;
        }
        const actual = valueAtPath(body, expected.path);
        if (JSON.stringify(actual) !== JSON.stringify(expected.equals)) return undefined;
      }
      return { output: { status: reply.status }, what: `${new URL(url).origin}${new URL(url).pathname} answered ${reply.status}` };
    }
    throw new PermanentError('a waitFor step waits for a blob or an HTTP condition');
  }

  async function check(step: WaitForStep, handle: JsonObject, ctx: StepContext): Promise<StepOutcome> {
    const checks = (typeof handle['checks'] === 'number' ? handle['checks'] : 0) + 1;
    const since = typeof handle['since'] === 'string' ? handle['since'] : new Date().toISOString();
    let result;
    try {
      result = await met(step, ctx);
    } catch (error) {
      // A flaky check is a "not yet" with a note, not a failed step: the timeout bounds the wait.
      if (error instanceof TransientError) {
        ctx.log.warn({ err: error.message, checks }, 'waitFor: check failed, will check again');
        result = undefined;
      } else throw error;
    }
    if (result) {
      ctx.report?.({ level: 'info', msg: `condition met after ${checks} check${checks === 1 ? '' : 's'}: ${result.what}` });
      return { status: 'succeeded', output: { ...result.output, checks, since }, metrics: { checks } };
    }
    return { status: 'running', handle: { checks, since }, pollAfterSeconds: nextCheckSeconds(step, checks), metrics: { checks } };
  }

  return {
    start(step, ctx) {
      if (step.blob || step.http) ctx.report?.({ level: 'info', msg: step.blob ? `waiting for blob ${step.blob.path}` : 'waiting for an HTTP condition' });
      return check(step, { checks: 0, since: new Date().toISOString() }, ctx);
    },
    poll: (step, handle, ctx) => check(step, handle, ctx),
  };
}
