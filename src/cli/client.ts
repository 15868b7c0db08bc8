/** The HTTP API as the CLI sees it: fetch with the function key, problems turned into CliErrors. */
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
      throw new CliError(
        `cannot reach ${this.options.baseUrl}: ${cause?.code ?? cause?.message ?? (error as Error).message}. ` +
          'Is the app running (npm run dev / npm run demo -- --serve)? Set --url or DURABLE_PIPELINES_URL.',
        EXIT.unreachable,
      );
    }
    const text = await response.text();
    const parsed = parseJson(text);
    if (response.ok) return parsed as T;
    const problem = (parsed ?? {}) as Problem;
    const fields = (problem.invalidFields ?? []).map((f) => `\n  ${f.field}: ${f.message}`).join('');
    const what = problem.detail ?? problem.title ?? (text.slice(0, 200) || response.statusText);
    switch (response.status) {
      case 401:
      case 403:
        throw new CliError(`the server refused the function key (HTTP ${response.status}). Pass --key or set DURABLE_PIPELINES_KEY.`, EXIT.unauthorized);
      case 404:
        throw new CliError(`not found: ${what}`, EXIT.notFound);
      case 400:
      case 413:
      case 415:
        throw new CliError(`${problem.title ?? 'invalid input'}${fields || `: ${what}`}`, EXIT.invalid);
      case 409:
        throw new CliError(`conflict: ${what}`, EXIT.conflict);
      default:
        throw new CliError(`server error (HTTP ${response.status}): ${what}`, EXIT.failed);
    }
  }
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}
