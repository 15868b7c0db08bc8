/**
 * HTTP triggers: the request handed to a handler is a real `HttpRequest` from @azure/functions and
 * the response is converted back through `HttpResponse` (so `jsonBody`, `body` and `headers`
 * behave as on the Functions host); keys are read and compared as the host reads them. Which
 * function a request goes to is src/devhost/http-routes.ts.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HttpRequest, HttpResponse, type HttpResponseInit } from '@azure/functions';
import type { HttpRegistration } from '../app/registry';

/**
 * host.json `extensions.http.routePrefix` as a path prefix: "api" when absent → "/api/", "" → "/"
 * (Azure/azure-webjobs-sdk-extensions, src/WebJobs.Extensions.Http/Config/HttpOptions.cs defaults
 * `RoutePrefix` to `HttpExtensionConstants.DefaultRoutePrefix`; Routing/WebJobsRouteBuilder.cs
 * `BuildRouteTemplate` puts it before every template, and nothing when it is empty).
 */
export function routePrefixOf(hostJson: unknown): string {
  const prefix = (hostJson as { extensions?: { http?: { routePrefix?: unknown } } } | undefined)?.extensions?.http?.routePrefix;
  const trimmed = (typeof prefix === 'string' ? prefix : 'api').replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '/' : `/${trimmed}/`;
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
