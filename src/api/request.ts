/** Reading an HTTP request safely: bounded JSON bodies and query strings, each through a schema. */
import type { z } from 'zod';
import { ApiProblem, invalidInput } from './problem';

/** What a handler needs of a request; `@azure/functions`' HttpRequest satisfies it. */
export interface ApiRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Headers;
  readonly query: URLSearchParams;
  readonly params: Readonly<Record<string, string>>;
  text(): Promise<string>;
}

export const MAX_BODY_BYTES = 256 * 1024;
/** Deepest nesting of objects and arrays a body may have; deeper input would overflow the schema parser's stack. */
export const MAX_JSON_DEPTH = 64;

/** `application/json` or a structured `+json` type (RFC 6839), parameters such as charset allowed. */
export function isJsonMediaType(contentType: string | null | undefined): boolean {
  return contentType !== null && contentType !== undefined && /^\s*application\/([\w.!#$&^-]+\+)?json\s*(;|$)/i.test(contentType);
}

/**
 * Parses a JSON body (empty = `{}`) with its schema: 413 over 256 KiB, 415 unless the content type
 * is JSON (a form or text/plain POST, which a browser sends cross-site without a preflight, is never
 * acted on), 400 when malformed or nested deeper than MAX_JSON_DEPTH.
 */
export async function readBody<S extends z.ZodType>(request: ApiRequest, schema: S): Promise<z.output<S>> {
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > MAX_BODY_BYTES) throw tooLarge();
  const text = await request.text();
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) throw tooLarge();
  let value: unknown = {};
  if (text.trim() !== '') {
    if (!isJsonMediaType(request.headers.get('content-type'))) {
      throw new ApiProblem(415, 'Unsupported media type', `request bodies must be application/json, not ${request.headers.get('content-type') ?? 'untyped'}`, [
        { field: 'header.content-type', message: 'expected application/json' },
      ]);
    }
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new ApiProblem(400, 'Malformed JSON', `the body is not valid JSON: ${(error as Error).message}`, [
        { field: 'body', message: 'not valid JSON' },
      ]);
    }
    const deep = pathDeeperThan(value, MAX_JSON_DEPTH);
    if (deep) {
      const field = ['body', ...deep].join('.').replace(/\.\[/g, '[');
      throw new ApiProblem(400, 'Invalid input', `${field}: nested deeper than ${MAX_JSON_DEPTH} levels`, [{ field, message: `nested deeper than ${MAX_JSON_DEPTH} levels` }]);
    }
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw invalidInput('body', parsed.error.issues);
  return parsed.data;
}

/**
 * The path to the first object or array nested deeper than `limit`, or undefined. Walks with an
 * explicit stack: recursion is what the limit protects against.
 */
export function pathDeeperThan(value: unknown, limit: number): string[] | undefined {
  const stack: { value: unknown; path: string[] }[] = [{ value, path: [] }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    if (typeof item.value !== 'object' || item.value === null) continue;
    if (item.path.length >= limit) return item.path;
    const entries: [string, unknown][] = Array.isArray(item.value)
      ? item.value.map((v, i): [string, unknown] => [`[${i}]`, v])
      : Object.entries(item.value);
    for (const [key, child] of entries) stack.push({ value: child, path: [...item.path, key] });
  }
  return undefined;
}

/**
 * Parses the query string with its schema (repeated keys keep the last value, except the
 * `repeatable` ones, which are lists). `code` is how the
 * Functions host takes the function key in a URL (`?code=`); the host has checked it, so it is no
 * input of ours and never reaches a schema.
 */
export function readQuery<S extends z.ZodType>(request: ApiRequest, schema: S, repeatable: readonly string[] = []): z.output<S> {
  const query = queryOf(request);
  const raw: Record<string, string | string[]> = Object.fromEntries([...query.entries()].filter(([name]) => name !== 'code'));
  // A repeatable filter (`?tag=a&tag=b`) is every value given, in order.
  for (const name of repeatable) if (query.has(name)) raw[name] = query.getAll(name);
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw invalidInput('query', parsed.error.issues);
  return parsed.data;
}

/**
 * The query as the caller sent it, read from the URL. `request.query` may have passed through a plain
 * object on its way in (`@azure/functions` builds it from a key/value mapping: `fromNullableMapping`
 * in its HttpRequest), where a key such as `__proto__` sets the prototype and silently disappears;
 * the URL keeps every name, so an unknown one is answered 400 like any other.
 */
function queryOf(request: ApiRequest): URLSearchParams {
  try {
    return new URL(request.url).searchParams;
  } catch {
    return request.query;
  }
}

function tooLarge(): ApiProblem {
  return new ApiProblem(413, 'Body too large', `request bodies are limited to ${MAX_BODY_BYTES / 1024} KiB`, [
    { field: 'body', message: `larger than ${MAX_BODY_BYTES / 1024} KiB` },
  ]);
}
