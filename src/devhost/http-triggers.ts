/**
 * HTTP triggers: `/api/<route>` matched against each registration's route template and methods,
 * handed a real `HttpRequest` from @azure/functions, with the response converted back through
 * `HttpResponse` (so `jsonBody`, `body` and `headers` behave as on the Functions host).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HttpRequest, HttpResponse, type HttpResponseInit } from '@azure/functions';
import type { HttpRegistration } from '../app/registry';

interface Segment {
  readonly literal?: string;
  readonly param?: string;
  readonly optional?: boolean;
  readonly catchAll?: boolean;
}

export interface CompiledRoute {
  readonly registration: HttpRegistration;
  readonly segments: readonly Segment[];
}

/** Azure route templates: `runs/{runId}`, `{name?}`, `{id:int}` (constraints ignored), `{*rest}`. */
export function compileRoute(registration: HttpRegistration): CompiledRoute {
  const template = registration.options.route.replace(/^\/+|\/+$/g, '');
  const segments = template === '' ? [] : template.split('/').map((part): Segment => {
    const match = /^\{(\*?)([A-Za-z_][\w]*)(?::[^}?]*)?(\??)\}$/.exec(part);
    if (!match) return { literal: part.toLowerCase() };
    return { param: match[2] ?? '', catchAll: match[1] === '*', optional: match[3] === '?' || match[1] === '*' };
  });
  return { registration, segments };
}

/**
 * host.json `extensions.http.routePrefix` as a path prefix: "api" (the Functions default) → "/api/",
 * "" → "/" (learn.microsoft.com/azure/azure-functions/functions-bindings-http-webhook-output#hostjson-settings).
 */
export function routePrefixOf(hostJson: unknown): string {
  const prefix = (hostJson as { extensions?: { http?: { routePrefix?: unknown } } } | undefined)?.extensions?.http?.routePrefix;
  const trimmed = (typeof prefix === 'string' ? prefix : 'api').replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '/' : `/${trimmed}/`;
}

/**
 * Orders routes as ASP.NET Core ranks templates, segment by segment: a literal before a parameter,
 * a parameter before an optional one, a catch-all last — so `{*path}` never shadows `api/runs`
 * whatever the registration order (aspnetcore RoutePrecedence.ComputeInbound).
 */
export function byPrecedence(a: CompiledRoute, b: CompiledRoute): number {
  const rank = (s: Segment | undefined): number => (s === undefined ? 5 : s.literal !== undefined ? 1 : s.catchAll ? 4 : s.optional ? 3 : 2);
  for (let i = 0; i < Math.max(a.segments.length, b.segments.length); i++) {
    const difference = rank(a.segments[i]) - rank(b.segments[i]);
    if (difference !== 0) return difference;
  }
  return 0;
}

export interface RouteMatch {
  readonly params: Record<string, string>;
  /** Parameters whose percent-encoding is malformed (`%ZZ`): answered 400 once the caller is authorized. */
  readonly malformed: readonly string[];
}

export function matchRoute(route: CompiledRoute, path: string): RouteMatch | undefined {
  const parts = path.split('/').filter((p) => p !== '');
  const params: Record<string, string> = {};
  const malformed: string[] = [];
  const decoded = (name: string, raw: string): string => {
    const value = safeDecode(raw);
    if (value === undefined) malformed.push(name);
    return value ?? raw;
  };
  let i = 0;
  for (const segment of route.segments) {
    const part = parts[i];
    if (segment.catchAll) {
      if (parts.length > i) params[segment.param ?? ''] = parts.slice(i).map((p) => decoded(segment.param ?? '', p)).join('/');
      return { params, malformed };
    }
    if (part === undefined) {
      if (segment.optional) continue;
      return undefined;
    }
    if (segment.literal !== undefined) {
      if ((safeDecode(part) ?? part).toLowerCase() !== segment.literal) return undefined;
    } else {
      params[segment.param ?? ''] = decoded(segment.param ?? '', part);
    }
    i++;
  }
  return i === parts.length ? { params, malformed } : undefined;
}

/** decodeURIComponent, or undefined for malformed percent-encoding (where it throws URIError). */
export function safeDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/** The key a caller presented, read as the Functions host does: `x-functions-key` header, else `?code=`. */
export function presentedKey(headers: IncomingMessage['headers'], query: URLSearchParams): string | undefined {
  const header = headers['x-functions-key'];
  return (Array.isArray(header) ? header[0] : header) ?? query.get('code') ?? undefined;
}

/**
 * Constant-time key comparison. Both sides are hashed to equal-length SHA-256 digests first:
 * `timingSafeEqual` needs equal lengths, and comparing lengths first would leak the key's length.
 */
export function keyMatches(presented: string | undefined, expected: string): boolean {
  if (presented === undefined) return false;
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

export function isAuthorized(registration: HttpRegistration, functionKey: string | undefined, headers: IncomingMessage['headers'], query: URLSearchParams): boolean {
  if (registration.options.authLevel === 'anonymous' || functionKey === undefined) return true;
  return keyMatches(presentedKey(headers, query), functionKey);
}

export function toHttpRequest(req: IncomingMessage, url: URL, body: Buffer, params: Record<string, string>, platformPrincipal?: () => string | undefined): HttpRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    // With sign-in emulated, like App Service, a client cannot send its own principal.
    if (platformPrincipal && name.startsWith('x-ms-client-principal')) continue;
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  const principal = platformPrincipal?.();
  if (principal !== undefined) headers['x-ms-client-principal'] = principal;
  // Own properties only: `query['__proto__'] = v` on a plain object would set its prototype instead.
  const query: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [name, value] of url.searchParams) query[name] = value;
  return new HttpRequest({
    method: req.method ?? 'GET',
    url: url.href,
    headers,
    query,
    params,
    ...(body.length > 0 ? { body: { string: body.toString('utf8') } } : {}),
  });
}

export interface PlainResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

function toResponseInit(result: unknown): HttpResponseInit {
  return typeof result === 'object' && result !== null ? result : {};
}

export async function fromHandlerResult(result: unknown): Promise<PlainResponse> {
  const response = result instanceof HttpResponse ? result : new HttpResponse(toResponseInit(result));
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  const body = Buffer.from(await response.arrayBuffer());
  return { status: response.status, headers, body };
}
