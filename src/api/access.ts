/**
 * Who may call a route, and through which door.
 *
 * - The **key door** (`/api/…`, authLevel `function`): the Functions host has already checked the
 *   function key before the app runs, so the caller is a key and acts as Operate.
 * - The **console door** (`/api/console/…`, authLevel `anonymous`): the host cannot check roles,
 *   and it never treats an App Service Authentication sign-in as a key — its function policy
 *   accepts only its key and admin-token schemes (Azure/azure-functions-host,
 *   src/WebJobs.Script.WebHost/Security/Authorization/AuthUtility.cs, `DefaultFunctionPolicy`).
 *   So the app decides, from the principal the platform passes, and only when the platform says
 *   sign-in is on (auth/settings.ts).
 *
 * Changes through the console door must carry a JSON body type and the `x-requested-with` header
 * the console sends: a cross-site form or `<img>` cannot set either, and without CORS a script on
 * another origin cannot send them without a preflight the app never approves. On top of that, what
 * the browser itself says of the request is checked: a `Sec-Fetch-Site` other than `same-origin`
 * (Fetch Metadata, sent by every current browser and not settable by a script) or an `Origin` whose
 * host is not the one the request was sent to is refused — so a future CORS rule, a proxy that adds
 * the header, or a browser bug does not turn into a cross-site change. The key door needs no such
 * check: a key is never sent by a browser on its own, and the CLI sends neither header.
 */
import { decodePrincipal, PRINCIPAL_HEADER } from '../auth/principal';
import { KEY_CALLER, ROLES, userCaller, type Access, type Caller } from '../auth/roles';
import type { AuthSettings } from '../auth/settings';
import { projectGrants } from '../projects/access';
import type { ProjectDefinition } from '../projects/schema';
import { oneLine } from '../core/visibleText';
import { ApiProblem } from './problem';
import type { ApiRequest } from './request';

export type Door = 'key' | 'console';

export const CONSOLE_HEADER = 'x-requested-with';
export const CONSOLE_HEADER_VALUE = 'durable-pipelines-console';

const CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * The caller of a request, or a 401/403 problem saying what is missing. A user holding only some
 * projects' roles is admitted to read (or operate) routes; each handler then answers for the
 * projects the user may see (src/api/projectScope.ts).
 */
export function admit(door: Door, access: Access, request: Pick<ApiRequest, 'method' | 'headers' | 'url'>, settings: AuthSettings, projects: readonly ProjectDefinition[] = []): Caller | undefined {
  if (access === 'operate' && settings.readOnly) {
    throw new ApiProblem(403, 'Read-only mode', 'this app is in read-only mode (READ_ONLY=true): runs cannot be started, cancelled or rerun, nor schedules paused');
  }
  if (door === 'key') return access === 'public' ? undefined : KEY_CALLER;
  if (access === 'public') return undefined;

  const user = settings.platformAuth ? decodePrincipal(request.headers.get(PRINCIPAL_HEADER)) : undefined;
  if (!user) {
    throw new ApiProblem(401, 'Sign-in required', settings.platformAuth
      ? 'sign in at /.auth/login/aad'
      : 'App Service Authentication is off (WEBSITE_AUTH_ENABLED is not True): the console door trusts no principal; use a function key on /api/…, or, locally, emulate a sign-in with `npm run demo -- --serve --as operator` or `npm run dev -- --as operator`');
  }
  if (access === 'events') {
    // Event Grid, not a browser: no cross-site checks; only the role assigned to its service principal.
    if (!user.roles.includes(ROLES.events)) throw forbidden(user.name, ROLES.events);
    return { kind: 'user', name: user.name, canRead: false, canOperate: false };
  }
  const caller = userCaller(user.name, user.roles, projectGrants([...user.roles, ...(user.groups ?? [])], projects));
  refuseCrossSiteRead(request);
  const grants = Object.values(caller.projects ?? {});
  if (access === 'read' && !caller.canRead && grants.length === 0) throw forbidden(user.name, ROLES.read);
  if (access === 'operate') {
    if (!caller.canOperate && !grants.includes('operate')) throw forbidden(user.name, ROLES.operate);
    if (CHANGING.has(request.method.toUpperCase())) refuseCrossSite(request);
  }
  return caller;
}

function forbidden(name: string, role: string): ApiProblem {
  return new ApiProblem(403, 'Forbidden', `${name} does not have the app role ${role} (nor a project's own ${role === ROLES.read ? 'read' : 'operate'} role)`);
}

/**
 * Reads through the console door come from the console's own fetches (`same-origin`) or a link
 * opened in the address bar (`none`). Another site's `<img>` or `<script>` pointing at a listing
 * (`cross-site`, `same-site`) is refused before it costs a read of the run store: it rides on the
 * signed-in user's cookie and its answer is of no use to anyone but an attacker wanting load.
 */
function refuseCrossSiteRead(request: Pick<ApiRequest, 'headers'>): void {
  const site = request.headers.get('sec-fetch-site')?.trim().toLowerCase();
  if (site === undefined || site === 'same-origin' || site === 'none') return;
  throw new ApiProblem(403, 'Cross-site request refused', `the browser says this request comes from another site (Sec-Fetch-Site: ${oneLine(site).slice(0, 40)}); the console door answers the console itself`, [
    { field: 'header.sec-fetch-site', message: 'must be same-origin or none' },
  ]);
}

function refuseCrossSite(request: Pick<ApiRequest, 'headers' | 'url'>): void {
  const headers = request.headers;
  const site = headers.get('sec-fetch-site');
  if (site !== null && site.trim().toLowerCase() !== 'same-origin') {
    throw new ApiProblem(403, 'Cross-site request refused', `the browser says this change comes from another site (Sec-Fetch-Site: ${oneLine(site).slice(0, 40)}); changes are made from the console itself`, [
      { field: 'header.sec-fetch-site', message: 'must be same-origin' },
    ]);
  }
  const origin = headers.get('origin');
  if (origin !== null && !sameHost(origin, request)) {
    throw new ApiProblem(403, 'Cross-site request refused', `the change comes from another origin (${oneLine(origin).slice(0, 200)}); changes are made from the console itself`, [
      { field: 'header.origin', message: 'must be this app\'s origin' },
    ]);
  }
  const type = (headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json' || headers.get(CONSOLE_HEADER) !== CONSOLE_HEADER_VALUE) {
    throw new ApiProblem(403, 'Cross-site request refused', `changes need content-type application/json and ${CONSOLE_HEADER}: ${CONSOLE_HEADER_VALUE}`, [
      { field: `header.${CONSOLE_HEADER}`, message: `must be ${CONSOLE_HEADER_VALUE}` },
    ]);
  }
}

/**
 * Whether an `Origin` names the host the request was sent to: the request URL's host, and nothing a
 * client can write. In Azure the URL's host is the one the client used: App Service's front end
 * passes it in `DISGUISED-HOST`, and the Functions host copies that into `Host` before anything
 * runs (Azure/azure-functions-host, src/WebJobs.Script.WebHost/Middleware/
 * AppServiceHeaderFixupMiddleware.cs); the worker's request URL is built from it. `X-Forwarded-Host`
 * is not consulted: App Service neither sets nor strips it, so any client can send one (red-team
 * pass 2, F14). A reverse proxy in front (Front Door, Application Gateway) must preserve the host
 * name, as Azure's host-name-preservation guidance asks. `null` (a sandboxed frame, a redirect across
 * origins) is no origin. Schemes are not compared: TLS ends in front of the app, which may see `http`.
 */
function sameHost(origin: string, request: Pick<ApiRequest, 'url'>): boolean {
  let from: string;
  try {
    from = new URL(origin).host.toLowerCase();
  } catch {
    return false;
  }
  const host = hostOf(request.url);
  return host !== undefined && host !== '' && host === from;
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).host.toLowerCase();
  } catch {
    return undefined;
  }
}
