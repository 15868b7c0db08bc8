/**
 * The signed-in user as App Service Authentication passes it: `x-ms-client-principal`, Base64 of
 * `{ auth_typ, name_typ, role_typ, claims: [{ typ, val }] }` (learn.microsoft.com/azure/app-service/
 * configure-authentication-user-identities, "Decode the client principal header"). Entra app roles
 * arrive as claims of type `roles` (or of the principal's `role_typ`).
 */
import { z } from 'zod';

export const PRINCIPAL_HEADER = 'x-ms-client-principal';

const principalSchema = z.object({
  auth_typ: z.string().optional(),
  name_typ: z.string().optional(),
  role_typ: z.string().optional(),
  claims: z.array(z.object({ typ: z.string(), val: z.string() })),
});

export type ClientPrincipal = z.infer<typeof principalSchema>;

export interface SignedInUser {
  readonly name: string;
  readonly roles: readonly string[];
  /** Entra group object ids (`groups` claims, when the app registration emits them); absent when none. */
  readonly groups?: readonly string[];
  readonly identityProvider: string;
}

/** Claim types Entra group ids arrive as: the v2 token's `groups`, or its WS-Fed name. */
const GROUP_CLAIMS = ['groups', 'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups'];

// An application's token (Event Grid delivering events) names no user: its app id is its name.
const NAME_CLAIMS = ['preferred_username', 'name', 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name', 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn', 'appid', 'azp'];

/** The user in a header value, or undefined when it is not a well-formed principal. */
export function decodePrincipal(header: string | null | undefined): SignedInUser | undefined {
  if (!header) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(header, 'base64').toString('utf8'));
  } catch {
    return undefined;
  }
  const parsed = principalSchema.safeParse(json);
  if (!parsed.success) return undefined;
  const { claims, name_typ: nameType, role_typ: roleType } = parsed.data;
  const valueOf = (types: readonly string[]) => types.map((t) => claims.find((c) => c.typ === t)?.val).find((v) => v !== undefined && v !== '');
  const name = valueOf([...(nameType ? [nameType] : []), ...NAME_CLAIMS]);
  if (!name) return undefined;
  const roles = claims.filter((c) => c.typ === 'roles' || (roleType !== undefined && c.typ === roleType)).map((c) => c.val);
  const groups = [...new Set(claims.filter((c) => GROUP_CLAIMS.includes(c.typ)).map((c) => c.val))];
  return { name, roles: [...new Set(roles)], ...(groups.length > 0 ? { groups } : {}), identityProvider: parsed.data.auth_typ ?? 'aad' };
}

/** A principal header in the platform's format, for the local emulation (`--as`) and tests. */
export function encodePrincipal(user: { name: string; roles: readonly string[]; groups?: readonly string[] }): string {
  const principal: ClientPrincipal = {
    auth_typ: 'aad',
    name_typ: 'preferred_username',
    role_typ: 'roles',
    claims: [{ typ: 'preferred_username', val: user.name }, ...user.roles.map((val) => ({ typ: 'roles', val })), ...(user.groups ?? []).map((val) => ({ typ: 'groups', val }))],
  };
  return Buffer.from(JSON.stringify(principal), 'utf8').toString('base64');
}
