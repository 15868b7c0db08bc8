/**
 * How the app serves the built console (src/console/serve.ts) and routes `/` beside the API: what a
 * browser gets back — compressed bytes it asked for, caching that lets a deploy show at once, the
 * CSP, API 404s that stay problem+json — and the route prefix that puts it at `/`. Which function
 * a path goes to is test/unit/httpRoutes.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { serveConsole } from '../../src/console/serve';
import { routePrefixOf } from '../../src/devhost/http-triggers';
import { buildConsole } from '../../scripts/buildConsole.mjs';

const bytes = (body: unknown): Buffer => Buffer.from(body as Uint8Array);

describe('serving the console', () => {
  let dir: string;
  let script: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dp-console-serve-'));
    script = basename((await buildConsole(dir)).script);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('index.html for any page path, never cached, under a strict CSP', () => {
    for (const path of ['/', '/runs/anything']) {
      const response = serveConsole({ path, method: 'GET', acceptEncoding: '' }, dir);
      assert.equal(response.status, 200);
      const headers = response.headers as Record<string, string>;
      assert.equal(headers['cache-control'], 'no-cache');
      assert.match(headers['content-security-policy'] ?? '', /^default-src 'self'; script-src 'self'; style-src 'self';/);
      assert.match(bytes(response.body).toString('utf8'), new RegExp(`<script type="module" src="/assets/${script}">`));
    }
  });

  test('hashed assets: brotli when accepted, else gzip, else plain; cached a year as immutable', () => {
    const plain = readFileSync(join(dir, 'assets', script));
    const br = serveConsole({ path: `/assets/${script}`, method: 'GET', acceptEncoding: 'gzip, deflate, br' }, dir);
    const headers = br.headers as Record<string, string>;
    assert.equal(headers['content-encoding'], 'br');
    assert.equal(headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(headers['content-type'], 'text/javascript; charset=utf-8');
    assert.deepEqual(brotliDecompressSync(bytes(br.body)), plain);
    const gz = serveConsole({ path: `/assets/${script}`, method: 'GET', acceptEncoding: 'gzip' }, dir);
    assert.equal((gz.headers as Record<string, string>)['content-encoding'], 'gzip');
    assert.deepEqual(gunzipSync(bytes(gz.body)), plain);
    const none = serveConsole({ path: `/assets/${script}`, method: 'GET', acceptEncoding: '' }, dir);
    assert.equal((none.headers as Record<string, string>)['content-encoding'], undefined);
    assert.deepEqual(bytes(none.body), plain);
  });

  test('Accept-Encoding q-values are honoured: q=0 refuses an encoding, a higher q wins, unknown tokens are not brotli (red-team pass 2, F15)', () => {
    const plain = readFileSync(join(dir, 'assets', script));
    const cases: [string, string | undefined][] = [
      ['br;q=0, gzip', 'gzip'],
      ['br;q=0', undefined],
      ['x-br', undefined],
      ['gzip;q=1, br;q=0.5', 'gzip'],
      ['gzip;q=0.5, br;q=0.9', 'br'],
      ['identity, br;q=0.5', undefined],
      ['*', 'br'],
      ['*;q=0', undefined],
      ['gzip, deflate, br, zstd', 'br'],
    ];
    for (const [acceptEncoding, expected] of cases) {
      const answer = serveConsole({ path: `/assets/${script}`, method: 'GET', acceptEncoding }, dir);
      const encoding = (answer.headers as Record<string, string>)['content-encoding'];
      assert.equal(encoding, expected, acceptEncoding);
      const body = bytes(answer.body);
      assert.deepEqual(encoding === 'br' ? brotliDecompressSync(body) : encoding === 'gzip' ? gunzipSync(body) : body, plain, acceptEncoding);
    }
  });

  test('an unknown /api path, the host admin API path, a missing asset and a path out of the folder are problem+json 404s', () => {
    for (const path of ['/api/nope', '/assets/missing.js', '/assets/../../package.json', '/admin/host/status']) {
      const response = serveConsole({ path, method: 'GET', acceptEncoding: '' }, dir);
      assert.equal(response.status, 404, path);
      assert.equal((response.headers as Record<string, string>)['content-type'], 'application/problem+json');
    }
  });

  test('without a build the console answers 503 saying to run npm run build', () => {
    const response = serveConsole({ path: '/', method: 'GET', acceptEncoding: '' }, undefined);
    assert.equal(response.status, 503);
    assert.match(typeof response.body === 'string' ? response.body : '', /npm run build/);
  });
});

describe('the console at / beside the API', () => {
  test('host.json routePrefix "" serves from the root; absent means the Functions default "api"', () => {
    assert.equal(routePrefixOf({ extensions: { http: { routePrefix: '' } } }), '/');
    assert.equal(routePrefixOf({}), '/api/');
    assert.equal(routePrefixOf(JSON.parse(readFileSync('host.json', 'utf8'))), '/');
  });
});
