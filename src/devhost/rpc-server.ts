/**
 * The extension's HTTP endpoints that durable-functions' DurableClient calls through `rpcBaseUrl`
 * (and the `/runtime/webhooks/durabletask/` management URLs it hands out), served from the in-memory
 * task hub. Handlers get the package's real DurableClient pointed at this server.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiProblem, problemResponse } from '../api/problem';
import { safeDecode } from './http-triggers';
import type { TaskHub } from './instances';
import { startConflictResponse, statusHttpCode } from './extension-rules';
import { StartConflictError, UnknownFunctionError } from './instances';

export const RPC_PREFIX = '/durabletask/';
export const WEBHOOK_PREFIX = '/runtime/webhooks/durabletask/';

export interface RpcResult {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

/** Routes one request below the RPC or webhook prefix; `path` is what follows the prefix. */
export function handleDurableRequest(hub: TaskHub, method: string, path: string, query: URLSearchParams, bodyText: string, headers: IncomingMessage['headers'], options: { pageSize: number; managementUrls: (id: string) => Record<string, string> }): RpcResult {
  const parts = path.split('/').filter((p) => p !== '').map(safeDecode);
  // The host answers malformed encodings before calling here; any other caller gets a 400, not a throw.
  if (parts.includes(undefined)) return { status: 400, body: { Message: `malformed percent-encoding in ${path}` } };
  const [first, second, third, fourth] = parts;

  if (first === 'orchestrators' && second !== undefined && method === 'POST') {
    try {
      const id = hub.startNew(second, third, bodyText === '' ? undefined : bodyText);
      return { status: 202, body: options.managementUrls(id) };
    } catch (error) {
      if (error instanceof StartConflictError) return startConflictResponse(error.existingStatus);
      if (error instanceof UnknownFunctionError) return { status: 400, body: { Message: error.message } };
      throw error;
    }
  }

  if (first !== 'instances') return { status: 404, body: { Message: `no route ${method} ${path}` } };

  const filter = {
    runtimeStatus: query.get('runtimeStatus')?.split(',').filter((s) => s !== ''),
    ...(query.get('createdTimeFrom') ? { createdTimeFrom: new Date(query.get('createdTimeFrom') ?? '') } : {}),
    ...(query.get('createdTimeTo') ? { createdTimeTo: new Date(query.get('createdTimeTo') ?? '') } : {}),
  };

  if (second === undefined) {
    if (method === 'GET') {
      const all = hub.statuses(filter, query.get('showInput') !== 'false');
      const top = Number(query.get('top') ?? options.pageSize);
      const tokenHeader = headers['x-ms-continuation-token'];
      const token = Array.isArray(tokenHeader) ? tokenHeader[0] : tokenHeader;
      const offset = token ? Number(Buffer.from(token, 'base64').toString('utf8')) : 0;
      const page = all.slice(offset, offset + top);
      const nextOffset = offset + page.length;
      return {
        status: 200,
        body: page,
        ...(nextOffset < all.length ? { headers: { 'x-ms-continuation-token': Buffer.from(String(nextOffset)).toString('base64') } } : {}),
      };
    }
    if (method === 'DELETE') {
      const deleted = hub.purgeBy(filter);
      return deleted === 0 ? { status: 404 } : { status: 200, body: { instancesDeleted: deleted } };
    }
    return { status: 405 };
  }

  const instanceId = second;
  if (third === undefined) {
    if (method === 'GET') {
      const status = hub.status(instanceId, {
        showHistory: query.get('showHistory') === 'true',
        showHistoryOutput: query.get('showHistoryOutput') === 'true',
        showInput: query.get('showInput') !== 'false',
      });
      if (!status) return { status: 404 };
      const code = statusHttpCode(status.runtimeStatus, query.get('returnInternalServerErrorOnFailure')?.toLowerCase() === 'true');
      return { status: code, body: status };
    }
    if (method === 'DELETE') {
      const deleted = hub.purge(instanceId);
      return deleted === 0 ? { status: 404 } : { status: 200, body: { instancesDeleted: deleted } };
    }
    return { status: 405 };
  }

  if (third === 'terminate' && method === 'POST') {
    const outcome = hub.terminate(instanceId, query.get('reason') ?? '');
    return { status: outcome === 'terminated' ? 202 : outcome === 'gone' ? 410 : 404 };
  }
  if (third === 'raiseEvent' && fourth !== undefined && method === 'POST') {
    const outcome = hub.raiseEvent(instanceId, fourth, bodyText === '' ? undefined : bodyText);
    return { status: outcome === 'raised' ? 202 : outcome === 'gone' ? 410 : 404 };
  }
  return { status: 404, body: { Message: `no route ${method} ${path}` } };
}

/** Request bodies the host reads are capped; past the cap the host answers 413 and reads no more. */
export const MAX_REQUEST_BODY_BYTES = 1024 * 1024;

export type BodyRead = { readonly ok: true; readonly body: Buffer } | { readonly ok: false; readonly reason: 'too-large' };

/**
 * Reads a request body up to `limit` bytes. A declared Content-Length over the limit is refused
 * before a byte is read; a streamed body stops being collected at the first chunk past the limit
 * (the caller answers 413 and closes the connection, so the rest is never buffered).
 * `onBytes` counts what was read, so tests can prove a refused body was not kept.
 */
export function readBodyCapped(req: IncomingMessage, limit: number, onBytes: (n: number) => void = () => undefined): Promise<BodyRead> {
  if (Number(req.headers['content-length'] ?? '0') > limit) return Promise.resolve({ ok: false, reason: 'too-large' });
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      onBytes(chunk.length);
      if (size > limit) {
        req.off('data', onData);
        req.pause();
        chunks.length = 0;
        resolve({ ok: false, reason: 'too-large' });
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => resolve({ ok: true, body: Buffer.concat(chunks) }));
    req.on('error', reject);
  });
}

/**
 * Answers a problem+json (src/api/problem.ts). When the body was not read (refused before reading, or
 * cut off past the cap) the connection is closed after the answer, so the rest of the body is
 * neither read nor buffered.
 */
export function sendProblem(res: ServerResponse, problem: ApiProblem, path: string, options: { closeConnection: boolean }): void {
  const init = problemResponse(problem, path);
  res.writeHead(problem.status, {
    ...(init.headers as Record<string, string>),
    ...(options.closeConnection ? { connection: 'close' } : {}),
  });
  res.end(typeof init.body === 'string' ? init.body : '');
}

export function sendResult(res: ServerResponse, result: RpcResult): void {
  const headers: Record<string, string> = { ...(result.headers ?? {}) };
  let payload = '';
  if (result.body !== undefined) {
    payload = JSON.stringify(result.body);
    headers['content-type'] = 'application/json; charset=utf-8';
  }
  res.writeHead(result.status, headers);
  res.end(payload);
}
