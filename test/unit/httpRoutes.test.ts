/**
 * The app's HTTP routes as the Functions host tries them: every registration of src/index, sorted
 * by function name with .NET's OrdinalIgnoreCase (FunctionMetadataManager.LoadFunctionMetadata),
 * tried in that order, first match wins, route constraints and methods evaluated
 * (src/devhost/http-routes.ts names the code). Each request a user or the CLI makes must reach
 * its own function — and, since the host gives no precedence, no request may be wanted by two
 * functions, or the answer would depend on names.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { registrations, type HttpRegistration } from '../../src/app/registry';
import { ROUTE_TABLE } from '../../src/api/routes';
import { compareOrdinalIgnoreCase, compileRoutes, findRoute, inHostOrder, matchTemplate, type CompiledRoute } from '../../src/devhost/http-routes';

let routes: CompiledRoute[];

before(async () => {
  process.env['LOG_LEVEL'] = 'silent';
  await import('../../src/index');
  routes = compileRoutes(registrations().filter((r): r is HttpRegistration => r.kind === 'http'));
});

/** A concrete path for a route template of the API (parameters filled with plausible values). */
const fill = (template: string): string =>
  template.replace(/\{(\w+)\}/g, (_, name: string) => (name === 'runId' ? 'data-pipeline-20261126T0200Z-ab12' : name === 'name' ? 'data-pipeline' : 'production-daily'));

const first = (method: string, path: string): string | undefined => findRoute(routes, method, path)?.route.registration.name;

/** Every request a client of the app makes, and the function that must answer it (undefined: none). */
function requests(): { method: string; path: string; expected: string | undefined }[] {
  const api = ROUTE_TABLE.flatMap((route) => {
    const doors = route.access === 'public' ? [['api/', route.name]] : [['api/', route.name], ['api/console/', `console_${route.name}`]];
    return doors.flatMap(([prefix, name]) => [
      ...route.methods.map((method) => ({ method, path: `${prefix}${fill(route.route)}`, expected: name })),
      // A method the route does not take is no route at all (the method is a route constraint).
      { method: (route.methods as readonly string[]).includes('GET') ? 'DELETE' : 'GET', path: `${prefix}${fill(route.route)}`, expected: undefined },
    ]);
  });
  return [
    ...api,
    { method: 'GET', path: 'API/Health', expected: 'health' },
    { method: 'GET', path: 'api/runs/', expected: 'listRuns' },
    { method: 'GET', path: 'api', expected: undefined },
    { method: 'GET', path: 'api/', expected: undefined },
    { method: 'GET', path: 'api/nothing-here', expected: undefined },
    { method: 'GET', path: 'api/console/nothing-here', expected: undefined },
    { method: 'GET', path: 'api/runs/x/logs/more', expected: undefined },
    { method: 'GET', path: 'Api/Nothing', expected: undefined },
    // The console: the page, its assets, any page path (hash routing), HEAD too.
    { method: 'GET', path: '', expected: 'console' },
    { method: 'HEAD', path: '', expected: 'console' },
    { method: 'GET', path: 'index.html', expected: 'console' },
    { method: 'GET', path: 'assets/main-3F2A.js', expected: 'console' },
    { method: 'GET', path: 'runs/anything', expected: 'console' },
    { method: 'GET', path: 'apiary', expected: 'console' },
    { method: 'POST', path: '', expected: undefined },
    // The host's own route space (its controllers are matched before function routes).
    { method: 'GET', path: 'admin/host/status', expected: undefined },
    { method: 'GET', path: 'runtime/webhooks/durabletask/instances', expected: undefined },
  ];
}

describe('the app\'s routes in the host\'s order', () => {
  test('every request reaches its own function when routes are tried in function-name order', () => {
    const wrong = requests()
      .map((r) => ({ ...r, got: first(r.method, r.path) }))
      .filter((r) => r.got !== r.expected)
      .map((r) => `${r.method} /${r.path}: ${r.got ?? 'no route'} answers, ${r.expected ?? 'no route'} should`);
    assert.deepEqual(wrong, []);
  });

  test('no request is wanted by two functions, so no order of names can change an answer', () => {
    const overlaps = requests()
      .map((r) => ({
        ...r,
        takers: routes.filter((route) => {
          const methods = route.registration.options.methods;
          return matchTemplate(route, r.path) !== undefined && methods.some((m) => m === r.method);
        }).map((route) => route.registration.name),
      }))
      .filter((r) => r.takers.length > 1)
      .map((r) => `${r.method} /${r.path}: ${r.takers.join(', ')}`);
    assert.deepEqual(overlaps, []);
  });

  test('the console sorts before most of the API, so its route alone keeps it off /api', () => {
    const names = routes.map((r) => r.registration.name);
    assert.ok(names.indexOf('console') < names.indexOf('health') && names.indexOf('console') < names.indexOf('listRuns'), names.join(', '));
  });
});

describe('.NET OrdinalIgnoreCase, the order of function names', () => {
  test('letters compare without case, a prefix comes first, and _ sorts after every letter while - sorts before', () => {
    const names = ['console_getRun', 'consoleX', 'Console', 'a_b', 'ab', 'aB', 'a-b', 'a1'].map((name) => ({ name }));
    assert.deepEqual(inHostOrder(names).map((n) => n.name), ['a-b', 'a1', 'ab', 'aB', 'a_b', 'Console', 'consoleX', 'console_getRun']);
    // Not what JavaScript's default sort or a locale comparison gives:
    assert.notDeepEqual([...names].map((n) => n.name).sort(), ['a-b', 'a1', 'ab', 'aB', 'a_b', 'Console', 'consoleX', 'console_getRun']);
    assert.ok('a_b'.localeCompare('ab') < 0 && compareOrdinalIgnoreCase('a_b', 'ab') > 0);
  });
});
