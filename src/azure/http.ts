/**
 * One HTTP call with the failure classes the engine retries by: network trouble, timeouts, 408,
 * 429 and 5xx are transient (429/503 with `Retry-After` say when to come back), 401/403 mean the
 * credential was refused, other 4xx are permanent. Used by the dbt Cloud and ARM/Blob clients.
 *
 * Error texts never hold request headers; response bodies are cut short and masked, because a
 * service may echo what it was sent.
 */
import { PermanentError, RetryAfterError, TransientError, type ClassifiedError } from '../core/errors';
import { maskSecrets } from '../logging/mask';
import { BodyTooLargeError, readBoundedText } from '../core/boundedBody';

export type Fetch = typeof fetch;

export interface HttpRequest {
  readonly method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';
  readonly url: string;
  readonly headers?: Record<string, string>;
  /** Sent as JSON. */
  readonly json?: unknown;
  readonly timeoutMs?: number;
  /** The largest answer read (default DEFAULT_MAX_ANSWER_BYTES); a larger one fails permanently, unread. */
  readonly maxBytes?: number;
}

/**
 * 32 MiB: a run_results.json of several thousand nodes is a few MiB; an ARM or Blob answer is
 * smaller still. What passes it is not read, so a service's answer cannot exhaust the instance.
 */
export const DEFAULT_MAX_ANSWER_BYTES = 32 * 1024 * 1024;

export interface HttpReply {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const BODY_EXCERPT = 300;

/** The service refused the credential (401/403). Permanent unless a fresh credential helps. */
export class AuthRejectedError extends PermanentError {
  readonly status: number;
  constructor(message: string, status: number) {
    super(message, { code: `HTTP ${status}` });
    this.status = status;
  }
}

/** Sends the request; resolves with any HTTP status, rejects (transient) only when no answer came. */
export async function send(fetchImpl: Fetch, request: HttpRequest, what: string): Promise<HttpReply> {
  const headers: Record<string, string> = { accept: 'application/json', ...request.headers };
  let body: string | undefined;
  if (request.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(request.json);
  }
  try {
    const response = await fetchImpl(request.url, {
      method: request.method,
      headers,
      ...(body === undefined ? {} : { body }),
      signal: AbortSignal.timeout(request.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      redirect: 'manual',
    });
    return { status: response.status, headers: response.headers, text: await readBoundedText(response, request.maxBytes ?? DEFAULT_MAX_ANSWER_BYTES) };
  } catch (error) {
    if (error instanceof BodyTooLargeError) throw new PermanentError(`${what}: ${error.message}`, { code: 'ANSWER_TOO_LARGE' });
    const reason = error instanceof Error && error.name === 'TimeoutError' ? 'timed out' : describeNetworkError(error);
    throw new TransientError(`${what}: ${reason}`, { code: 'NETWORK' });
  }
}

function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return 'network error';
  const cause = error.cause instanceof Error ? `: ${(error.cause as Error & { code?: string }).code ?? error.cause.message}` : '';
  return maskSecrets(`${error.message}${cause}`);
}

export function isSuccess(reply: HttpReply): boolean {
  return reply.status >= 200 && reply.status < 300;
}

/** Seconds from a `Retry-After` header (delta seconds or an HTTP date), if any. */
export function retryAfterSeconds(headers: Headers, now: number = Date.now()): number | undefined {
  const value = headers.get('retry-after');
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

/**
 * The classified error for a non-2xx reply. `detail` is the service's own message, extracted by the
 * caller from its error envelope; it falls back to an excerpt of the body.
 */
export function failureFor(reply: HttpReply, what: string, detail?: string): ClassifiedError {
  const said = maskSecrets(detail ?? excerpt(reply.text));
  const message = `${what}: HTTP ${reply.status}${said ? ` — ${said}` : ''}`;
  const code = `HTTP ${reply.status}`;
  if (reply.status === 401 || reply.status === 403) return new AuthRejectedError(message, reply.status);
  const wait = retryAfterSeconds(reply.headers);
  if ((reply.status === 429 || reply.status === 503) && wait !== undefined) return new RetryAfterError(message, wait, { code });
  if (reply.status === 408 || reply.status === 429 || reply.status >= 500) return new TransientError(message, { code });
  return new PermanentError(message, { code });
}

function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > BODY_EXCERPT ? `${flat.slice(0, BODY_EXCERPT)}…` : flat;
}

/** Parses a JSON body; a body that is not JSON is the service misbehaving, hence transient. */
export function parseJson(reply: HttpReply, what: string): unknown {
  try {
    return JSON.parse(reply.text) as unknown;
  } catch {
    throw new TransientError(`${what}: the response is not JSON (HTTP ${reply.status})`, { code: 'BAD_RESPONSE' });
  }
}
