/**
 * The local stand-in for App Service Authentication, for `npm run demo` and `npm run dev`, used
 * only when the command line asks for it (`--as reader|operator`): the dev host strips client-sent
 * `x-ms-client-principal` headers (it always does) and adds this user's, in the platform's format,
 * and WEBSITE_AUTH_ENABLED=True tells the app the platform vouches for it — the same two facts the
 * app relies on in Azure.
 */
import { encodePrincipal } from '../src/auth/principal';
import { LOCAL_USERS, type LocalUser } from '../src/auth/roles';

export interface EmulatedSignIn {
  /** App settings the platform would set. */
  readonly settings: Record<string, string>;
  readonly principal: () => string | undefined;
  readonly switchTo: (user: LocalUser | undefined) => void;
  readonly current: () => LocalUser | undefined;
  readonly describe: () => string;
}

export function emulatedSignIn(initial: LocalUser | undefined): EmulatedSignIn {
  let current = initial;
  return {
    settings: { WEBSITE_AUTH_ENABLED: 'True' },
    principal: () => (current ? encodePrincipal(LOCAL_USERS[current]) : undefined),
    switchTo: (user) => {
      current = user;
    },
    current: () => current,
    describe: () => (current ? `${LOCAL_USERS[current].name} (${LOCAL_USERS[current].roles.join(', ')})` : 'nobody'),
  };
}
