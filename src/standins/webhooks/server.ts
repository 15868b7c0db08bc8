/**
 * Slack incoming-webhook and Teams workflow-webhook stand-ins: capture every JSON payload posted.
 *
 * Slack answers 200 with the plain-text body `ok`; its errors are plain-text codes with an HTTP
 * status (api.slack.com changelog 2016-05-17 "Improving error conditions for Incoming Webhooks"):
 * 400 `invalid_payload` (a body that is not the JSON it claims), 403 `action_prohibited`,
 * 404 `channel_not_found`, 410 `channel_is_archived`, 500 `rollup_error`; a revoked or unknown
 * webhook URL answers 404 `no_service`. Over its rate limit (about one message per second per
 * webhook) Slack answers 429 with `Retry-After` in seconds (api.slack.com "Rate limits"). Slack
 * checks a message's Block Kit before posting it and answers 400 `invalid_blocks` (or
 * `invalid_blocks_format`) when it breaks the limits (blockKit.ts); 400 `no_text` for a message
 * with neither text nor blocks.
 *
 * A Teams workflow ("When a Teams webhook request is received") answers 202 Accepted as soon as
 * the request is taken: the flow runs afterwards, and a card it fails to post shows only in the
 * flow's run history (an HTTP request trigger without a Response action "immediately returns 202
 * Accepted": learn.microsoft.com, Logic Apps / Power Automate request trigger; Workflows post
 * Adaptive Cards only and cannot post to private channels as the flow bot: learn.microsoft.com,
 * Teams "Create and send messages", known issues). `teamsCards` records what the flow did.
 *
 * `failWith` makes every call answer that status (with Slack's body for it); `script` queues
 * answers for the next posts, in order.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { blockKitError } from './blockKit';

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

/** What the Teams workflow did with an accepted request, after answering 202. */
export interface TeamsCard {
  readonly posted: boolean;
  readonly reason?: string;
}

export interface WebhookStandIn {
  readonly baseUrl: string;
  /** One per request the Teams workflow accepted. */
  readonly teamsCards: readonly TeamsCard[];
  /** The flow accepts requests but fails to post (a private channel, an owner gone…). */
  teamsFlowFails: boolean;
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
  const state: { failWith: number | undefined; queue: WebhookReply[]; teamsFlowFails: boolean } = { failWith: undefined, queue: [], teamsFlowFails: false };
  const teamsCards: TeamsCard[] = [];
  /** The flow's run: post each Adaptive Card attachment, or fail. */
  const runTeamsFlow = (payload: unknown): TeamsCard => {
    if (state.teamsFlowFails) return { posted: false, reason: 'the flow failed to post (see its run history)' };
    const attachments = typeof payload === 'object' && payload !== null ? (payload as { attachments?: unknown }).attachments : undefined;
    const cards = Array.isArray(attachments) ? attachments.filter((a) => (a as { contentType?: unknown }).contentType === 'application/vnd.microsoft.card.adaptive') : [];
    if (cards.length === 0) return { posted: false, reason: 'no Adaptive Card attachment (Workflows post Adaptive Cards only)' };
    return { posted: true };
  };
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
      if (teams) {
        answer(202, '');
        teamsCards.push(runTeamsFlow(payload));
        return;
      }
      if (req.method !== 'POST' || !SLACK_PATH.test(path)) return answer(404, 'no_service');
      if (!json || typeof payload !== 'object' || payload === null || Array.isArray(payload)) return answer(400, 'invalid_payload');
      const message = payload as Record<string, unknown>;
      if (message['blocks'] === undefined && (typeof message['text'] !== 'string' || message['text'] === '')) return answer(400, 'no_text');
      const invalid = blockKitError(message);
      if (invalid) return answer(400, invalid.code);
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
    teamsCards,
    get teamsFlowFails() {
      return state.teamsFlowFails;
    },
    set teamsFlowFails(value: boolean) {
      state.teamsFlowFails = value;
    },
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
