/**
 * The development host trusts no one by default (issue 20, findings 2 and 5): it answers only
 * requests that name a loopback host (or one the user listed), drops a principal a client sends
 * unless it emulates sign-in itself, and never logs a function key; `npm run demo -- --serve` signs
 * nobody in unless asked on the command line, and says what it exposes and to whom.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { HttpRegistration } from '../../src/app/registry';
import { encodePrincipal } from '../../src/auth/principal';
import { LOCAL_USERS } from '../../src/auth/roles';
import { DevHost } from '../../src/devhost';
import { loadApp, type LoadedApp } from '../support/appHost';
import { startDemo, stopAllChildren, type DemoProcess } from '../support/demoProcess';

let app: LoadedApp;

before(async () => {
  // As in a local.settings.json copied from Azure: the app believes the platform's principal header.
  app = await loadApp({ WEBSITE_AUTH_ENABLED: 'True' });
});
after(async () => {
  await app.stop();
  await stopAllChildren();
});

/** One raw HTTP/1.1 exchange: any request line and Host, as a rebinding page or a script can send. */
function rawRequest(port: number, lines: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(`${lines.join('\r\n')}\r\nConnection: close\r\n\r\n`));
    let text = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
}

const statusOf = (answer: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);

describe('the dev host answers loopback names only', () => {
  test('a request naming another host (DNS rebinding) is refused 403 before any function runs; loopback names and --allow-host names are served', async () => {
    let calls = 0;
    const probe: HttpRegistration = {
      kind: 'http',
      name: 'probe',
      options: { route: 'probe', methods: ['GET'], authLevel: 'anonymous' },
      handler: () => {
        calls++;
        return Promise.resolve({ status: 200, body: 'ran' });
      },
    };
    const host = await DevHost.start({ registrations: [probe], httpPort: 0, hostJson: { extensions: { http: { routePrefix: '' } } }, allowedHosts: ['pipelines.test'] });
    try {
      const port = Number(new URL(host.baseUrl ?? '').port);
      const get = (target: string, hostHeader: string) => rawRequest(port, [`GET ${target} HTTP/1.1`, `Host: ${hostHeader}`]);
      for (const evil of ['attacker.example', `attacker.example:${port}`, 'localhost.attacker.example', '127.0.0.1.nip.io', '']) {
        const answer = await get('/probe', evil);
        assert.equal(statusOf(answer), 403, `Host ${JSON.stringify(evil)}: ${answer.slice(0, 300)}`);
        assert.match(answer, /application\/problem\+json/);
      }
      // The absolute form names its own host, which wins over the Host header (RFC 9112 §3.2.2).
      assert.equal(statusOf(await get('http://attacker.example/probe', `localhost:${port}`)), 403, 'absolute-form request line');
      assert.equal(calls, 0, 'a refused request ran the function');
      for (const good of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, `LOCALHOST:${port}`, `app.localhost:${port}`, 'pipelines.test']) {
        assert.equal(statusOf(await get('/probe', good)), 200, `Host ${good}`);
      }
      assert.equal(calls, 6);
    } finally {
      await host.stop();
    }
  });

  test('the app served by the dev host refuses a rebinding host on the console and on the console door alike', async () => {
    const host = await app.startHost({ platformPrincipal: () => encodePrincipal(LOCAL_USERS.operator) });
    const port = Number(new URL(host.baseUrl ?? '').port);
    for (const path of ['/', '/api/console/me', '/api/openapi.json']) {
      const answer = await rawRequest(port, [`GET ${path} HTTP/1.1`, 'Host: attacker.example']);
      assert.equal(statusOf(answer), 403, `${path}: ${answer.slice(0, 300)}`);
      assert.doesNotMatch(answer, /operator@localhost/);
    }
  });
});

describe('a principal sent by a client is never believed by the dev host', () => {
  test('WEBSITE_AUTH_ENABLED=True in the settings, no emulated sign-in: a client-sent x-ms-client-principal claiming Operate gets 401', async () => {
    const host = await app.startHost({});
    const forged = encodePrincipal({ name: 'mallory@example.com', roles: ['Pipelines.Read', 'Pipelines.Operate'] });
    const me = await fetch(`${host.baseUrl ?? ''}/api/console/me`, { headers: { 'x-ms-client-principal': forged, 'x-ms-client-principal-name': 'mallory@example.com' } });
    assert.equal(me.status, 401, await me.text());
    const change = await fetch(`${host.baseUrl ?? ''}/api/console/runs/data-pipeline-20260101T000000Z-abcdef/cancel`, {
      method: 'POST',
      headers: { 'x-ms-client-principal': forged, 'content-type': 'application/json', 'x-requested-with': 'durable-pipelines-console' },
      body: '{}',
    });
    assert.equal(change.status, 401, await change.text());
  });

  test('with sign-in emulated, the emulated user is the caller whatever principal the client sends', async () => {
    const host = await app.startHost({ platformPrincipal: () => encodePrincipal(LOCAL_USERS.reader) });
    const forged = encodePrincipal({ name: 'mallory@example.com', roles: ['Pipelines.Operate'] });
    const me = (await (await fetch(`${host.baseUrl ?? ''}/api/console/me`, { headers: { 'x-ms-client-principal': forged } })).json()) as { name: string; canOperate: boolean };
    assert.deepEqual([me.name, me.canOperate], ['reader@localhost', false]);
  });
});

describe('console writes come from the console only', () => {
  test('a change through the console door with another Origin, or a Sec-Fetch-Site other than same-origin, is refused 403; the same change from the console\'s origin is admitted; the key door ignores both', async () => {
    const host = await app.startHost({ platformPrincipal: () => encodePrincipal(LOCAL_USERS.operator), functionKey: 'door-key' });
    const base = host.baseUrl ?? '';
    const cancel = (door: string, headers: Record<string, string>) =>
      fetch(`${base}/api/${door}runs/data-pipeline-20260101T000000Z-abcdef/cancel`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-requested-with': 'durable-pipelines-console', ...headers }, body: '{}' });
    for (const [what, headers] of [
      ['another origin', { origin: 'https://attacker.example' }],
      ['a null origin', { origin: 'null' }],
      ['another port of this host', { origin: `${base.replace(/:\d+$/, '')}:1` }],
      ['Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }],
      ['Sec-Fetch-Site: same-site', { 'sec-fetch-site': 'same-site' }],
    ] as const) {
      const answer = await cancel('console/', headers);
      const text = await answer.text();
      assert.equal(answer.status, 403, `${what}: ${text}`);
      assert.match((JSON.parse(text) as { title: string }).title, /Cross-site request refused/);
    }
    // Admitted: the run does not exist, so the answer is the route's own 404.
    const local = base.replace('127.0.0.1', 'localhost');
    assert.equal((await cancel('console/', { origin: base, 'sec-fetch-site': 'same-origin' })).status, 404);
    assert.equal((await fetch(`${local}/api/console/runs/data-pipeline-20260101T000000Z-abcdef/cancel`, { method: 'POST', headers: { origin: local, 'content-type': 'application/json', 'x-requested-with': 'durable-pipelines-console' }, body: '{}' })).status, 404, 'the console opened as localhost');
    assert.equal((await cancel('', { 'x-functions-key': 'door-key', origin: 'https://attacker.example' })).status, 404, 'the key door');
  });
});

describe('no function key in what the dev host logs', () => {
  test('a request that fails with ?code= in its URL is logged with the key masked', async () => {
    const lines: string[] = [];
    const failing: HttpRegistration = {
      kind: 'http',
      name: 'failing',
      options: { route: 'api/failing', methods: ['GET'], authLevel: 'function' },
      handler: (request) => Promise.reject(new Error(`could not handle ${request.url}`)),
    };
    const key = 'devhost-secret-key-0123456789';
    const host = await DevHost.start({ registrations: [failing], httpPort: 0, functionKey: key, log: (line) => lines.push(line) });
    try {
      const answer = await fetch(`${host.baseUrl ?? ''}/api/failing?code=${key}&day=2026-01-01`);
      assert.equal(answer.status, 500);
    } finally {
      await host.stop();
    }
    const failed = lines.filter((l) => l.includes('/api/failing'));
    assert.ok(failed.length > 0, `the failure was logged: ${lines.join('\n')}`);
    for (const line of failed) {
      assert.ok(!line.includes(key), `the key is in a log line: ${line}`);
      assert.match(line, /code=\*\*\*/);
    }
  });
});

describe('npm run demo -- --serve', () => {
  let demo: DemoProcess;
  before(async () => {
    demo = await startDemo();
  });

  test('signs nobody in unless --as asks, and says what it exposes and to whom', async () => {
    const me = await fetch(`${demo.baseUrl}/api/console/me`);
    assert.equal(me.status, 401, `the demo's console door admitted an anonymous caller: ${await me.text()}`);
    const forged = encodePrincipal(LOCAL_USERS.operator);
    assert.equal((await fetch(`${demo.baseUrl}/api/console/me`, { headers: { 'x-ms-client-principal': forged } })).status, 401, 'a client-sent principal');
    const output = demo.output();
    assert.match(output, /Exposed on http:\/\/127\.0\.0\.1:\d+ \(listening on 127\.0\.0\.1 only; requests naming another host than localhost, 127\.0\.0\.1, \[::1\] are refused/);
    assert.match(output, /API .* to whoever presents the function key \(demo-key\)/);
    assert.match(output, /Console .*: nobody is signed in .*--as operator/);
    // The demo's control route cannot turn sign-in on: that is the command line's call.
    await assert.rejects(demo.control({ as: 'operator' }), /HTTP 409/);
    assert.equal((await fetch(`${demo.baseUrl}/api/console/me`)).status, 401);
  });
});
