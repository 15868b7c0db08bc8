/**
 * Microsoft Entra tokens for the app's managed identity, cached per scope until shortly before
 * they expire, so a poll every 30 s does not ask the identity endpoint every time.
 */
import { CredentialUnavailableError, DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import { BoundedMap } from '../core/boundedMap';
import { PermanentError, TransientError } from '../core/errors';
import { maskSecrets } from '../logging/mask';

export type { TokenCredential };

export const ARM_DEFAULT_URL = 'https://management.azure.com';
export const STORAGE_SCOPE = 'https://storage.azure.com/.default';

/** Refresh this long before expiry so a token never lapses mid-request. */
const EARLY_REFRESH_MS = 5 * 60_000;

export interface TokenSource {
  /** A bearer token for the scope. Throws classified errors. */
  token(scope: string): Promise<string>;
  /** Forgets the cached token of a scope (the service refused it). */
  forget(scope: string): void;
}

/**
 * The identity the app runs as: the user-assigned managed identity when its client id is given
 * (AZURE_CLIENT_ID), else DefaultAzureCredential's chain (developer sign-in locally).
 */
export function defaultCredential(clientId?: string): TokenCredential {
  return new DefaultAzureCredential(clientId ? { managedIdentityClientId: clientId } : {});
}

export function createTokenSource(credential: TokenCredential, now: () => number = Date.now): TokenSource {
  // Scopes are the app's own (Key Vault, Storage, ARM, Snowflake…): a handful; bounded all the same.
  const cache = new BoundedMap<string, { value: string; expiresAt: number }>(64);
  return {
    async token(scope) {
      const cached = cache.get(scope);
      if (cached && cached.expiresAt - EARLY_REFRESH_MS > now()) return cached.value;
      let got;
      try {
        got = await credential.getToken(scope);
      } catch (error) {
        const text = maskSecrets(error instanceof Error ? error.message : String(error));
        // No identity at all (not on Azure, no developer sign-in) will not fix itself by retrying.
        if (error instanceof CredentialUnavailableError) throw new PermanentError(`no managed identity token for ${scope}: ${text}`, { code: 'NO_IDENTITY' });
        throw new TransientError(`could not get a token for ${scope}: ${text}`, { code: 'TOKEN' });
      }
      if (!got) throw new TransientError(`the identity returned no token for ${scope}`, { code: 'TOKEN' });
      cache.set(scope, { value: got.token, expiresAt: got.expiresOnTimestamp });
      return got.token;
    },
    forget(scope) {
      cache.delete(scope);
    },
  };
}

/**
 * A token source built on first use: a step kind that may never need an Azure identity (a dbt
 * Cloud runner, an HTTP wait) does not make one at load.
 */
export function lazyTokenSource(identity: { readonly credential?: TokenCredential; readonly managedIdentityClientId?: string }): TokenSource {
  let tokens: TokenSource | undefined;
  return {
    token: (scope) => (tokens ??= createTokenSource(identity.credential ?? defaultCredential(identity.managedIdentityClientId))).token(scope),
    forget: (scope) => tokens?.forget(scope),
  };
}

/** `https://management.azure.com/.default` for the public cloud; the same shape for sovereign clouds. */
export function scopeFor(baseUrl: string): string {
  return `${new URL(baseUrl).origin}/.default`;
}
