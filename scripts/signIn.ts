/**
 * The local stand-in for App Service Authentication, for `npm run demo` and `npm run dev`, used
 * only when the command line asks for it (`--as reader|operator`, or a project's own user
 * `--as reader:finance` / `operator:finance`, holding that project's role only): the dev host strips client-sent
 * `x-ms-client-principal` headers (it always does) and adds this user's, in the platform's format,
 * and WEBSITE_AUTH_ENABLED=True tells the app the platform vouches for it — the same two facts the
 * app relies on in Azure.
 */
import { encodePrincipal } from '../src/auth/principal';
import { localUser } from '../src/auth/roles';

export interface EmulatedSignIn {
  /** App settings the platform would set. */
  readonly settings: Record<string, string>;
  readonly principal: () => string | undefined;
  readonly switchTo: (user: string | undefined) => void;
  readonly current: () => string | undefined;
  readonly describe: () => string;
}

/** `word`: reader, operator, reader:<project> or operator:<project> (src/auth/roles.ts `localUser`). */
export function emulatedSignIn(initial: string | undefined): EmulatedSignIn {
  if (initial !== undefined && !localUser(initial)) throw new Error(`--as ${initial}: use reader, operator, reader:<project> or operator:<project>`);
  let current = initial;
  const user = () => (current === undefined ? undefined : localUser(current));
  return {
    settings: { WEBSITE_AUTH_ENABLED: 'True' },
    principal: () => {
      const u = user();
      return u ? encodePrincipal(u) : undefined;
    },
    switchTo: (user) => {
      current = user;
    },
    current: () => current,
    describe: () => {
      const u = user();
      return u ? `${u.name} (${u.roles.join(', ')})` : 'nobody';
    },
  };
}
