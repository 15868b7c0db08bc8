/**
 * Stand-in for the export Azure Function and its Durable HTTP API, speaking what the Functions host
 * speaks: the key in `x-functions-key` or else `?code=` (the header wins), 401 with an empty body on a
 * bad key.
 *
 *   POST /api/export         sync: 200 { status, files_exported, row_count }
 *   POST /api/export-async   202 + Durable's check-status payload ({ id, statusQueryGetUri, … },
 *                            Location, Retry-After); the status URL carries the *system* key (code=)
 *   GET  /runtime/webhooks/durabletask/instances/{id}?code=…   202 Running × N polls, then
 *                            200 Completed (or 500 Failed when `asyncOutcome` is 'Failed')
 *   POST /runtime/webhooks/durabletask/instances/{id}/terminate?reason=…&code=…   202
 *   POST /api/flaky          503 for the first `flakyFailures` calls, then 200
 *   POST /api/throttled      429 with Retry-After: `throttleRetryAfter`
 *   POST /api/echo-ok|echo-fail   200/500 echoing the request's headers, query and body (a careless
 *                            function that leaks the key back: the adapter must mask it)
 *   POST /api/slow           answers after `slowMs`
 *   POST /api/bad-request    400 { error }
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';

export interface FunctionCall {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
  readonly status: number;
}

export interface ExportFunctionConfig {
  key: string;
  /** Durable extension's system key, in status URLs. */
  systemKey: string;
  asyncPollsBeforeDone: number;
  asyncOutcome: 'Completed' | 'Failed';
  asyncRetryAfter: number;
  flakyFailures: number;
  throttleRetryAfter: number;
  slowMs: number;
}

export interface ExportFunctionStandIn {
  /** http://127.0.0.1:<port> */
  readonly baseUrl: string;
  readonly config: ExportFunctionConfig;
  readonly calls: readonly FunctionCall[];
  callsTo(path: string): FunctionCall[];
  close(): Promise<void>;
}

export async function startExportFunction(overrides: Partial<ExportFunctionConfig> = {}): Promise<ExportFunctionStandIn> {
  const config: ExportFunctionConfig = {
    key: 'function-key-0001',
    systemKey: 'durabletask-system-key-0001',
    asyncPollsBeforeDone: 2,
    asyncOutcome: 'Completed',
    asyncRetryAfter: 5,
    flakyFailures: 2,
    throttleRetryAfter: 7,
    slowMs: 2000,
    ...overrides,
  };
  const calls: FunctionCall[] = [];
  const instances = new Map<string, { polls: number; terminated: boolean }>();
  let flakyCalls = 0;
  let base = '';

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', base);
    const query = Object.fromEntries(url.searchParams);
    const reply = (status: number, payload?: unknown, headers: Record<string, string> = {}) => {
      calls.push({ method: req.method ?? '', path: url.pathname, query, headers: req.headers, body, status });
      const text = payload === undefined ? '' : typeof payload === 'string' ? payload : JSON.stringify(payload);
      res.writeHead(status, { ...(payload === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' }), ...headers });
      res.end(text);
    };
    const presented = (req.headers['x-functions-key'] as string | undefined) ?? url.searchParams.get('code') ?? undefined;

    const instance = /^\/runtime\/webhooks\/durabletask\/instances\/([0-9a-f]{32})(\/terminate)?$/.exec(url.pathname);
    if (instance) {
      // The host reads `x-functions-key` first and falls back to `?code=` only when the header is
      // absent (azure-functions-host, AuthenticationLevelHandler.cs GetAuthorizationKeyInfoAsync:
      // "header takes precedence"); this route needs the `durabletask_extension` system key, so a
      // function key in the header is refused even when the URL's code= is right.
      if (presented !== config.systemKey) return reply(401);
      const id = instance[1]!;
      const state = instances.get(id);
      if (!state) return reply(404);
      if (instance[2]) {
        state.terminated = true;
        return reply(202);
      }
      const status = (runtimeStatus: string, output: unknown = null) => ({
        name: 'ExportOrchestrator', instanceId: id, runtimeStatus, input: { action: 'export_to_blob' },
        customStatus: null, output, createdTime: '2026-11-26T02:00:00Z', lastUpdatedTime: new Date().toISOString(),
      });
      if (state.terminated) return reply(200, status('Terminated', 'terminated by caller'));
      state.polls += 1;
      if (state.polls <= config.asyncPollsBeforeDone) {
        return reply(202, status('Running'), { location: `${base}${url.pathname}${url.search}`, 'retry-after': String(config.asyncRetryAfter) });
      }
      if (config.asyncOutcome === 'Failed') return reply(500, status('Failed', 'Orchestrator function failed: blob container not found'));
      return reply(200, status('Completed', { status: 'ok', files_exported: 4, row_count: 5400 }));
    }

    if (!url.pathname.startsWith('/api/')) return reply(404);
    if (presented !== config.key) return reply(401);
    switch (url.pathname) {
      case '/api/export':
        return reply(200, { status: 'ok', files_exported: 3, row_count: 1200, container: 'exports' });
      case '/api/export-async': {
        const id = randomUUID().replace(/-/g, '');
        instances.set(id, { polls: 0, terminated: false });
        const hub = `taskHub=TestHub&connection=Storage&code=${encodeURIComponent(config.systemKey)}`;
        const instanceUrl = `${base}/runtime/webhooks/durabletask/instances/${id}`;
        return reply(202, {
          id,
          statusQueryGetUri: `${instanceUrl}?${hub}`,
          sendEventPostUri: `${instanceUrl}/raiseEvent/{eventName}?${hub}`,
          terminatePostUri: `${instanceUrl}/terminate?reason={text}&${hub}`,
          purgeHistoryDeleteUri: `${instanceUrl}?${hub}`,
          restartPostUri: `${instanceUrl}/restart?${hub}`,
        }, { location: `${instanceUrl}?${hub}`, 'retry-after': String(config.asyncRetryAfter) });
      }
      case '/api/flaky':
        flakyCalls += 1;
        if (flakyCalls <= config.flakyFailures) return reply(503, { error: 'exporter warming up' });
        return reply(200, { status: 'ok', files_exported: 1, row_count: 10 });
      case '/api/throttled':
        return reply(429, { error: 'too many exports' }, { 'retry-after': String(config.throttleRetryAfter) });
      case '/api/echo-ok':
        return reply(200, { received: { headers: req.headers, query, body } });
      case '/api/echo-key-fail':
        // A careless service that quotes the credential it rejected at the start of its error.
        return reply(500, { error: `export failed for key ${String(presented)}` });
      case '/api/echo-fail':
        return reply(500, { error: 'export failed', received: { headers: req.headers, query, body } });
      case '/api/slow':
        await new Promise((resolve) => setTimeout(resolve, config.slowMs));
        return res.destroyed ? undefined : reply(200, { status: 'ok' });
      case '/api/bad-request':
        return reply(400, { error: 'unknown action' });
      default:
        return reply(404);
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    baseUrl: base,
    config,
    calls,
    callsTo: (path) => calls.filter((c) => c.path === path || c.path.startsWith(path)),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
