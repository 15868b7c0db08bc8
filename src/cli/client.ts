/**
 * The HTTP API as the CLI sees it: fetch with the function key, problems turned into CliErrors.
 *
 * With a sign-in token (`--token`, an Entra access token for the app) the CLI is a user, not a key:
 * it calls the console door (`/api/console/…`), where App Service Authentication turns the bearer
 * token into the signed-in principal and the app answers for that user's roles, projects included
 * (src/api/access.ts). Changes there carry what that door requires of every change: a JSON body and
 * `x-requested-with` (a browser on another site could send neither).
 */
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

export class ApiClient {
  constructor(private readonly options: ClientOptions) {}

  get<T>(path: string, query: Record<string, string | number | readonly string[] | undefined> = {}): Promise<T> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (Array.isArray(v)) for (const item of v as readonly string[]) params.append(k, item);
      else if (v !== undefined) params.set(k, String(v));
    }
    const qs = params.toString();
    return this.request<T>('GET', qs ? `${path}?${qs}` : path);
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const user = this.options.token !== undefined && this.options.token !== '';
    const url = `${this.options.baseUrl.replace(/\/+$/, '')}/api/${user ? 'console/' : ''}${path}`;
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
        signal: AbortSignal.timeout(30_000),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      // The URL may carry credentials (`user:password@`, `?code=`): fetch refuses the first and
      // quotes the URL in its error, so both the URL and the error are shown masked.
      const why = maskUrlCredentials(cause?.code ?? cause?.message ?? (error as Error).message);
      const credentials = hasUserinfo(this.options.baseUrl) ? ' A URL cannot carry credentials: pass the function key with --key or DURABLE_PIPELINES_KEY.' : '';
      throw new CliError(
        `cannot reach ${maskUrlCredentials(this.options.baseUrl)}: ${why}.${credentials} ` +
          'Is the app running (npm run dev / npm run demo -- --serve)? Set --url or DURABLE_PIPELINES_URL.',
        EXIT.unreachable,
      );
    }
    const text = await response.text();
    const parsed = parseJson(text);
    if (response.ok) return parsed as T;
    const problem = (parsed ?? {}) as Problem;
    const invalidFields = (problem.invalidFields ?? []).map((f) => ({ field: flagFor(f.field), message: f.message }));
    // The server's words, one line each: a detail cannot pose as another line of the error.
    const fields = invalidFields.map((f) => `\n  ${oneLine(f.field)}: ${oneLine(f.message)}`).join('');
    // The detail repeats the HTTP field names (`query.limit: …`); the list above already says it in flags.
    const what = oneLine((fields ? undefined : problem.detail) ?? problem.title ?? (text.slice(0, 200) || response.statusText));
    switch (response.status) {
      case 401:
        throw new CliError(
          user
            ? `the app did not accept the sign-in token (HTTP 401): ${what}. Get one with az account get-access-token --resource <the app registration's client id> --query accessToken -o tsv`
            : `the server refused the function key (HTTP ${response.status}). Pass --key or set DURABLE_PIPELINES_KEY.`,
          EXIT.unauthorized,
        );
      case 403:
        // Signed in, or with a key, and refused: the server says why (a project's role, read-only mode).
        throw new CliError(user || problem.detail !== undefined ? `refused (HTTP 403): ${what}` : `the server refused the function key (HTTP ${response.status}). Pass --key or set DURABLE_PIPELINES_KEY.`, EXIT.unauthorized);
      case 404:
        throw new CliError(`not found: ${what}`, EXIT.notFound);
      case 400:
      case 413:
      case 415:
        throw new CliError(`${oneLine(problem.title ?? 'invalid input')}${fields || `: ${what}`}`, EXIT.invalid, invalidFields);
      case 409:
        throw new CliError(`conflict: ${what}`, EXIT.conflict);
      default:
        throw new CliError(`server error (HTTP ${response.status}): ${what}`, EXIT.failed);
    }
  }
}

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

function hasUserinfo(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.username !== '' || parsed.password !== '';
  } catch {
    return false;
  }
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}
