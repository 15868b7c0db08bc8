/** A plain HTTP server on 127.0.0.1, free port, with JSON helpers: the base of the dbt/ARM stand-ins. */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StandInRequest {
  readonly method: string;
  /** Path without the query. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

export interface StandInReply {
  readonly status: number;
  readonly json?: unknown;
  readonly text?: string;
  readonly headers?: Record<string, string>;
}

export interface RunningServer {
  readonly url: string;
  close(): Promise<void>;
}

export async function serve(handle: (request: StandInRequest) => StandInReply | Promise<StandInReply>): Promise<RunningServer> {
  const server = createServer((req, res) => {
    void respond(req, res);
  });

  async function respond(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    let reply: StandInReply;
    try {
      reply = await handle({ method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
    } catch (error) {
      reply = { status: 500, text: `stand-in error: ${(error as Error).message}` };
    }
    const body = reply.json !== undefined ? JSON.stringify(reply.json) : (reply.text ?? '');
    res.writeHead(reply.status, {
      'content-type': reply.json !== undefined ? 'application/json' : 'text/plain',
      'content-length': Buffer.byteLength(body),
      ...reply.headers,
    });
    res.end(body);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** Scripted failures: the next matching requests answer with this status (and Retry-After). */
export interface ScriptedFailure {
  readonly route: string;
  readonly status: number;
  readonly retryAfter?: number;
}

export class FailureScript {
  private readonly queue: ScriptedFailure[] = [];

  add(route: string, status: number, options: { retryAfter?: number; times?: number } = {}): void {
    for (let i = 0; i < (options.times ?? 1); i++) {
      this.queue.push({ route, status, ...(options.retryAfter === undefined ? {} : { retryAfter: options.retryAfter }) });
    }
  }

  /** Takes the first queued failure for this route (or for 'any'). */
  take(route: string): ScriptedFailure | undefined {
    const index = this.queue.findIndex((f) => f.route === route || f.route === 'any');
    if (index < 0) return undefined;
    return this.queue.splice(index, 1)[0];
  }
}
