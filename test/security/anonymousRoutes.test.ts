/**
 * What a caller with no key and no sign-in can make the app keep or do (issue 20, findings 1 and
 * 5): the anonymous routes — the console's files and pages, the console door of the API, the
 * OpenAPI document — keep no memory per request however many distinct paths are asked, odd asset
 * paths are plain 404s, and every API answer tells browsers and caches not to keep or sniff it.
 * The app's own registrations, in the development host.
 */
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { after, before, describe, test } from 'node:test';
import type { DevHost } from '../../src/devhost';
import { loadApp, type LoadedApp } from '../support/appHost';

const KEY = 'security-test-key';
let app: LoadedApp;
let host: DevHost;
let base: string;

before(async () => {
  app = await loadApp();
  host = await app.startHost({ functionKey: KEY });
  base = host.baseUrl ?? '';
});
after(async () => {
  await app.stop();
});

/** GETs every path, a few at a time; resolves with the statuses seen. */
async function getAll(paths: readonly string[], concurrency = 8): Promise<Set<number>> {
  const statuses = new Set<number>();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < paths.length; i = next++) {
        const response = await fetch(`${base}${paths[i] ?? ''}`);
        await response.arrayBuffer();
        statuses.add(response.status);
      }
    }),
  );
  return statuses;
}

function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** Heap in use after full collections: what the process keeps, not what it allocated on the way. */
function retained(gc: () => void): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

describe('anonymous routes keep nothing per request', () => {
  test('1,200 distinct long paths (asset misses, deep links, console-door calls) leave the heap where it was', async (t) => {
    const gc = exposeGc();
    // Each path is 14 KB of distinct text (Node's request-line limit is 16 KB): a cache keyed by
    // the 800 asset misses would keep about 11 MB.
    const long = (prefix: string, i: number) => `${prefix}${String(i).padStart(6, '0')}-${'x'.repeat(14 * 1024)}`;
    const paths = (n: number, offset: number) =>
      Array.from({ length: n }, (_, k) => {
        const i = offset + k;
        return i % 6 < 4 ? long(i % 2 === 0 ? '/assets/missing-' : '/assets/sub/', i) : i % 6 === 4 ? long('/runs/', i) : long('/api/console/runs/', i);
      });
    // Warm up first (the build's files read, sockets, lazily loaded modules): then measure.
    assert.deepEqual([...(await getAll(paths(240, 0)))].sort(), [200, 401, 404]);
    const before = retained(gc);
    const statuses = await getAll(paths(1_200, 240));
    const growth = retained(gc) - before;
    t.diagnostic(`heap growth after 1,200 distinct anonymous requests: ${(growth / 1024 / 1024).toFixed(2)} MiB`);
    assert.deepEqual([...statuses].sort(), [200, 401, 404], 'misses are 404, pages 200, the console door without sign-in 401');
    assert.ok(growth < 4 * 1024 * 1024, `the heap grew by ${(growth / 1024 / 1024).toFixed(1)} MiB after 1,200 distinct anonymous requests`);
  });

  test('asset directories and odd asset paths are 404 problem+json, never a 500', async () => {
    const real = `/${app.script}`;
    assert.equal((await fetch(`${base}${real}`)).status, 200, 'the built script is served');
    for (const path of ['/assets', '/assets/', '/assets//', `${real}/`, '/assets/%00', '/assets/..%2f..%2fpackage.json', `/assets/${'a/'.repeat(200)}`]) {
      const response = await fetch(`${base}${path}`);
      assert.equal(response.status, 404, `${path}: ${(await response.text()).slice(0, 200)}`);
      assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/, path);
    }
  });
});

describe('API answers are neither stored nor sniffed', () => {
  test('every API answer — a key-door success, the public OpenAPI document, a console-door refusal — says no-store and nosniff', async () => {
    const answers = [
      await fetch(`${base}/api/pipelines`, { headers: { 'x-functions-key': KEY } }),
      await fetch(`${base}/api/openapi.json`),
      await fetch(`${base}/api/console/runs`),
      await fetch(`${base}/api/console/me`),
    ];
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 401, 401]);
    for (const answer of answers) {
      assert.equal(answer.headers.get('cache-control'), 'no-store', answer.url);
      assert.equal(answer.headers.get('x-content-type-options'), 'nosniff', answer.url);
    }
  });
});
