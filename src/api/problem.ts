/**
 * Errors answered as RFC 9457 problem details (`application/problem+json`), naming the field at
 * fault, and the helpers that turn bad input into them. Handlers throw `ApiProblem`; the route
 * wrapper answers it, so no bad input can crash the app.
 */
import type { HttpResponseInit } from '@azure/functions';
import type { z } from 'zod';

export interface InvalidField {
  /** `parameters.day`, `query.limit`, `body.from` */
  readonly field: string;
  readonly message: string;
}

export class ApiProblem extends Error {
  override readonly name = 'ApiProblem';
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail?: string,
    readonly invalidFields: readonly InvalidField[] = [],
  ) {
    super(detail ?? title);
  }
}

const TYPES: Readonly<Record<number, string>> = {
  400: 'bad-request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not-found',
  405: 'method-not-allowed',
  409: 'conflict',
  413: 'payload-too-large',
  415: 'unsupported-media-type',
  500: 'internal-error',
  503: 'unavailable',
};

/**
 * Headers on every API answer: run data is never kept by a browser or a shared cache (a signed-in
 * user's runs on a kiosk, a proxy between the CLI and the app), and the JSON is never sniffed as
 * something a browser would render.
 */
export const API_HEADERS: Readonly<Record<string, string>> = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };

export function problemResponse(problem: ApiProblem, instance?: string): HttpResponseInit {
  return {
    status: problem.status,
    headers: { ...API_HEADERS, 'content-type': 'application/problem+json' },
    body: JSON.stringify({
      type: `https://durable-pipelines.dev/problems/${TYPES[problem.status] ?? 'error'}`,
      title: problem.title,
      status: problem.status,
      ...(problem.detail === undefined ? {} : { detail: problem.detail }),
      ...(instance === undefined ? {} : { instance }),
      ...(problem.invalidFields.length === 0 ? {} : { invalidFields: problem.invalidFields }),
    }),
  };
}

/** zod issues → a 400 naming each field under `prefix` (`body`, `query`). */
export function invalidInput(prefix: string, issues: readonly z.core.$ZodIssue[]): ApiProblem {
  const fieldName = (path: readonly PropertyKey[]): string =>
    [prefix, ...path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))].join('.').replace(/\.\[/g, '[');
  // An unknown key is reported by zod on the enclosing object: name the key itself instead.
  const fields = issues.flatMap((i) =>
    i.code === 'unrecognized_keys'
      ? i.keys.map((key) => ({ field: fieldName([...i.path, key]), message: 'unknown field' }))
      : [{ field: fieldName(i.path), message: i.message }],
  );
  return new ApiProblem(400, 'Invalid input', fields.map((f) => `${f.field}: ${f.message}`).join('; '), fields);
}

export const notFound = (what: string) => new ApiProblem(404, 'Not found', what);
export const conflict = (detail: string) => new ApiProblem(409, 'Conflict', detail);
