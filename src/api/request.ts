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

/** Parses a JSON body (empty = `{}`) with its schema; 413 over 256 KiB, 400 when malformed. */
export async function readBody<S extends z.ZodType>(request: ApiRequest, schema: S): Promise<z.output<S>> {
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > MAX_BODY_BYTES) throw tooLarge();
  const text = await request.text();
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) throw tooLarge();
  let value: unknown = {};
  if (text.trim() !== '') {
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new ApiProblem(400, 'Malformed JSON', `the body is not valid JSON: ${(error as Error).message}`, [
        { field: 'body', message: 'not valid JSON' },
      ]);
    }
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw invalidInput('body', parsed.error.issues);
  return parsed.data;
}

/** Parses the query string with its schema (repeated keys keep the last value). */
export function readQuery<S extends z.ZodType>(request: ApiRequest, schema: S): z.output<S> {
  const raw = Object.fromEntries(request.query.entries());
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw invalidInput('query', parsed.error.issues);
  return parsed.data;
}

function tooLarge(): ApiProblem {
  return new ApiProblem(413, 'Body too large', `request bodies are limited to ${MAX_BODY_BYTES / 1024} KiB`, [
    { field: 'body', message: `larger than ${MAX_BODY_BYTES / 1024} KiB` },
  ]);
}
