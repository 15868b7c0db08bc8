/** The HTTP API as the CLI sees it: fetch with the function key, problems turned into CliErrors. */
import { oneLine } from '../core/visibleText';
import { maskUrlCredentials } from '../logging/mask';
import { CliError, EXIT } from './exitCodes';

export interface ClientOptions {
  readonly baseUrl: string;
  readonly key?: string;
}

interface Problem {
  title?: string;
  detail?: string;
  invalidFields?: { field: string; message: string }[];
}

export class ApiClient {
  constructor(private readonly options: ClientOptions) {}

  get<T>(path: string, query: Record<string, string | number | undefined> = {}): Promise<T> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
    const qs = params.toString();
    return this.request<T>('GET', qs ? `${path}?${qs}` : path);
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = `${this.options.baseUrl.replace(/\/+$/, '')}/api/${path}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: {
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(this.options.key ? { 'x-functions-key': this.options.key } : {}),
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
      case 403:
        // The app's own refusal (read-only mode, not an approver) says why; the host's bare 403 is about the key.
        if (problem.detail) throw new CliError(`refused: ${what}`, EXIT.unauthorized);
        throw new CliError(`the server refused the function key (HTTP ${response.status}). Pass --key or set DURABLE_PIPELINES_KEY.`, EXIT.unauthorized);
      case 401:
        throw new CliError(`the server refused the function key (HTTP ${response.status}). Pass --key or set DURABLE_PIPELINES_KEY.`, EXIT.unauthorized);
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
