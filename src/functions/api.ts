/**
 * Registers the HTTP API: each route of src/api/routes.ts behind two doors (api/access.ts):
 * `api/<route>` with a function key (the host checks it; the CLI and automation), and
 * `api/console/<route>` for users signed in through App Service Authentication (the app checks the
 * principal and its app roles). Then the console itself, at the root (src/console/serve.ts).
 */
import { registerHttp } from '../app/registry';
import { appServices } from '../app/services';
import { apiDeps } from '../api/fromServices';
import { admit, type Door } from '../api/access';
import { problemResponse, ApiProblem } from '../api/problem';
import { createRoutes, ROUTE_TABLE } from '../api/routes';
import { loadAuthSettings } from '../auth/settings';
import { registerConsole } from './console';

/** Where each door's routes live; host.json's routePrefix is "" so the console can own `/`. */
export const DOOR_PREFIX: Readonly<Record<Door, string>> = { key: 'api/', console: 'api/console/' };

export function registerApi(): void {
  const settings = loadAuthSettings();
  for (const route of ROUTE_TABLE) {
    const doors: Door[] = route.access === 'public' ? ['key'] : ['key', 'console'];
    for (const door of doors) {
      const name = door === 'key' ? route.name : `console_${route.name}`;
      const authLevel = door === 'key' ? route.authLevel : 'anonymous';
      registerHttp(name, { route: DOOR_PREFIX[door] + route.route, methods: route.methods, authLevel }, async (request, client) => {
        // A signed-in user's project roles are read against the catalog's projects: the services
        // (built once per process) come first for the console door.
        const services = door === 'console' && route.access !== 'public' ? await appServices() : undefined;
        let caller;
        try {
          caller = admit(door, route.access, request, settings, services?.catalog.projects);
        } catch (error) {
          if (error instanceof ApiProblem) return problemResponse(error, new URL(request.url).pathname);
          throw error;
        }
        const deps = apiDeps(services ?? (await appServices()), client);
        const handler = createRoutes(deps).find((r) => r.name === route.name);
        if (!handler) throw new Error(`route ${route.name} is missing`);
        return handler.handle(request, caller);
      });
    }
  }
  registerConsole();
}
