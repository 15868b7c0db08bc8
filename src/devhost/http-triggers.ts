/**
 * HTTP triggers: `/api/<route>` matched against each registration's route template and methods,
 * handed a real `HttpRequest` from @azure/functions, with the response converted back through
 * `HttpResponse` (so `jsonBody`, `body` and `headers` behave as on the Functions host).
 */
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

export function matchRoute(route: CompiledRoute, path: string): Record<string, string> | undefined {
  const parts = path.split('/').filter((p) => p !== '');
  const params: Record<string, string> = {};
  let i = 0;
  for (const segment of route.segments) {
    const part = parts[i];
    if (segment.catchAll) {
      if (parts.length > i) params[segment.param ?? ''] = parts.slice(i).map(decodeURIComponent).join('/');
      return params;
    }
    if (part === undefined) {
      if (segment.optional) continue;
      return undefined;
    }
    if (segment.literal !== undefined) {
      if (decodeURIComponent(part).toLowerCase() !== segment.literal) return undefined;
    } else {
      params[segment.param ?? ''] = decodeURIComponent(part);
    }
    i++;
  }
  return i === parts.length ? params : undefined;
}

export function isAuthorized(registration: HttpRegistration, functionKey: string | undefined, headers: IncomingMessage['headers'], query: URLSearchParams): boolean {
  if (registration.options.authLevel === 'anonymous' || functionKey === undefined) return true;
  const header = headers['x-functions-key'];
  const presented = (Array.isArray(header) ? header[0] : header) ?? query.get('code') ?? undefined;
  return presented === functionKey;
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
  const query: Record<string, string> = {};
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
