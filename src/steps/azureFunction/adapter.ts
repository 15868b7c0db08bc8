/**
 * The `azureFunction` step: calls an HTTP-triggered function (the seed's export to Blob Storage).
 *
 * 200/201/204 → succeeded, the body kept (bounded) and counts in it reported as metrics.
 * 202 with `statusQueryGetUri` (Durable's HTTP API) or `Location` → running; the orchestrator polls
 * the status URL, with the key that URL carries (never our function key next to it: the host would
 * read the header first). 401/403 → the key is re-read once (it may have rotated), then permanent.
 * Every call carries `Idempotency-Key: <runId>:<stepId>:<attempt>` (docs/deploy.md, "The export
 * function and its Idempotency-Key"). A POST or PATCH whose answer is lost —
 * Azure's front end answers 502 at 230 s while the function goes on, or no answer came within
 * `requestTimeout` — may have done its work: it is never retried blindly (README.md, "Answers
 * lost past 230 s").
 * URL and key are resolved here from secrets and never leave the activity: the handle holds the
 * status URL with its `code=` sealed (sealedQuery.ts), errors and outputs are masked.
 */
import { z } from 'zod';
import type { Json, JsonObject } from '../../core/json';
import { PermanentError, TransientError, type ClassifiedError } from '../../core/errors';
import { parseRetryAfterSeconds } from '../../core/retryAfter';
import { BodyTooLargeError, describeBytes, readBoundedText } from '../../core/boundedBody';
import { maskSecrets } from '../../logging/mask';
import { fillJson } from '../../pipelines/runValues';
import type { ConfigValue, StepDefinition } from '../../pipelines/schema';
import { MissingSettingError, resolveValue } from '../../secrets/types';
import type { AdapterFor, StepContext } from '../adapter';
import type { StepOutcome } from '../protocol';
import { DEFAULT_MAX_ANSWER_BYTES, DEFAULT_MAX_OUTPUT_BYTES, boundedOutput, excerpt, httpFailure, isObject, metricsFrom, parseJson } from './response';
import { sealQuery, unsealQuery } from './sealedQuery';
import { answerLine } from '../resultLines';

export type AzureFunctionStep = Extract<StepDefinition, { kind: 'azureFunction' }>;

/** The Idempotency-Key of an attempt: `<runId>:<stepId>:<attempt>`. */
export function idempotencyKey(ctx: Pick<StepContext, 'runId' | 'stepId' | 'attempt'>): string {
  return `${ctx.runId}:${ctx.stepId}:${ctx.attempt}`;
}

export interface AzureFunctionAdapterDeps {
  readonly fetch?: typeof fetch;
  /** Bytes of response body kept in the run record (default 8 KiB). */
  readonly maxOutputBytes?: number;
  /** Bytes of response body read at most (default 1 MiB): a larger answer is not read. */
  readonly maxAnswerBytes?: number;
  readonly now?: () => number;
  /** Azure's front-end limit for an HTTP answer (230 s); tests scale it down with their stand-in. */
  readonly frontEndLimitMs?: number;
}

/**
 * "Regardless of the function app timeout setting, 230 seconds is the maximum amount of time that
 * an HTTP triggered function can take to respond to a request. This is because of the default idle
 * timeout of Azure Load Balancer." (learn.microsoft.com, Azure Functions "Function app timeout
 * duration", footnote 1). The caller gets a 502 and the function keeps running.
 */
export const FRONT_END_LIMIT_MS = 230_000;

/** Methods whose repetition has the effect of one call (RFC 9110 §9.2.2): safe to retry on a lost answer. */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'PUT', 'DELETE']);

/** What a request needs, resolved from secrets. Lives only inside the activity. */
export interface PreparedCall {
  readonly url: URL;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body: string | undefined;
  /** The function key, when the step names one. */
  readonly key: string | undefined;
}

const RUNNING = ['Running', 'Pending', 'ContinuedAsNew', 'Suspended'];
const ENDED_BADLY = ['Failed', 'Terminated', 'Canceled', 'Cancelled'];

/** The poll handle: persisted in Durable history, so credential parameters are sealed. */
/** The handle while the step re-sends its request with the same Idempotency-Key to learn the outcome. */
const resendHandleSchema = z.object({ resend: z.literal(true) });

const handleSchema = z.object({
  statusUrl: z.string().url(),
  statusSealed: z.string().optional(),
  terminateUrl: z.string().url().optional(),
  terminateSealed: z.string().optional(),
  instanceId: z.string().optional(),
});
type Handle = z.infer<typeof handleSchema>;

export function createAzureFunctionAdapter(deps: AzureFunctionAdapterDeps = {}): AdapterFor<'azureFunction'> {
  const doFetch = deps.fetch ?? fetch;
  const maxOutputBytes = deps.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  const maxAnswerBytes = deps.maxAnswerBytes ?? DEFAULT_MAX_ANSWER_BYTES;
  const now = deps.now ?? Date.now;
  const frontEndLimitMs = deps.frontEndLimitMs ?? FRONT_END_LIMIT_MS;

  interface Answer {
    readonly status: number;
    readonly headers: Headers;
    readonly text: string;
    readonly json: Json | undefined;
    /** How long the answer took. */
    readonly ms: number;
  }

  async function send(step: AzureFunctionStep, ctx: StepContext, url: URL, init: { method: string; headers: Record<string, string>; body?: string | undefined }, what: string): Promise<Answer> {
    const started = now();
    let response: Response;
    try {
      response = await doFetch(url, {
        method: init.method,
        headers: init.headers,
        ...(init.body === undefined ? {} : { body: init.body }),
        // A redirect would carry x-functions-key to wherever it points.
        redirect: 'manual',
        signal: AbortSignal.timeout(step.requestTimeout * 1000),
      });
    } catch (error) {
      const failure = networkFailure(what, error, step.requestTimeout);
      ctx.log.warn({ host: url.host, method: init.method, ms: now() - started, code: failure.code }, failure.message);
      throw failure;
    }
    let text: string;
    try {
      text = await readBoundedText(response, maxAnswerBytes);
    } catch (error) {
      if (!(error instanceof BodyTooLargeError)) throw networkFailure(what, error, step.requestTimeout);
      // Streamed and dropped past the bound: the answer's size never decides the instance's memory.
      const message = `${what} answered HTTP ${response.status} with more than ${describeBytes(maxAnswerBytes)}; the answer was not read (the run keeps ${describeBytes(maxOutputBytes)} of an answer: have the function answer a summary)`;
      ctx.log.warn({ host: url.host, method: init.method, status: response.status, ms: now() - started }, message);
      if (response.ok) throw new PermanentError(message, { code: 'ANSWER_TOO_LARGE' });
      text = `(an answer of more than ${describeBytes(maxAnswerBytes)}, not read)`;
    }
    const ms = now() - started;
    ctx.log.info({ host: url.host, method: init.method, status: response.status, ms }, `${what} answered ${response.status}`);
    return { status: response.status, headers: response.headers, text, json: parseJson(text), ms };
  }

  async function call(step: AzureFunctionStep, ctx: StepContext): Promise<{ prepared: PreparedCall; answer: Answer }> {
    const what = `function ${describe(step.url)}`;
    let prepared = await prepareAzureFunctionCall(step, ctx);
    let answer = await send(step, ctx, prepared.url, prepared, what);
    if (answer.status === 401 || answer.status === 403) {
      // The key (or a code= in the URL secret) may have rotated: re-read once, retry if it changed.
      const before = [prepared.key, prepared.url.href];
      invalidateCredentials(step, ctx);
      prepared = await prepareAzureFunctionCall(step, ctx);
      if (prepared.key !== before[0] || prepared.url.href !== before[1]) {
        ctx.log.info('function rejected the key; retrying once with the re-read secret');
        answer = await send(step, ctx, prepared.url, prepared, what);
      }
      if (answer.status === 401 || answer.status === 403) invalidateCredentials(step, ctx);
    }
    return { prepared, answer };
  }

  /** The answer, kept bounded as the step's output and told in one line of the run's log. */
  function succeeded(ctx: StepContext, what: string, status: number, json: Json | undefined, text: string): StepOutcome {
    ctx.report?.(answerLine(what, status, json, text));
    const output = boundedOutput(json, text, maxOutputBytes);
    const metrics = metricsFrom(json);
    return { status: 'succeeded', ...(output === undefined ? {} : { output }), ...(metrics ? { metrics } : {}) };
  }

  /**
   * The step's `pollInterval` is the cadence; a longer `Retry-After` wins. A shorter one does not:
   * the Durable HTTP API answers every 202 with `Retry-After: 5` (azure-functions-durable-extension
   * `HttpApiHandler.cs`, "so clients don't retry in a tight loop"), which would make a 5-minute
   * export 60 polls, each a durable timer, an activity and two orchestrator wake-ups (docs: README
   * "What it costs").
   */
  function pollAfter(step: AzureFunctionStep, headers: Headers): number {
    return Math.max(step.pollInterval, parseRetryAfterSeconds(headers.get('retry-after'), now()) ?? 0);
  }

  /**
   * The call's answer was lost: the front end gave up at its limit, or ours did. A POST or PATCH
   * may have done its work, so it is not retried blindly: a function that honours the
   * Idempotency-Key is asked again with the same key (`{ resend: true }`: it answers 409 while the
   * work runs, then the work's stored answer); any other fails the step, saying what to change.
   */
  function lostAnswer(step: AzureFunctionStep, ctx: StepContext, what: string, reason: string): StepOutcome {
    if (step.honoursIdempotencyKey) {
      ctx.log.warn({ reason }, `${what}: answer lost; asking again with the same Idempotency-Key`);
      return { status: 'running', handle: { resend: true }, pollAfterSeconds: step.pollInterval };
    }
    throw new PermanentError(
      `${what}: ${reason}; the function may still be running, so the step is not retried (a retry would call it a second time). ` +
        `Make the function answer 202 with a status URL (the Durable Functions async pattern), or have it honour the Idempotency-Key header and set honoursIdempotencyKey: true on the step`,
      { code: 'OUTCOME_UNKNOWN' },
    );
  }

  /** One call of the step's request: what `start` does, and what a `{ resend: true }` poll does again. */
  async function callOnce(step: AzureFunctionStep, ctx: StepContext): Promise<StepOutcome> {
    const what = `function ${describe(step.url)}`;
    const mayRepeat = IDEMPOTENT_METHODS.has(step.method);
    let result: { prepared: PreparedCall; answer: Answer };
    try {
      result = await call(step, ctx);
    } catch (error) {
      if (!mayRepeat && error instanceof TransientError && error.code === 'REQUEST_TIMEOUT') return lostAnswer(step, ctx, what, `no answer within ${step.requestTimeout} s (requestTimeout)`);
      throw error;
    }
    const { prepared, answer } = result;
    if (!mayRepeat && (answer.status === 502 || answer.status === 504) && answer.ms >= frontEndLimitMs * 0.9) {
      return lostAnswer(step, ctx, what, `no answer within Azure's ${Math.round(FRONT_END_LIMIT_MS / 1000)}-second limit for an HTTP answer (the front end answered ${answer.status} after ${(answer.ms / 1000).toFixed(1)} s)`);
    }
    if (answer.status === 409 && step.honoursIdempotencyKey) {
      // The function is still working on this run's step (an earlier call, or an earlier delivery).
      return { status: 'running', handle: { resend: true }, pollAfterSeconds: pollAfter(step, answer.headers) };
    }
    if (answer.status === 202) {
      const handle = handleFrom(answer, prepared);
      if (!handle) return succeeded(ctx, what, answer.status, answer.json, answer.text);
      return { status: 'running', handle: handle as unknown as JsonObject, pollAfterSeconds: pollAfter(step, answer.headers) };
    }
    if (answer.status >= 200 && answer.status < 300) return succeeded(ctx, what, answer.status, answer.json, answer.text);
    throw httpFailure(what, answer.status, answer.headers.get('retry-after'), answer.text, now());
  }

  return {
    start: callOnce,

    async poll(step, rawHandle, ctx) {
      if (resendHandleSchema.safeParse(rawHandle).success) return callOnce(step, ctx);
      const what = `status of function ${describe(step.url)}`;
      const handle = parseHandle(rawHandle);
      const prepared = await prepareAzureFunctionCall(step, ctx);
      const material = sealMaterial(prepared);
      const statusUrl = unsealQuery(handle.statusUrl, handle.statusSealed, material) ?? new URL(handle.statusUrl);
      const headers: Record<string, string> = { accept: 'application/json', ...functionKeyHeaderFor(statusUrl, prepared) };

      const answer = await send(step, ctx, statusUrl, { method: 'GET', headers }, what);
      if (answer.status === 401 || answer.status === 403) invalidateCredentials(step, ctx);
      const body = isObject(answer.json) ? answer.json : undefined;
      const runtimeStatus = typeof body?.['runtimeStatus'] === 'string' ? body['runtimeStatus'] : undefined;

      if (runtimeStatus !== undefined && ENDED_BADLY.includes(runtimeStatus)) {
        const output = body?.['output'];
        const detail = output === undefined || output === null ? '' : `: ${excerpt(typeof output === 'string' ? output : JSON.stringify(output))}`;
        throw new PermanentError(`function ${describe(step.url)} orchestration ${runtimeStatus.toLowerCase()}${detail}`, { code: runtimeStatus });
      }
      if (answer.status === 202 || (runtimeStatus !== undefined && RUNNING.includes(runtimeStatus) && answer.status < 300)) {
        const next = answer.status === 202 ? handleFrom(answer, prepared, handle) ?? handle : handle;
        return { status: 'running', handle: next as unknown as JsonObject, pollAfterSeconds: pollAfter(step, answer.headers) };
      }
      if (answer.status >= 200 && answer.status < 300) {
        if (runtimeStatus === 'Completed' && body) {
          const output = body['output'] ?? null;
          return succeeded(ctx, `${what} (orchestration completed)`, answer.status, output, JSON.stringify(output));
        }
        return succeeded(ctx, what, answer.status, answer.json, answer.text);
      }
      throw httpFailure(what, answer.status, answer.headers.get('retry-after'), answer.text, now());
    },

    async cancel(step, rawHandle, ctx) {
      // A re-sent call has no orchestration of ours to stop.
      if (resendHandleSchema.safeParse(rawHandle).success) return;
      try {
        const handle = parseHandle(rawHandle);
        if (!handle.terminateUrl) return;
        const prepared = await prepareAzureFunctionCall(step, ctx);
        const url = unsealQuery(handle.terminateUrl, handle.terminateSealed, sealMaterial(prepared));
        if (!url) return;
        const target = new URL(url.href.replace(encodeURIComponent('{text}'), encodeURIComponent(`cancelled by durable-pipelines run ${ctx.runId}`)));
        const headers = functionKeyHeaderFor(target, prepared);
        await send(step, ctx, target, { method: 'POST', headers }, `terminate of function ${describe(step.url)}`);
      } catch (error) {
        ctx.log.warn({ error: maskSecrets(error instanceof Error ? error.message : String(error)) }, 'could not terminate the function orchestration');
      }
    },
  };
}

/** Resolves URL, key and headers for a call. Exported for the bench and for tests. */
export async function prepareAzureFunctionCall(step: AzureFunctionStep, ctx: Pick<StepContext, 'secrets' | 'settings' | 'runId' | 'stepId' | 'attempt' | 'parameters' | 'trigger'>): Promise<PreparedCall> {
  let rawUrl: string;
  try {
    rawUrl = await resolveValue(step.url, ctx.secrets, ctx.settings);
  } catch (error) {
    if (error instanceof MissingSettingError) throw new PermanentError(error.message, { code: 'MissingSetting' });
    throw error;
  }
  const url = URL.canParse(rawUrl) ? new URL(rawUrl) : undefined;
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new PermanentError(`${describe(step.url)} does not hold an http(s) URL`, { code: 'BadUrl' });
  }
  const key = step.functionKey ? await ctx.secrets.get(step.functionKey.secret) : undefined;
  const headers: Record<string, string> = {
    accept: 'application/json',
    // Lets the function recognise a retried call of the same step of the same run.
    'x-dp-run-id': ctx.runId,
    'x-dp-step-id': ctx.stepId,
    'x-dp-attempt': String(ctx.attempt),
    ...step.headers,
    // One key per attempt (run, step, attempt), the same on every delivery of that attempt: an
    // activity re-run after a host crash, a resend after a lost answer. A function that honours it
    // does each attempt's work once; a retry the run decided on is a new attempt, a new key, new
    // work. Named as in the IETF httpapi draft "The Idempotency-Key HTTP Header Field".
    'idempotency-key': idempotencyKey(ctx),
  };
  const hasBody = step.body !== undefined && step.method !== 'GET' && step.method !== 'DELETE';
  if (hasBody) headers['content-type'] = 'application/json';
  if (key !== undefined) headers['x-functions-key'] = key;
  return { url, method: step.method, headers, body: hasBody ? JSON.stringify(fillJson(step.body as Json, ctx)) : undefined, key };
}

/**
 * `x-functions-key` for a follow-up URL (status, terminate), or nothing. The Functions host reads
 * the header before `?code=` (azure-functions-host, AuthenticationLevelHandler.cs
 * GetAuthorizationKeyInfoAsync: "header takes precedence"), and Durable's
 * `runtime/webhooks/durabletask` routes need the extension's system key, which their URLs carry as
 * `code=`. Sending our function key there would be refused with 401, so a URL that brings its own
 * key, or any webhook route, gets no header; another host never gets our key at all.
 */
function functionKeyHeaderFor(target: URL, prepared: PreparedCall): Record<string, string> {
  if (prepared.key === undefined || target.origin !== prepared.url.origin) return {};
  if (target.searchParams.has('code') || target.pathname.startsWith('/runtime/webhooks/')) return {};
  return { 'x-functions-key': prepared.key };
}

function describe(value: ConfigValue): string {
  if (typeof value === 'string') return 'URL';
  return 'secret' in value ? `secret "${value.secret}"` : `setting ${value.setting}`;
}

function invalidateCredentials(step: AzureFunctionStep, ctx: StepContext): void {
  if (step.functionKey) ctx.secrets.invalidate(step.functionKey.secret);
  if (typeof step.url !== 'string' && 'secret' in step.url) ctx.secrets.invalidate(step.url.secret);
}

/** The secret the handle's sealed parameters are bound to: the key, else the URL (which then holds the code). */
function sealMaterial(prepared: PreparedCall): string {
  return prepared.key ?? prepared.url.href;
}

/**
 * The poll handle for a 202: the status URL from Durable's payload (`statusQueryGetUri`) or the
 * `Location` header, relative URLs resolved, credential parameters sealed. Undefined when the
 * answer names no status URL (an accepted fire-and-forget call).
 */
function handleFrom(answer: { headers: Headers; json: Json | undefined }, prepared: PreparedCall, previous?: Handle): Handle | undefined {
  const body = isObject(answer.json) ? answer.json : undefined;
  const text = (key: string) => (typeof body?.[key] === 'string' ? body[key] : undefined);
  const base = previous ? previous.statusUrl : prepared.url.href;
  const raw = text('statusQueryGetUri') ?? answer.headers.get('location') ?? undefined;
  if (raw === undefined || !URL.canParse(raw, base)) return undefined;

  const material = sealMaterial(prepared);
  const status = sealQuery(new URL(raw, base), material);
  const handle: Handle = { statusUrl: maskSecrets(status.publicUrl), ...(status.sealed ? { statusSealed: status.sealed } : {}) };

  const terminateRaw = text('terminatePostUri');
  if (terminateRaw !== undefined && URL.canParse(terminateRaw, base)) {
    const terminate = sealQuery(new URL(terminateRaw, base), material);
    handle.terminateUrl = maskSecrets(terminate.publicUrl);
    if (terminate.sealed) handle.terminateSealed = terminate.sealed;
  } else if (previous?.terminateUrl) {
    handle.terminateUrl = previous.terminateUrl;
    if (previous.terminateSealed) handle.terminateSealed = previous.terminateSealed;
  }
  const instanceId = text('id') ?? previous?.instanceId;
  if (instanceId !== undefined) handle.instanceId = maskSecrets(instanceId);
  return handle;
}

function parseHandle(raw: JsonObject): Handle {
  const parsed = handleSchema.safeParse(raw);
  if (!parsed.success) throw new PermanentError('the poll handle of this azureFunction step is not one this adapter wrote', { code: 'BadHandle' });
  return parsed.data;
}

function networkFailure(what: string, error: unknown, timeoutSeconds: number): ClassifiedError {
  const name = error instanceof Error ? error.name : '';
  if (name === 'TimeoutError') return new TransientError(`${what}: no answer within ${timeoutSeconds}s (requestTimeout)`, { code: 'REQUEST_TIMEOUT' });
  if (name === 'AbortError') return new TransientError(`${what}: request aborted`, { code: 'ABORTED' });
  // undici puts the reason in `cause` (ECONNREFUSED, ENOTFOUND, UND_ERR_SOCKET…); the URL is never quoted.
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : undefined;
  const code = (cause as { code?: unknown } | undefined)?.code;
  const reason = typeof code === 'string' ? code : cause ? excerpt(cause.message) : 'unknown';
  return new TransientError(`${what}: network error (${reason})`, { code: typeof code === 'string' ? code : 'NETWORK' });
}
