/**
 * Stand-in for the export Azure Function and its Durable HTTP API, speaking what the Functions host
 * speaks: the key in `x-functions-key` or else `?code=` (the header wins), 401 with an empty body on a
 * bad key.
 *
 *   POST /api/export         sync: 200 { status, files_exported, row_count }
 *   POST /api/export-async   202 + Durable's check-status payload ({ id, statusQueryGetUri, … },
 *                            Location, Retry-After); the status URL carries the *system* key (code=)
 *   GET  /runtime/webhooks/durabletask/instances/{id}?code=…   202 Running × N polls, then
 *                            200 Completed (or 200 Failed when `asyncOutcome` is 'Failed'; 500
 *                            only with `returnInternalServerErrorOnFailure=true`)
 *   POST /runtime/webhooks/durabletask/instances/{id}/terminate?reason=…&code=…   202 while it
 *                            runs, 410 once it ended, 404 for an unknown instance
 *   (both as HttpApiHandler.cs in Azure/azure-functions-durable-extension answers them:
 *   HandleGetStatusRequestAsync, HandleTerminateInstanceRequestAsync + IsCompletedStatus)
 *   POST /api/export-long    the export takes `longExportMs`; with `honoursIdempotencyKey`, a
 *                            request repeating an `Idempotency-Key` whose export runs answers 409,
 *                            one whose export succeeded answers the stored response
 *                            (`Idempotent-Replayed: true`), one whose export failed runs again
 *   Any /api/ call still unanswered after `frontEndTimeoutMs` gets the front end's 502 while the
 *   function goes on running (its late answer is lost): "Regardless of the function app timeout
 *   setting, 230 seconds is the maximum amount of time that an HTTP triggered function can take to
 *   respond to a request. This is because of the default idle timeout of Azure Load Balancer."
 *   (learn.microsoft.com, Azure Functions "Function app timeout duration", footnote 1; the HTTP
 *   trigger reference says the caller gets an HTTP 502 and the function continues running).
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
  /** The App Service front end's limit (Azure: 230 s). */
  frontEndTimeoutMs: number;
  /** How long one `/api/export-long` export runs. */
  longExportMs: number;
  /** Whether `/api/export-long` honours `Idempotency-Key` (see the header comment). */
  honoursIdempotencyKey: boolean;
}

/** One export `/api/export-long` ran: its key, and whether it finished. */
export interface ExportRun {
  readonly key: string | undefined;
  finished: boolean;
}

export interface ExportFunctionStandIn {
  /** http://127.0.0.1:<port> */
  readonly baseUrl: string;
  readonly config: ExportFunctionConfig;
  readonly calls: readonly FunctionCall[];
  /** Every request as it arrived, answered or not (a call the caller gave up on is in `received` only). */
  readonly received: readonly { readonly method: string; readonly path: string; readonly headers: IncomingMessage['headers'] }[];
  /** Every export `/api/export-long` started, even those whose answer the front end lost. */
  readonly exports: readonly ExportRun[];
  callsTo(path: string): FunctionCall[];
  close(): Promise<void>;
}

/**
 * What the front end answers when the function did not answer in time: a 502 with an HTML page.
 * The page's exact text is not documented; the adapter reads only the status and the time.
 */
const FRONT_END_502 = '<html><head><title>502 - Web server received an invalid response while acting as a gateway or proxy server.</title></head><body><h1>Server Error</h1><h2>502 - Web server received an invalid response while acting as a gateway or proxy server.</h2></body></html>';

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
    frontEndTimeoutMs: 230_000,
    longExportMs: 300,
    honoursIdempotencyKey: false,
    ...overrides,
  };
  const exports: ExportRun[] = [];
  /** Idempotency-Key → the export's state and, once done, its answer. */
  const byKey = new Map<string, { run: ExportRun; answer?: { status: number; body: unknown } }>();
  const calls: FunctionCall[] = [];
  const received: { method: string; path: string; headers: IncomingMessage['headers'] }[] = [];
  const instances = new Map<string, { polls: number; terminated: boolean }>();
  let flakyCalls = 0;
  let base = '';

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', base);
    received.push({ method: req.method ?? '', path: url.pathname, headers: req.headers });
    const query = Object.fromEntries(url.searchParams);
    let answered = false;
    const reply = (status: number, payload?: unknown, headers: Record<string, string> = {}) => {
      // After the front end gave up, the function's own answer goes nowhere.
      if (answered) return;
      answered = true;
      calls.push({ method: req.method ?? '', path: url.pathname, query, headers: req.headers, body, status });
      const text = payload === undefined ? '' : typeof payload === 'string' ? payload : JSON.stringify(payload);
      res.writeHead(status, { ...(payload === undefined ? {} : { 'content-type': typeof payload === 'string' ? 'text/html' : 'application/json; charset=utf-8' }), ...headers });
      res.end(text);
    };
    if (url.pathname.startsWith('/api/')) {
      const frontEnd = setTimeout(() => reply(502, FRONT_END_502), config.frontEndTimeoutMs);
      res.on('close', () => clearTimeout(frontEnd));
    }
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
      const ended = state.terminated || state.polls > config.asyncPollsBeforeDone;
      if (instance[2]) {
        if (ended) return reply(410);
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
      if (config.asyncOutcome === 'Failed') {
        const code = url.searchParams.get('returnInternalServerErrorOnFailure')?.toLowerCase() === 'true' ? 500 : 200;
        return reply(code, status('Failed', 'Orchestrator function failed: blob container not found'));
      }
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
      case '/api/export-long': {
        const key = typeof req.headers['idempotency-key'] === 'string' ? req.headers['idempotency-key'] : undefined;
        const known = config.honoursIdempotencyKey && key !== undefined ? byKey.get(key) : undefined;
        if (known && !known.run.finished) return reply(409, { error: 'an export with this Idempotency-Key is still running' }, { 'retry-after': '5' });
        if (known?.answer && known.answer.status < 300) return reply(known.answer.status, known.answer.body, { 'idempotent-replayed': 'true' });
        const run: ExportRun = { key, finished: false };
        exports.push(run);
        if (config.honoursIdempotencyKey && key !== undefined) byKey.set(key, { run });
        await new Promise((resolve) => setTimeout(resolve, config.longExportMs));
        run.finished = true;
        const answer = { status: 200, body: { status: 'ok', files_exported: 12, row_count: 480000 } };
        if (config.honoursIdempotencyKey && key !== undefined) byKey.set(key, { run, answer });
        return reply(answer.status, answer.body);
      }
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
    received,
    exports,
    callsTo: (path) => calls.filter((c) => c.path === path || c.path.startsWith(path)),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
