/**
 * The HTTP API as the CLI sees it: fetch with the function key, problems turned into CliErrors.
 *
 * The key goes to the origin of `--url` and nowhere else: no redirect is followed (a 307 would
 * replay a POST, key included, at another host), a `--url` with credentials or a query is refused
 * before anything is sent, and plain `http://` is refused for any host but this machine's loopback.
 * Answers are read up to a bound and checked against the shape the command reads (answers.ts).
 *
 * With a sign-in token (`--token`, an Entra access token for the app) the CLI is a user, not a key:
 * it calls the console door (`/api/console/…`), where App Service Authentication turns the bearer
 * token into the signed-in principal and the app answers for that user's roles, projects included
 * (src/api/access.ts). Changes there carry what that door requires of every change: a JSON body and
 * `x-requested-with` (a browser on another site could send neither).
 */
import type { z } from 'zod';
import { BodyTooLargeError, readBoundedText } from '../core/boundedBody';
import { oneLine } from '../core/visibleText';
import { maskUrlCredentials } from '../logging/mask';
import { CliError, EXIT } from './exitCodes';

export interface ClientOptions {
  readonly baseUrl: string;
  readonly key?: string;
  /** A user's sign-in token: the console door, as that user (the key is then not sent). */
  readonly token?: string;
}

/** The header the console door requires of changes (src/api/access.ts). */
const CONSOLE_HEADER = { 'x-requested-with': 'durable-pipelines-console' };

interface Problem {
  title?: string;
  detail?: string;
  invalidFields?: { field: string; message: string }[];
}

/** The largest answer read: far above a page of 1,000 log lines, far below what would exhaust memory. */
export const MAX_ANSWER_BYTES = 16 * 1024 * 1024;
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * An answer that may come right on a second try: no answer, a cut or stalled body, 408, 429 or a
 * 5xx from the front end (a restart, a deploy). `--follow` retries these (follow.ts).
 */
export class TransientCliError extends CliError {
  constructor(message: string, exitCode: number) {
    super(message, exitCode);
  }
}

const TRANSIENT_STATUS = new Set([408, 429, 500, 502, 503, 504]);

export class ApiClient {
  private checkedBase: string | undefined;

  constructor(private readonly options: ClientOptions) {}

  get<T>(path: string, query: Record<string, string | number | readonly string[] | undefined> = {}, shape?: z.ZodType): Promise<T> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (Array.isArray(v)) for (const item of v as readonly string[]) params.append(k, item);
      else if (v !== undefined) params.set(k, String(v));
    }
    const qs = params.toString();
    return this.request<T>('GET', qs ? `${path}?${qs}` : path, undefined, shape);
  }

  post<T>(path: string, body: unknown = {}, shape?: z.ZodType): Promise<T> {
    return this.request<T>('POST', path, body, shape);
  }

  /** `--url` as the origin the key (or the sign-in token) may go to, or a CliError saying why not. */
  private base(): string {
    if (this.checkedBase !== undefined) return this.checkedBase;
    const sendsCredentials = this.options.key !== undefined || (this.options.token !== undefined && this.options.token !== '');
    this.checkedBase = checkBaseUrl(this.options.baseUrl, sendsCredentials);
    return this.checkedBase;
  }

  private async request<T>(method: string, path: string, body: unknown, shape: z.ZodType | undefined): Promise<T> {
    const base = this.base();
    const user = this.options.token !== undefined && this.options.token !== '';
    const url = `${base}/api/${user ? 'console/' : ''}${path}`;
    const credentials: Record<string, string> = user
      ? { authorization: `Bearer ${this.options.token ?? ''}`, ...(method === 'GET' ? {} : CONSOLE_HEADER) }
      : this.options.key
        ? { 'x-functions-key': this.options.key }
        : {};
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: {
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...credentials,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        // Never followed: a redirect would carry the key (and replay a POST) wherever it points.
        redirect: 'manual',
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const why = maskUrlCredentials(cause?.code ?? cause?.message ?? (error as Error).message);
      throw new TransientCliError(
        `cannot reach ${maskUrlCredentials(base)}: ${why}. Is the app running (npm run dev / npm run demo -- --serve)? Set --url or DURABLE_PIPELINES_URL.`,
        EXIT.unreachable,
      );
    }
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel();
      const location = response.headers.get('location');
      throw new CliError(
        `${maskUrlCredentials(base)} answered a redirect (HTTP ${response.status}${location ? ` to ${oneLine(maskUrlCredentials(originOf(location, url)))}` : ''}), which the CLI does not follow: it would carry the function key there. Set --url to the app's own address.`,
        EXIT.unreachable,
      );
    }
    const text = await readBounded(response, base);
    const parsed = parseJson(text);
    if (response.ok) {
      if (shape === undefined) return parsed as T;
      const checked = shape.safeParse(parsed);
      if (!checked.success) {
        const issue = checked.error.issues[0];
        const where = issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'unexpected shape';
        throw new CliError(`unexpected answer from ${maskUrlCredentials(base)} to ${method} /api/${path.split('?')[0] ?? ''} (${oneLine(where)}): is --url the durable-pipelines app?`, EXIT.failed);
      }
      return parsed as T;
    }
    const problem = (isObject(parsed) ? parsed : {}) as Problem;
    const invalidFields = (Array.isArray(problem.invalidFields) ? problem.invalidFields : [])
      .filter((f) => isObject(f) && typeof f.field === 'string' && typeof f.message === 'string')
      .map((f) => ({ field: flagFor(f.field), message: f.message }));
    // The server's words, one line each: a detail cannot pose as another line of the error.
    const fields = invalidFields.map((f) => `\n  ${oneLine(f.field)}: ${oneLine(f.message)}`).join('');
    // The detail repeats the HTTP field names (`query.limit: …`); the list above already says it in flags.
    const detail = typeof problem.detail === 'string' ? problem.detail : undefined;
    const title = typeof problem.title === 'string' ? problem.title : undefined;
    const what = oneLine((fields ? undefined : detail) ?? title ?? (text.slice(0, 200) || response.statusText));
    switch (response.status) {
      case 401:
        throw new CliError(
          user
            ? `the app did not accept the sign-in token (HTTP 401): ${what}. Get one with az account get-access-token --resource <the app registration's client id> --query accessToken -o tsv`
            : `the server refused the function key (HTTP ${response.status}). Pass --key or set DURABLE_PIPELINES_KEY.`,
          EXIT.unauthorized,
        );
      case 403:
        // Signed in, or with a key, and refused: the app's own refusal says why (a project's role,
        // read-only mode, not an approver); the host's bare 403 is about the key.
        throw new CliError(user || problem.detail !== undefined ? `refused (HTTP 403): ${what}` : `the server refused the function key (HTTP ${response.status}). Pass --key or set DURABLE_PIPELINES_KEY.`, EXIT.unauthorized);
      case 404:
        throw new CliError(`not found: ${what}`, EXIT.notFound);
      case 400:
      case 413:
      case 415:
        throw new CliError(`${oneLine(title ?? 'invalid input')}${fields || `: ${what}`}`, EXIT.invalid, invalidFields);
      case 409:
        throw new CliError(`conflict: ${what}`, EXIT.conflict);
      default:
        if (TRANSIENT_STATUS.has(response.status)) throw new TransientCliError(`server error (HTTP ${response.status}): ${what}`, EXIT.failed);
        throw new CliError(`server error (HTTP ${response.status}): ${what}`, EXIT.failed);
    }
  }
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

function isLoopback(hostname: string): boolean {
  return LOOPBACK.has(hostname) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname) || hostname.endsWith('.localhost');
}

/**
 * The origin (and path prefix) the CLI talks to, checked: http or https, no credentials, no query or
 * fragment (`?code=` would be a key in the URL, and the path would be built after it), and with a
 * key, https unless the host is this machine's loopback.
 */
export function checkBaseUrl(raw: string, sendsKey: boolean): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CliError(`--url: not a URL: ${oneLine(maskUrlCredentials(raw))}`, EXIT.invalid, [{ field: '--url', message: 'not a URL' }]);
  }
  const shown = oneLine(maskUrlCredentials(raw));
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError(`--url: ${shown} is not http:// or https://`, EXIT.invalid, [{ field: '--url', message: 'http:// or https:// only' }]);
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw new CliError(
      `--url: ${shown} carries credentials or a query; a URL cannot carry credentials: pass the function key with --key or DURABLE_PIPELINES_KEY, and give the app's address alone`,
      EXIT.invalid,
      [{ field: '--url', message: 'no credentials, query or fragment' }],
    );
  }
  if (sendsKey && url.protocol === 'http:' && !isLoopback(url.hostname)) {
    throw new CliError(
      `--url: refusing to send the function key in clear text to ${url.host} over http://; use https:// (plain http only to localhost, 127.0.0.1 or ::1)`,
      EXIT.invalid,
      [{ field: '--url', message: 'https:// for any host but loopback' }],
    );
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

function originOf(location: string, from: string): string {
  try {
    return new URL(location, from).origin;
  } catch {
    return 'an unreadable address';
  }
}

/** The body, refused past MAX_ANSWER_BYTES; a cut or stalled body is transient (a retry may get it whole). */
async function readBounded(response: Response, base: string): Promise<string> {
  try {
    return await readBoundedText(response, MAX_ANSWER_BYTES);
  } catch (error) {
    if (error instanceof BodyTooLargeError) throw tooLarge(base);
    const reason = error instanceof Error && error.name === 'TimeoutError' ? `no complete answer within ${REQUEST_TIMEOUT_MS / 1000} s` : 'the answer was cut off';
    throw new TransientCliError(`${maskUrlCredentials(base)}: ${reason}`, EXIT.unreachable);
  }
}

const tooLarge = (base: string): CliError =>
  new CliError(`${maskUrlCredentials(base)} answered more than ${MAX_ANSWER_BYTES / 1024 / 1024} MiB: not read (is --url the durable-pipelines app?)`, EXIT.failed);

/**
 * The flag a user typed for a field the API names: `query.limit` → `--limit`, `body.from` → `--from`,
 * `body.parameters.day` → `--param day`, `body.idempotencyKey` → `--idempotency-key`. A field with
 * no flag (`body`) stays as the API names it.
 */
export function flagFor(field: string): string {
  const param = /^body\.parameters\.(.+)$/.exec(field);
  if (param?.[1]) return `--param ${param[1]}`;
  const plain = /^(?:query|body)\.([A-Za-z][A-Za-z0-9]*)$/.exec(field);
  if (plain?.[1]) return `--${plain[1].replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  return field;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}
