/**
 * Sends run alerts to Slack and Teams webhooks. The webhook URL is a secret (whoever holds it can
 * post to the channel), resolved here and never logged. A notification that fails is logged as a
 * warning and reported in the result; it never throws, so it can never fail a run.
 */
import type { AlertDefinition } from '../pipelines/schema';
import type { Logger } from '../logging/logger';
import { maskSecrets } from '../logging/mask';
import type { SecretResolver } from '../secrets/types';
import type { RunEvent } from './event';
import { factsOf, slackPayload, teamsPayload } from './format';

export interface NotifierDeps {
  readonly secrets: SecretResolver;
  /** Base URL of the app; links go to `<base>/api/runs/<runId>`. */
  readonly publicBaseUrl?: string | undefined;
  readonly fetch?: typeof fetch;
  readonly log?: Logger;
  /** Per webhook call (default 10 s). */
  readonly timeoutMs?: number;
}

export interface NotifyResult {
  readonly channel: AlertDefinition['channel'];
  /** Name of the webhook secret (never its value). */
  readonly webhook: string;
  readonly ok: boolean;
  readonly status?: number;
  readonly error?: string;
}

export interface Notifier {
  /** Sends `event` to every alert subscribed to its kind; resolves with one result per alert sent. */
  notify(event: RunEvent, alerts: readonly AlertDefinition[]): Promise<NotifyResult[]>;
}

const MAX_ERROR_CHARS = 1500;
const FAILURE_MARKER = /\s*<<dp-failure>>[\s\S]*?<<\/dp-failure>>/g;

export function createNotifier(deps: NotifierDeps): Notifier {
  const doFetch = deps.fetch ?? fetch;
  const timeoutMs = deps.timeoutMs ?? 10_000;

  function linkFor(event: RunEvent): string | undefined {
    if (!deps.publicBaseUrl || !event.runId) return undefined;
    return `${deps.publicBaseUrl.replace(/\/+$/, '')}/api/runs/${encodeURIComponent(event.runId)}`;
  }

  async function send(event: RunEvent, alert: AlertDefinition): Promise<NotifyResult> {
    const base = { channel: alert.channel, webhook: alert.webhook.secret };
    try {
      const url = await deps.secrets.get(alert.webhook.secret);
      const error = event.error === undefined ? undefined : cleanError(event.error);
      const facts = factsOf(event, linkFor(event), error);
      const payload = alert.channel === 'slack' ? slackPayload(facts) : teamsPayload(facts, event.kind);
      const response = await doFetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: maskSecrets(JSON.stringify(payload)),
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await response.text().catch(() => '');
      if (response.ok) return { ...base, ok: true, status: response.status };
      // A revoked or rotated webhook: re-read the secret next time.
      if ([401, 403, 404, 410].includes(response.status)) deps.secrets.invalidate(alert.webhook.secret);
      const reason = `webhook answered HTTP ${response.status}${text ? `: ${maskSecrets(text).slice(0, 200)}` : ''}`;
      deps.log?.warn({ channel: alert.channel, webhook: alert.webhook.secret, status: response.status, pipeline: event.pipeline, runId: event.runId }, `notification not delivered: ${reason}`);
      return { ...base, ok: false, status: response.status, error: reason };
    } catch (error) {
      const reason = describeError(error);
      deps.log?.warn({ channel: alert.channel, webhook: alert.webhook.secret, pipeline: event.pipeline, runId: event.runId }, `notification not delivered: ${reason}`);
      return { ...base, ok: false, error: reason };
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
