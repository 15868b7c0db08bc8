/**
 * The web console at the site root: one anonymous GET route `{*path}` (routePrefix is "" in
 * host.json). A catch-all at the root is how the Functions host serves `/` (Azure/azure-functions-host
 * PR #1102: routePrefix "" with route `{*segments}`); the host's ASP.NET Core routing ranks literal
 * segments before a catch-all, so `api/…` routes still win — the dev host ranks them the same way
 * (src/devhost/http-triggers.ts `byPrecedence`). Sign-in for the page itself is App Service
 * Authentication's job; the data comes from the API's console door, which checks roles.
 */
import { registerHttp } from '../app/registry';
import { consoleDirectory, serveConsole } from '../console/serve';

export function registerConsole(): void {
  const dir = consoleDirectory();
  registerHttp('console', { route: '{*path}', methods: ['GET', 'HEAD'], authLevel: 'anonymous' }, (request) =>
    Promise.resolve(serveConsole({ path: new URL(request.url).pathname, method: request.method, acceptEncoding: request.headers.get('accept-encoding') ?? '' }, dir)),
  );
}
