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
import { oneLine } from '../core/visibleText';
import { ApiProblem } from './problem';
import type { ApiRequest } from './request';

export type Door = 'key' | 'console';

export const CONSOLE_HEADER = 'x-requested-with';
export const CONSOLE_HEADER_VALUE = 'durable-pipelines-console';

const CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The caller of a request, or a 401/403 problem saying what is missing. */
export function admit(door: Door, access: Access, request: Pick<ApiRequest, 'method' | 'headers' | 'url'>, settings: AuthSettings): Caller | undefined {
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
  const caller = userCaller(user.name, user.roles);
  if (access === 'read' && !caller.canRead) throw forbidden(user.name, ROLES.read);
  if (access === 'operate') {
    if (!caller.canOperate) throw forbidden(user.name, ROLES.operate);
    if (CHANGING.has(request.method.toUpperCase())) refuseCrossSite(request);
  }
  return caller;
}

function forbidden(name: string, role: string): ApiProblem {
  return new ApiProblem(403, 'Forbidden', `${name} does not have the app role ${role}`);
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
 * Whether an `Origin` names the host the request was sent to: the request URL's host (the Functions
 * host builds it from the `Host` header), or the host a front end says the client used
 * (`X-Forwarded-Host`: App Service's front ends and Front Door forward the original one). `null`
 * (a sandboxed frame, a redirect across origins) is no origin. Schemes are not compared: TLS ends
 * in front of the app, which may see `http`.
 */
function sameHost(origin: string, request: Pick<ApiRequest, 'headers' | 'url'>): boolean {
  let from: string;
  try {
    from = new URL(origin).host.toLowerCase();
  } catch {
    return false;
  }
  const hosts = [hostOf(request.url), request.headers.get('x-forwarded-host')?.split(',')[0]?.trim().toLowerCase()];
  return hosts.some((host) => host !== undefined && host !== '' && host === from);
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).host.toLowerCase();
  } catch {
    return undefined;
  }
}
