/**
 * Sends run alerts to Slack and Teams webhooks. The webhook URL is a secret (whoever holds it can
 * post to the channel), resolved here and never logged. A notification that fails is logged as a
 * warning and reported in the result; it never throws, so it can never fail a run.
 *
 * Throttling and server errors are retried a few times, so a burst of alerts is not lost: Slack
 * limits incoming webhooks to about one message per second per channel and answers 429 with a
 * `Retry-After` header over that (api.slack.com "Rate limits"); 5xx (`rollup_error`, "likely not
 * your fault at all") and network failures get a short backoff. The 4xx answers Slack documents
 * for incoming webhooks (invalid_payload, action_prohibited, channel_not_found, no_service,
 * channel_is_archived: api.slack.com changelog 2016-05-17 "Improving error conditions for
 * Incoming Webhooks") say the message or the webhook is wrong: not retried — except
 * `invalid_blocks` / `invalid_blocks_format` (Slack refused the Block Kit, not the message): the
 * alert goes again as plain text, since an alert without its layout beats no alert.
 *
 * Delivery: Slack answers 200 `ok` once the message is posted. A Teams workflow ("When a Teams
 * webhook request is received") answers 202 as soon as it takes the request; its flow posts the
 * card afterwards, and a failure there shows only in the flow's run history (an HTTP request
 * trigger with no Response action "immediately returns 202 Accepted": learn.microsoft.com, Logic
 * Apps request trigger). So a 202 is reported as `delivery: 'accepted'`, not `'posted'`.
 */
import type { AlertDefinition } from '../pipelines/schema';
import type { Logger } from '../logging/logger';
import { parseRetryAfterSeconds } from '../core/retryAfter';
import { maskSecrets } from '../logging/mask';
import { readBoundedText } from '../core/boundedBody';
import type { SecretResolver } from '../secrets/types';
import type { RunEvent } from './event';
import { factsOf, slackPayload, teamsPayload } from './format';

export interface NotifierDeps {
  readonly secrets: SecretResolver;
  /**
   * Base URL of the app; links go to the console's run page, `<base>/#/runs/<runId>`: what a person
   * clicking "Open run" can open (behind sign-in). `/api/runs/<runId>` asks for a function key, which
   * nobody clicking in Slack or Teams has.
   */
  readonly publicBaseUrl?: string | undefined;
  readonly fetch?: typeof fetch;
  readonly log?: Logger;
  /** Per webhook call (default 10 s). */
  readonly timeoutMs?: number;
  /** Retries of one notification (default: 3 more tries, 1 s / 2 s / 4 s apart unless Retry-After says otherwise). */
  readonly retry?: NotifyRetryOptions;
  /** How the notifier waits between tries (tests pass one that records the waits). */
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface NotifyRetryOptions {
  /** Delays before each retry when the answer names none; their count is the number of retries. */
  readonly delaysMs?: readonly number[];
  /** A Retry-After longer than this is not waited for: the notification is reported undelivered. */
  readonly maxRetryAfterSeconds?: number;
}

export interface NotifyResult {
  readonly channel: AlertDefinition['channel'];
  /** Name of the webhook secret (never its value). */
  readonly webhook: string;
  readonly ok: boolean;
  readonly status?: number;
  readonly error?: string;
  /** Tries made (1 when the first one settled it). */
  readonly attempts: number;
  /** When ok: `posted` (the service says it posted it) or `accepted` (taken; a Teams flow posts it later, or not). */
  readonly delivery?: 'posted' | 'accepted';
  /** `text` when Slack refused the blocks and the alert went as plain text. */
  readonly format?: 'text';
}

export interface Notifier {
  /** Sends `event` to every alert subscribed to its kind; resolves with one result per alert sent. */
  notify(event: RunEvent, alerts: readonly AlertDefinition[]): Promise<NotifyResult[]>;
}

const MAX_ERROR_CHARS = 1500;
const DEFAULT_DELAYS_MS = [1000, 2000, 4000];
const DEFAULT_MAX_RETRY_AFTER_SECONDS = 30;
/** Answers worth another try: throttled, or the service failed. */
const RETRIED_STATUSES = new Set([408, 429, 500, 502, 503, 504]);
const FAILURE_MARKER = /\s*<<dp-failure>>[\s\S]*?<<\/dp-failure>>/g;
/** Slack's answers to blocks it will not render (the message itself is fine). */
const BLOCKS_REFUSED = new Set(['invalid_blocks', 'invalid_blocks_format']);

export function createNotifier(deps: NotifierDeps): Notifier {
  const doFetch = deps.fetch ?? fetch;
  const timeoutMs = deps.timeoutMs ?? 10_000;

  function linkFor(event: RunEvent): string | undefined {
    if (!deps.publicBaseUrl || !event.runId) return undefined;
    return `${deps.publicBaseUrl.replace(/\/+$/, '')}/#/runs/${encodeURIComponent(event.runId)}`;
  }

  const delaysMs = deps.retry?.delaysMs ?? DEFAULT_DELAYS_MS;
  const maxRetryAfterSeconds = deps.retry?.maxRetryAfterSeconds ?? DEFAULT_MAX_RETRY_AFTER_SECONDS;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));

  type Try =
    | { readonly ok: true; readonly status: number }
    | { readonly ok: false; readonly status?: number; readonly answer?: string; readonly reason: string; readonly retryAfterMs?: number; readonly retry: boolean };

  async function post(url: string, body: string, alert: AlertDefinition): Promise<Try> {
    let response: Response;
    try {
      response = await doFetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      return { ok: false, reason: describeError(error), retry: true };
    }
    // A webhook's answer is a word ("ok") or a short error: read no more than that needs.
    const text = await readBoundedText(response, 64 * 1024).catch(() => '');
    if (response.ok) return { ok: true, status: response.status };
    // A revoked or rotated webhook: re-read the secret next time.
    if ([401, 403, 404, 410].includes(response.status)) deps.secrets.invalidate(alert.webhook.secret);
    const reason = `webhook answered HTTP ${response.status}${text ? `: ${maskSecrets(text).slice(0, 200)}` : ''}`;
    const retryAfter = parseRetryAfterSeconds(response.headers.get('retry-after'), Date.now());
    return { ok: false, status: response.status, answer: text.trim(), reason, retry: RETRIED_STATUSES.has(response.status), ...(retryAfter === undefined ? {} : { retryAfterMs: retryAfter * 1000 }) };
  }

  async function send(event: RunEvent, alert: AlertDefinition): Promise<NotifyResult> {
    const base = { channel: alert.channel, webhook: alert.webhook.secret };
    const where = { channel: alert.channel, webhook: alert.webhook.secret, pipeline: event.pipeline, runId: event.runId };
    let url: string;
    let body: string;
    /** The same alert as plain text, for a Slack that refuses its blocks. */
    let plain: string | undefined;
    try {
      url = await deps.secrets.get(alert.webhook.secret);
      const error = event.error === undefined ? undefined : cleanError(event.error);
      const facts = factsOf(event, linkFor(event), error);
      const payload = alert.channel === 'slack' ? slackPayload(facts) : teamsPayload(facts, event.kind);
      body = maskSecrets(JSON.stringify(payload));
      if (alert.channel === 'slack') plain = maskSecrets(JSON.stringify({ text: payload['text'] }));
    } catch (error) {
      const reason = describeError(error);
      deps.log?.warn(where, `notification not delivered: ${reason}`);
      return { ...base, ok: false, error: reason, attempts: 0 };
    }
    let format: NotifyResult['format'];
    for (let attempt = 1; ; attempt++) {
      const result = await post(url, body, alert);
      if (result.ok) {
        const delivery = result.status === 202 ? 'accepted' : 'posted';
        if (delivery === 'accepted') deps.log?.info({ ...where, status: result.status }, `${alert.channel === 'teams' ? 'Teams' : 'the webhook'} accepted the alert (202); whether it was posted shows only in the flow's run history`);
        return { ...base, ok: true, status: result.status, attempts: attempt, delivery, ...(format ? { format } : {}) };
      }
      if (plain !== undefined && format === undefined && result.status === 400 && BLOCKS_REFUSED.has(result.answer ?? '')) {
        deps.log?.warn({ ...where, status: result.status, attempt }, `Slack refused the alert's blocks (${result.answer ?? ''}); sending it as plain text`);
        body = plain;
        format = 'text';
        continue;
      }
      const status = result.status === undefined ? {} : { status: result.status };
      const delay = result.retryAfterMs ?? delaysMs[attempt - 1];
      const last = !result.retry || delay === undefined || attempt > delaysMs.length;
      if (!last && result.retryAfterMs !== undefined && result.retryAfterMs > maxRetryAfterSeconds * 1000) {
        const reason = `${result.reason} (asked to retry after ${Math.round(result.retryAfterMs / 1000)} s, more than the ${maxRetryAfterSeconds} s we wait)`;
        deps.log?.warn({ ...where, ...status, attempts: attempt }, `notification not delivered: ${reason}`);
        return { ...base, ok: false, ...status, error: reason, attempts: attempt };
      }
      if (last) {
        deps.log?.warn({ ...where, ...status, attempts: attempt }, `notification not delivered: ${result.reason}`);
        return { ...base, ok: false, ...status, error: result.reason, attempts: attempt };
      }
      deps.log?.info({ ...where, ...status, attempt, retryInMs: delay }, `notification not delivered yet (${result.reason}); retrying`);
      await sleep(delay);
    }
  }

  return {
    async notify(event, alerts) {
      const chosen = alerts.filter((a) => a.on.includes(event.kind));
      return Promise.all(chosen.map((alert) => send(event, alert)));
    },
  };
}

function cleanError(text: string): string {
  const plain = maskSecrets(text.replace(FAILURE_MARKER, '')).trim();
  return plain.length > MAX_ERROR_CHARS ? `${plain.slice(0, MAX_ERROR_CHARS - 1)}…` : plain;
}

/** Never the raw error: fetch errors can quote the URL, which is the secret. */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return 'unknown error';
  if (error.name === 'TimeoutError') return 'webhook did not answer in time';
  const cause = error.cause as { code?: unknown } | undefined;
  if (error.name === 'TypeError' && typeof cause?.code === 'string') return `network error (${cause.code})`;
  if (error.name === 'TypeError') return 'webhook URL is not valid or the request failed';
  return maskSecrets(error.message).slice(0, 300);
}
