/**
 * The development host tries HTTP routes as the Functions host does: in function-name order
 * (.NET OrdinalIgnoreCase), first match wins, route constraints and methods evaluated — not ranked
 * by ASP.NET Core's template precedence (src/devhost/http-routes.ts names the code). Sample
 * registrations reproduce the cases reported against the host (azure-functions-host#9876,
 * azure-functions-nodejs-library#300); then the app's own registrations are served as they are.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { HttpMethod } from '@azure/functions';
import type { HttpRegistration, Registration } from '../../src/app/registry';
import { registrations as appRegistrations } from '../../src/app/registry';
import { DevHost } from '../../src/devhost';

function http(name: string, route: string, methods: HttpMethod[] = ['GET']): HttpRegistration {
  return { kind: 'http', name, options: { route, methods, authLevel: 'anonymous' }, handler: (request) => Promise.resolve({ status: 200, jsonBody: { name, params: request.params } }) };
}

async function served(registrations: readonly Registration[], run: (get: (path: string, method?: string) => Promise<{ status: number; name?: string; params?: Record<string, string> }>) => Promise<void>): Promise<void> {
  // hostJson {}: the Functions default route prefix "api".
  const host = await DevHost.start({ registrations, clock: 'virtual', httpPort: 0, hostJson: {} });
  try {
    await run(async (path, method = 'GET') => {
      const response = await fetch(`${host.baseUrl ?? ''}${path}`, { method });
      const text = await response.text();
      const body = response.headers.get('content-type')?.startsWith('application/json') ? (JSON.parse(text) as { name: string; params: Record<string, string> }) : undefined;
      return { status: response.status, ...(body ? { name: body.name, params: body.params } : {}) };
    });
  } finally {
    await host.stop();
  }
}

void describe('dev host: HTTP routes in the Functions host\'s order', () => {
  void test('the first route in function-name order wins, even over a more specific template (azure-functions-host#9876)', async () => {
    // Registered List first; the host still tries Details first, because D sorts before L.
    await served([http('List', 'products/list'), http('Details', 'products/{id}')], async (get) => {
      assert.deepEqual(await get('/api/products/list'), { status: 200, name: 'Details', params: { id: 'list' } });
      assert.equal((await get('/api/products/42')).name, 'Details');
    });
    // The same routes under other names: now the literal route comes first.
    await served([http('aList', 'products/list'), http('bDetails', 'products/{id}')], async (get) => {
      assert.equal((await get('/api/products/list')).name, 'aList');
      assert.equal((await get('/api/products/42')).name, 'bDetails');
    });
  });

  void test('names compare as .NET OrdinalIgnoreCase: case ignored, _ after every letter', async () => {
    await served([http('item_get', 'things/{id}'), http('ITEMZ', 'things/special'), http('itema', 'other/{id}'), http('ItemB', 'other/fixed')], async (get) => {
      // ITEMZ < ITEM_GET (Z is 0x5A, _ is 0x5F); a lower-case or locale comparison would put item_get first.
      assert.equal((await get('/api/things/special')).name, 'ITEMZ');
      assert.equal((await get('/api/things/7')).name, 'item_get');
      // itema < ItemB whatever the case of the names.
      assert.equal((await get('/api/other/fixed')).name, 'itema');
    });
  });

  void test('an optional parameter takes a later route\'s literal (azure-functions-nodejs-library#300)', async () => {
    await served([http('accounts', 'accounts/{accountId?}/{action?}'), http('products', 'accounts/{accountId?}/products/{productId?}')], async (get) => {
      assert.deepEqual(await get('/api/accounts/12345/products'), { status: 200, name: 'accounts', params: { accountId: '12345', action: 'products' } });
    });
  });

  void test('route constraints are evaluated: a route whose constraint refuses the value is skipped', async () => {
    await served([http('aNumber', 'items/{id:int}'), http('bName', 'items/{name:regex(^[a-z]+$)}'), http('cRest', 'items/{*rest}')], async (get) => {
      assert.deepEqual(await get('/api/items/42'), { status: 200, name: 'aNumber', params: { id: '42' } });
      // The regex constraint is case-insensitive, as ASP.NET Core's.
      assert.deepEqual(await get('/api/items/Widget'), { status: 200, name: 'bName', params: { name: 'Widget' } });
      assert.deepEqual(await get('/api/items/a1/b'), { status: 200, name: 'cRest', params: { rest: 'a1/b' } });
      assert.equal((await get('/api/items/99999999999')).name, 'cRest', 'beyond int32');
    });
  });

  void test('a method the route does not take is no match: the next route may take it, else 404 (no 405)', async () => {
    await served([http('aPost', 'jobs', ['POST']), http('bAny', '{*rest}')], async (get) => {
      assert.equal((await get('/api/jobs', 'POST')).name, 'aPost');
      assert.deepEqual(await get('/api/jobs', 'GET'), { status: 200, name: 'bAny', params: { rest: 'jobs' } });
    });
    await served([http('aPost', 'jobs', ['POST'])], async (get) => {
      assert.equal((await get('/api/jobs', 'GET')).status, 404);
    });
  });

  void test('a catch-all with a default answers the bare prefix; without one its constraint refuses it', async () => {
    await served([http('site', '{*path:regex(^(?!api(/|$)))=index.html}')], async (get) => {
      assert.deepEqual(await get('/api/'), { status: 200, name: 'site', params: { path: 'index.html' } });
    });
    await served([http('site', '{*path:regex(^(?!api(/|$)))}')], async (get) => {
      assert.equal((await get('/api/')).status, 404);
      assert.equal((await get('/api/page')).name, 'site');
    });
  });

  void test('start-up refuses what the Functions host refuses: reserved routes, conflicting routes, bad names', async () => {
    for (const [registrations, message] of [
      [[http('admin1', 'admin/things')], /built in routes/],
      [[http('hooks', 'runtime/things')], /built in routes/],
      [[http('a', 'Things'), http('b', 'things/')], /conflicts with the route defined by function 'a'/],
      [[http('bad.name', 'x')], /not a valid function name/],
      [[http('mixed', 'files/{name}.{ext}')], /mixing literals and parameters/],
      [[http('unknown', 'x/{id:nonsense}')], /does not emulate the route constraint/],
    ] as const) {
      const outcome = await DevHost.start({ registrations, clock: 'virtual', httpPort: 0, hostJson: {} }).then((host) => host, (error: unknown) => error);
      if (outcome instanceof DevHost) {
        await outcome.stop();
        assert.fail(`started with ${registrations.map((r) => `${r.name} '${r.options.route}'`).join(', ')}`);
      }
      assert.match(outcome instanceof Error ? outcome.message : String(outcome), message);
    }
    // Same route, methods apart: allowed.
    await served([http('a', 'things', ['GET']), http('b', 'things', ['POST'])], async (get) => {
      assert.equal((await get('/api/things', 'POST')).name, 'b');
    });
  });
});

void describe('dev host: the app\'s own routes', () => {
  let host: DevHost;
  const key = 'routing-test-key';
  before(async () => {
    process.env['LOG_LEVEL'] = 'silent';
    await import('../../src/index');
    // The app's host.json: routePrefix "", the console at /. Handlers are replaced by probes, so
    // no store or service is needed: the test sees which function answered.
    const probes = Object.fromEntries(appRegistrations().filter((r) => r.kind === 'http').map((r) => [r.name, () => Promise.resolve({ status: 200, jsonBody: { name: r.name } })]));
    host = await DevHost.start({ registrations: appRegistrations(), clock: 'virtual', httpPort: 0, hostJsonPath: 'host.json', functionKey: key, replaceHandlers: probes });
  });
  after(async () => {
    await host?.stop();
  });

  const answer = async (method: string, path: string): Promise<string> => {
    const response = await fetch(`${host.baseUrl ?? ''}${path}`, { method, headers: { 'x-functions-key': key } });
    const text = await response.text();
    return response.status === 200 && text.startsWith('{"name"') ? (JSON.parse(text) as { name: string }).name : String(response.status);
  };

  void test('each door, the console, the webhooks and unknown paths reach what they should', async () => {
    const cases: [string, string, string][] = [
      ['GET', '/api/health', 'health'],
      ['GET', '/api/runs', 'listRuns'],
      ['GET', '/api/runs/r-1/logs', 'getRunLogs'],
      ['POST', '/api/runs/r-1/cancel', 'cancelRun'],
      ['GET', '/api/console/runs/r-1', 'console_getRun'],
      ['GET', '/api/openapi.json', 'openApi'],
      ['GET', '/', 'console'],
      ['GET', '/assets/main.js', 'console'],
      ['GET', '/api/nothing-here', '404'],
      ['GET', '/api/console/nothing-here', '404'],
      ['DELETE', '/api/runs', '404'],
      ['GET', '/admin/host/status', '404'],
    ];
    const got = await Promise.all(cases.map(async ([method, path]) => answer(method, path)));
    assert.deepEqual(cases.map(([method, path], i) => `${method} ${path} → ${got[i] ?? ''}`), cases.map(([method, path, expected]) => `${method} ${path} → ${expected}`));
    // The extension's webhooks are the host's own routes, tried before any function's.
    const webhook = await fetch(`${host.baseUrl ?? ''}/runtime/webhooks/durabletask/instances/?code=${key}`);
    assert.equal(webhook.status, 200);
    assert.ok(Array.isArray(await webhook.json()));
  });
});
