/** Registers the HTTP API: one function per route of src/api/routes.ts. */
import { registerHttp } from '../app/registry';
import { appServices } from '../app/services';
import { apiDeps } from '../api/fromServices';
import { createRoutes, ROUTE_TABLE } from '../api/routes';

export function registerApi(): void {
  for (const route of ROUTE_TABLE) {
    registerHttp(route.name, { route: route.route, methods: route.methods, authLevel: route.authLevel }, async (request, client) => {
      const services = await appServices();
      const handler = createRoutes(apiDeps(services, client)).find((r) => r.name === route.name);
      if (!handler) throw new Error(`route ${route.name} is missing`);
      return handler.handle(request);
    });
  }
}
