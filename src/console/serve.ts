/**
 * Serves the built console (dist/console, written by scripts/build.mjs) from the app itself:
 * hashed assets under /assets/ cached for a year as immutable, index.html never cached (so a deploy
 * is seen at the next load), each file pre-compressed at build time (brotli, else gzip, by the
 * request's Accept-Encoding), and a Content-Security-Policy that allows nothing but this origin:
 * no inline script or style, no other host, no framing.
 */
import Negotiator from 'negotiator';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { HttpResponseInit } from '@azure/functions';
import { ApiProblem, problemResponse } from '../api/problem';
import { BoundedMap } from '../core/boundedMap';

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

/** The files a build wrote, read once: relative path (`index.html`, `assets/main-3F2A.js.br`) → bytes. */
type BuiltFiles = ReadonlyMap<string, Buffer>;

/**
 * What the console can serve is fixed by the build: every file under the folder, listed and read
 * the first time it is asked for (a few files, about 100 KB). A request is answered from this list
 * or not at all, so no path a caller sends — a miss, a directory, `..`, an encoded slash — touches
 * the disk or stays in memory: the route is anonymous, and a cache keyed by what callers send
 * would grow with every distinct path (issue 20: 20,000 misses kept 136 MiB).
 */
/** The folders a process serves: one, or one per test; a bound all the same. */
const builds = new BoundedMap<string, BuiltFiles>(8);

function builtFiles(dir: string): BuiltFiles {
  let files = builds.get(dir);
  if (!files) {
    const found = new Map<string, Buffer>();
    const walk = (folder: string, prefix: string): void => {
      for (const entry of readdirSync(folder, { withFileTypes: true })) {
        if (entry.isDirectory()) walk(join(folder, entry.name), `${prefix}${entry.name}/`);
        else if (entry.isFile()) found.set(`${prefix}${entry.name}`, readFileSync(join(folder, entry.name)));
      }
    };
    walk(dir, '');
    files = found;
    builds.set(dir, files);
  }
  return files;
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
  const files = builtFiles(dir);
  const isAsset = path === 'assets' || path.startsWith('assets/');
  // Assets by their exact built name (hashed, plain ASCII); every other path is a page of the app.
  const name = isAsset ? path : 'index.html';
  const plain = files.get(name);
  if (!plain) return problemResponse(new ApiProblem(404, 'Not found', `no file /${path}`), `/${path}`);
  const type = TYPES[extname(name)] ?? 'application/octet-stream';
  // The client's q-values (RFC 9110 §12.5.3: `br;q=0` refuses brotli, `identity` may rank first),
  // negotiated by jshttp's negotiator (what Express uses); equal q-values go to the smaller file
  // (brotli, then gzip); an encoding this build did not write is skipped for the next one.
  const available = ['br', 'gzip', 'identity'];
  const preferred = new Negotiator({ headers: { 'accept-encoding': request.acceptEncoding } }).encodings(available, { preferred: available });
  const encoded = preferred
    .map((encoding) => ({ encoding, body: encoding === 'identity' ? plain : files.get(`${name}.${encoding === 'br' ? 'br' : 'gz'}`) }))
    .find((candidate) => candidate.body !== undefined);
  const body = encoded?.body ?? plain;
  return {
    status: 200,
    headers: {
      ...SECURITY_HEADERS,
      'content-type': type,
      'cache-control': isAsset ? 'public, max-age=31536000, immutable' : 'no-cache',
      vary: 'Accept-Encoding',
      ...(encoded && encoded.encoding !== 'identity' ? { 'content-encoding': encoded.encoding } : {}),
    },
    body: request.method === 'HEAD' ? new Uint8Array() : new Uint8Array(body),
  };
}
