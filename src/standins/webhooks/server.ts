/**
 * Slack incoming-webhook and Teams workflow-webhook stand-ins: capture every JSON payload posted.
 *
 * Slack answers 200 with the plain-text body `ok`; its errors are plain-text codes with an HTTP
 * status (api.slack.com changelog 2016-05-17 "Improving error conditions for Incoming Webhooks"):
 * 400 `invalid_payload` (a body that is not the JSON it claims), 403 `action_prohibited`,
 * 404 `channel_not_found`, 410 `channel_is_archived`, 500 `rollup_error`; a revoked or unknown
 * webhook URL answers 404 `no_service`. Over its rate limit (about one message per second per
 * webhook) Slack answers 429 with `Retry-After` in seconds (api.slack.com "Rate limits").
 * A Teams workflow (Power Automate "When a Teams webhook request is received") answers 202.
 *
 * `failWith` makes every call answer that status (with Slack's body for it); `script` queues
 * answers for the next posts, in order.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CapturedPost {
  readonly path: string;
  readonly contentType: string | undefined;
  readonly payload: unknown;
  /** The status the stand-in answered. */
  readonly status: number;
}

/** One scripted answer: a status, Slack's body for it unless given, and `Retry-After` seconds. */
export interface WebhookReply {
  readonly status: number;
  readonly body?: string;
  readonly retryAfter?: number;
}

export interface WebhookStandIn {
  readonly baseUrl: string;
  /** Webhook URLs: a Slack-looking and a Teams-workflow-looking path on this server. */
  readonly slackUrl: string;
  readonly teamsUrl: string;
  readonly posts: readonly CapturedPost[];
  failWith: number | undefined;
  /** The next posts (to either webhook) get these answers, one each, before normal service resumes. */
  script(replies: readonly WebhookReply[]): void;
  close(): Promise<void>;
}

/** Slack's plain-text error body for a status (see the header comment for the source). */
export const SLACK_ERROR_BODIES: Readonly<Record<number, string>> = {
  400: 'invalid_payload',
  403: 'action_prohibited',
  404: 'channel_not_found',
  410: 'channel_is_archived',
  429: 'rate_limited',
  500: 'rollup_error',
};

const SLACK_PATH = /^\/services\/[^/]+\/[^/]+\/[^/]+$/;

export async function startWebhookStandIn(): Promise<WebhookStandIn> {
  const posts: CapturedPost[] = [];
  const state: { failWith: number | undefined; queue: WebhookReply[] } = { failWith: undefined, queue: [] };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const path = req.url ?? '';
      let payload: unknown = text;
      let json = true;
      try {
        payload = JSON.parse(text);
      } catch {
        json = false;
      }
      const teams = path.startsWith('/workflows/');
      const answer = (status: number, body: string, headers: Record<string, string> = {}) => {
        posts.push({ path, contentType: req.headers['content-type'], payload, status });
        res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
        res.end(body);
      };
      const scripted = state.queue.shift();
      if (scripted) {
        return answer(scripted.status, scripted.body ?? SLACK_ERROR_BODIES[scripted.status] ?? '', scripted.retryAfter === undefined ? {} : { 'retry-after': String(scripted.retryAfter) });
      }
      if (state.failWith !== undefined) return answer(state.failWith, SLACK_ERROR_BODIES[state.failWith] ?? 'error');
      if (teams) return answer(202, '');
      if (req.method !== 'POST' || !SLACK_PATH.test(path)) return answer(404, 'no_service');
      if (!json || typeof payload !== 'object' || payload === null) return answer(400, 'invalid_payload');
      return answer(200, 'ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    baseUrl: base,
    slackUrl: `${base}/services/T0001/B0001/slackwebhooktoken0001`,
    teamsUrl: `${base}/workflows/abc123/triggers/manual/paths/invoke?api-version=2016-06-01&sig=teamssig0001`,
    posts,
    get failWith() {
      return state.failWith;
    },
    set failWith(value: number | undefined) {
      state.failWith = value;
    },
    script: (replies) => {
      state.queue.push(...replies);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
