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
 * another origin cannot send them without a preflight the app never approves. The key door needs
 * no such check: a key is never sent by a browser on its own.
 */
import { decodePrincipal, PRINCIPAL_HEADER } from '../auth/principal';
import { KEY_CALLER, ROLES, userCaller, type Access, type Caller } from '../auth/roles';
import type { AuthSettings } from '../auth/settings';
import { ApiProblem } from './problem';
import type { ApiRequest } from './request';

export type Door = 'key' | 'console';

export const CONSOLE_HEADER = 'x-requested-with';
export const CONSOLE_HEADER_VALUE = 'durable-pipelines-console';

const CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The caller of a request, or a 401/403 problem saying what is missing. */
export function admit(door: Door, access: Access, request: Pick<ApiRequest, 'method' | 'headers'>, settings: AuthSettings): Caller | undefined {
  if (access === 'operate' && settings.readOnly) {
    throw new ApiProblem(403, 'Read-only mode', 'this app is in read-only mode (READ_ONLY=true): runs cannot be started, cancelled or rerun, nor schedules paused');
  }
  if (door === 'key') return access === 'public' ? undefined : KEY_CALLER;
  if (access === 'public') return undefined;

  const user = settings.platformAuth ? decodePrincipal(request.headers.get(PRINCIPAL_HEADER)) : undefined;
  if (!user) {
    throw new ApiProblem(401, 'Sign-in required', settings.platformAuth
      ? 'sign in at /.auth/login/aad'
      : 'App Service Authentication is off (WEBSITE_AUTH_ENABLED is not True): the console door trusts no principal; use a function key on /api/…');
  }
  const caller = userCaller(user.name, user.roles);
  if (access === 'read' && !caller.canRead) throw forbidden(user.name, ROLES.read);
  if (access === 'operate') {
    if (!caller.canOperate) throw forbidden(user.name, ROLES.operate);
    if (CHANGING.has(request.method.toUpperCase())) refuseCrossSite(request.headers);
  }
  return caller;
}

function forbidden(name: string, role: string): ApiProblem {
  return new ApiProblem(403, 'Forbidden', `${name} does not have the app role ${role}`);
}

function refuseCrossSite(headers: Headers): void {
  const type = (headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json' || headers.get(CONSOLE_HEADER) !== CONSOLE_HEADER_VALUE) {
    throw new ApiProblem(403, 'Cross-site request refused', `changes need content-type application/json and ${CONSOLE_HEADER}: ${CONSOLE_HEADER_VALUE}`, [
      { field: `header.${CONSOLE_HEADER}`, message: `must be ${CONSOLE_HEADER_VALUE}` },
    ]);
  }
}
