/**
 * The extension's HTTP endpoints that durable-functions' DurableClient calls through `rpcBaseUrl`
 * (and the `/runtime/webhooks/durabletask/` management URLs it hands out), served from the in-memory
 * task hub. Handlers get the package's real DurableClient pointed at this server.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
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
  const parts = path.split('/').filter((p) => p !== '').map(decodeURIComponent);
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

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
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
