/**
 * Serves the built console (dist/console, written by scripts/build.mjs) from the app itself:
 * hashed assets under /assets/ cached for a year as immutable, index.html never cached (so a deploy
 * is seen at the next load), each file pre-compressed at build time (brotli, else gzip, by the
 * request's Accept-Encoding), and a Content-Security-Policy that allows nothing but this origin:
 * no inline script or style, no other host, no framing.
 */
import { existsSync, readFileSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';
import type { HttpResponseInit } from '@azure/functions';
import { ApiProblem, problemResponse } from '../api/problem';

export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.map': 'application/json',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

const SECURITY_HEADERS = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
};

/** Where the build put the console: next to the bundle in dist, or dist/console when run from src. */
export function consoleDirectory(env: Readonly<Record<string, string | undefined>> = process.env): string | undefined {
  const candidates = [env['CONSOLE_DIR'], join(__dirname, 'console'), join(process.cwd(), 'dist', 'console')];
  return candidates.find((dir): dir is string => dir !== undefined && existsSync(join(dir, 'index.html')));
}

interface StaticRequest {
  readonly path: string;
  readonly method: string;
  readonly acceptEncoding: string;
}

const cache = new Map<string, Buffer | null>();
function read(file: string): Buffer | undefined {
  if (!cache.has(file)) cache.set(file, existsSync(file) ? readFileSync(file) : null);
  return cache.get(file) ?? undefined;
}

export function serveConsole(request: StaticRequest, dir: string | undefined): HttpResponseInit {
  const path = request.path.replace(/^\/+/, '');
  // The catch-all route sits beside the API: an unknown /api/… path is an API 404, not the console page.
  if (path === 'api' || path.startsWith('api/')) {
    return problemResponse(new ApiProblem(404, 'Not found', `no API route ${request.method} /${path} (see /api/openapi.json)`), `/${path}`);
  }
  // `admin/…` is the Functions host's own management API: the host keeps that route space for
  // itself (azure-functions-host ScriptHost.ValidateFunction: "The specified route conflicts with one
  // or more built in routes"), so it never reaches this catch-all in Azure; the dev host answers 404.
  if (path === 'admin' || path.startsWith('admin/')) {
    return problemResponse(new ApiProblem(404, 'Not found', `/${path} is the Functions host's admin API, not served by the app`), `/${path}`);
  }
  if (!dir) return problemResponse(new ApiProblem(503, 'Console not built', 'run `npm run build` to build the console into dist/console'), `/${path}`);
  const isAsset = path.startsWith('assets/');
  const file = isAsset ? normalize(join(dir, path)) : join(dir, 'index.html');
  if (!file.startsWith(dir + sep) || (isAsset && read(file) === undefined)) {
    return problemResponse(new ApiProblem(404, 'Not found', `no file /${path}`), `/${path}`);
  }
  const type = TYPES[extname(file)] ?? 'application/octet-stream';
  const accepts = request.acceptEncoding.toLowerCase();
  const encoded = (['br', 'gzip'] as const)
    .filter((encoding) => accepts.includes(encoding))
    .map((encoding) => ({ encoding, body: read(`${file}.${encoding === 'br' ? 'br' : 'gz'}`) }))
    .find((candidate) => candidate.body !== undefined);
  const body = encoded?.body ?? read(file) ?? Buffer.alloc(0);
  return {
    status: 200,
    headers: {
      ...SECURITY_HEADERS,
      'content-type': type,
      'cache-control': isAsset ? 'public, max-age=31536000, immutable' : 'no-cache',
      vary: 'Accept-Encoding',
      ...(encoded ? { 'content-encoding': encoded.encoding } : {}),
    },
    body: request.method === 'HEAD' ? new Uint8Array() : new Uint8Array(body),
  };
}
