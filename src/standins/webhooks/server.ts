/**
 * Slack incoming-webhook and Teams workflow-webhook stand-ins: capture every JSON payload posted.
 * Slack answers 200 "ok"; a Teams workflow (Power Automate "When a Teams webhook request is
 * received") answers 202. `failWith` makes every call answer that status instead.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CapturedPost {
  readonly path: string;
  readonly contentType: string | undefined;
  readonly payload: unknown;
}

export interface WebhookStandIn {
  readonly baseUrl: string;
  /** Webhook URLs: a Slack-looking and a Teams-workflow-looking path on this server. */
  readonly slackUrl: string;
  readonly teamsUrl: string;
  readonly posts: readonly CapturedPost[];
  failWith: number | undefined;
  close(): Promise<void>;
}

export async function startWebhookStandIn(): Promise<WebhookStandIn> {
  const posts: CapturedPost[] = [];
  const state: { failWith: number | undefined } = { failWith: undefined };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let payload: unknown = text;
      try {
        payload = JSON.parse(text);
      } catch {
        // kept as text: the test will see it was not JSON
      }
      posts.push({ path: req.url ?? '', contentType: req.headers['content-type'], payload });
      if (state.failWith !== undefined) {
        res.writeHead(state.failWith, { 'content-type': 'text/plain' });
        res.end('invalid_payload');
        return;
      }
      const teams = (req.url ?? '').startsWith('/workflows/');
      res.writeHead(teams ? 202 : 200, { 'content-type': 'text/plain' });
      res.end(teams ? '' : 'ok');
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
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
