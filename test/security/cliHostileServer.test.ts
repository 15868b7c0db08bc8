/**
 * Red-team pass 2, F6 and F16: the CLI against a server that is not (or no longer) the app. The
 * function key goes to the origin of --url and nowhere else (no redirect followed, no plain http
 * to another host); answers are read up to a bound, checked for shape, and paged a bounded number
 * of times; `cost --set` refuses prototype keys and numbers that are not plain whole numbers.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { main } from '../../src/cli/main';

const KEY = 'SECRET-KEY-cli-hostile-0123';

interface Seen {
  method: string;
  url: string;
  key: string | undefined;
}

async function listen(handler: http.RequestListener): Promise<{ url: string; seen: Seen[]; close: () => Promise<void> }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', key: req.headers['x-functions-key'] as string | undefined });
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

async function cli(args: readonly string[]): Promise<{ code: number; errors: string }> {
  const errors: string[] = [];
  const log = console.log;
  console.log = () => undefined;
  try {
    const code = await main(['node', 'durable-pipelines', ...args], (line) => errors.push(line));
    return { code, errors: errors.join('\n') };
  } finally {
    console.log = log;
  }
}

const json = (res: http.ServerResponse, body: unknown): void => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

describe('the function key goes to --url and nowhere else', () => {
  let other: Awaited<ReturnType<typeof listen>>;
  let redirecting: Awaited<ReturnType<typeof listen>>;
  before(async () => {
    other = await listen((_req, res) => json(res, { runId: 'r1', status: 'cancelling', runs: [], nextCursor: null }));
    redirecting = await listen((req, res) => {
      res.writeHead(307, { location: `${other.url}${req.url ?? ''}` });
      res.end();
    });
  });
  after(async () => {
    await other.close();
    await redirecting.close();
  });

  test('a redirect to another origin is not followed: no request reaches it, the CLI says why, cancel does not claim success', async () => {
    for (const args of [['runs', 'ls'], ['cancel', 'some-run']]) {
      const result = await cli(['--url', redirecting.url, '--key', KEY, ...args]);
      assert.equal(result.code, 6, result.errors);
      assert.match(result.errors, /answered a redirect \(HTTP 307 to http:\/\/127\.0\.0\.1:\d+\), which the CLI does not follow/);
    }
    assert.deepEqual(other.seen, [], 'a request reached the other origin');
  });

  test('plain http to a host that is not loopback is refused before anything is sent', async () => {
    // 192.0.2.0/24 is TEST-NET-1: nothing answers there; the refusal comes first.
    const result = await cli(['--url', 'http://192.0.2.10:7071', '--key', KEY, 'runs', 'ls']);
    assert.equal(result.code, 3, result.errors);
    assert.match(result.errors, /refusing to send the function key in clear text to 192\.0\.2\.10:7071 over http:\/\/; use https:\/\//);
    assert.ok(!result.errors.includes(KEY));
  });

  test('a --url with ?code= is refused with a clear error, not a crash', async () => {
    const result = await cli(['--url', `${other.url}/?code=${KEY}`, 'runs', 'ls']);
    assert.equal(result.code, 3, result.errors);
    assert.match(result.errors, /a URL cannot carry credentials: pass the function key with --key/);
    assert.ok(!result.errors.includes(KEY), result.errors);
  });
});

describe('answers are bounded and checked', () => {
  let server: Awaited<ReturnType<typeof listen>>;
  let page = 0;
  before(async () => {
    server = await listen((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path === '/api/runs' && req.url?.includes('status=running')) {
        // 20 MiB of runs, streamed, with no content-length.
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"runs":[');
        const row = JSON.stringify({ runId: 'r', pipeline: 'p', status: 'running', createdAt: '2026-01-01T00:00:00Z' });
        const chunk = `${`${row},`.repeat(Math.floor((1 << 20) / (row.length + 1)))}`;
        let sent = 0;
        const pump = (): void => {
          while (sent < 20) {
            sent++;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end(`${row}]}`);
        };
        res.on('error', () => undefined);
        pump();
        return;
      }
      if (path === '/api/runs') return json(res, { runs: [{ runId: `r${++page}`, pipeline: 'p', status: 'succeeded', createdAt: '2026-01-01T00:00:00Z' }], nextCursor: `c${page}` });
      if (path.endsWith('/cancel')) return json(res, {});
      json(res, {});
    });
  });
  after(() => server.close());

  test('an answer over the bound is refused, not read whole', async () => {
    const result = await cli(['--url', server.url, '--key', KEY, 'runs', 'ls', '--status', 'running']);
    assert.equal(result.code, 1, result.errors);
    assert.match(result.errors, /answered more than 16 MiB: not read/);
  });

  test('runs ls --all stops when the server pages forever', async () => {
    const before = server.seen.length;
    const result = await cli(['--url', server.url, '--key', KEY, 'runs', 'ls', '--all']);
    assert.equal(result.code, 1, result.errors);
    assert.match(result.errors, /more than 1000 pages; stopped after 1001 runs/);
    assert.equal(server.seen.length - before, 1001);
  });

  test('cancel answered {} by a server that is not the API does not print "cancelling"', async () => {
    const result = await cli(['--url', server.url, '--key', KEY, 'cancel', 'r1']);
    assert.equal(result.code, 1, result.errors);
    assert.match(result.errors, /unexpected answer from .* to POST \/api\/runs\/r1\/cancel \(runId: .*\): is --url the durable-pipelines app\?/);
  });
});

describe('cost --set takes cost parameters and plain whole numbers only', () => {
  test('__proto__, constructor, 1e308 and Infinity are refused', async () => {
    for (const set of ['__proto__=1', 'constructor=1', 'durableAlwaysReady=1e308', 'durableAlwaysReady=Infinity', 'partitionCount=0x10']) {
      const result = await cli(['cost', '--set', set]);
      assert.equal(result.code, 3, `${set}: ${result.errors}`);
      assert.match(result.errors, /not a cost parameter|expected a whole number/, set);
    }
  });
});
