/**
 * The web console at the site root (routePrefix is "" in host.json), on one anonymous GET route.
 *
 * The Functions host does not rank routes: it tries them in function-name order and the first
 * match wins (src/devhost/http-routes.ts names the code). A bare catch-all `{*path}` named
 * `console` would come before `getRun`, `health`, `listRuns`… and answer every GET under /api.
 * So the catch-all carries an ASP.NET Core route constraint that refuses the API's space, and the
 * host's own (`admin/…`, `runtime/…`): whatever the names and their order, no path the console
 * takes is a path another function wants. The regex constraint is unanchored and case-insensitive
 * (aspnetcore RegexRouteConstraint), like the host's literal segments, so `/API/runs` is the API's
 * too. A catch-all with no value (the request `/`) would fail every constraint (the value is
 * null), so the parameter defaults to `index.html`, which passes.
 *
 * Sign-in for the page itself is App Service Authentication's job; the data comes from the API's
 * console door, which checks roles.
 */
import { registerHttp } from '../app/registry';
import { consoleDirectory, serveConsole } from '../console/serve';

/** Path prefixes the console never answers: the API's, and the host's built-in routes'. */
export const CONSOLE_EXCLUDED_PREFIXES = ['api', 'admin', 'runtime'] as const;

/** The console's route: everything but the excluded prefixes, `/` included. */
export const CONSOLE_ROUTE = `{*path:regex(^(?!(${CONSOLE_EXCLUDED_PREFIXES.join('|')})(/|$)))=index.html}`;

export function registerConsole(): void {
  const dir = consoleDirectory();
  registerHttp('console', { route: CONSOLE_ROUTE, methods: ['GET', 'HEAD'], authLevel: 'anonymous' }, (request) =>
    Promise.resolve(serveConsole({ path: new URL(request.url).pathname, method: request.method, acceptEncoding: request.headers.get('accept-encoding') ?? '' }, dir)),
  );
}
