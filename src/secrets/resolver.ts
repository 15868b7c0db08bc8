/**
 * Builds the app's SecretResolver: Key Vault when a vault URL is configured, else app settings
 * (see settings.ts for the naming rule), both behind the same cache (cache.ts).
 */
import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import { SecretClient, type SecretClientOptions } from '@azure/keyvault-secrets';
import type { AppConfig } from '../config/config';
import type { Logger } from '../logging/logger';
import { createCachingResolver } from './cache';
import { bareThrottleRetryPolicy, DEFAULT_KEY_VAULT_RETRY, keyVaultSource, type KeyVaultRetryOptions } from './keyVault';
import { settingsSource } from './settings';
import type { SecretResolver, SettingsReader } from './types';

export interface SecretResolverOptions {
  /** `https://<vault>.vault.azure.net/`; unset → secrets come from `settings`. */
  readonly keyVaultUrl?: string | undefined;
  /** Client id of a user-assigned managed identity; unset → DefaultAzureCredential. */
  readonly managedIdentityClientId?: string | undefined;
  /** Seconds a value stays cached (SECRET_CACHE_TTL_SECONDS). Default 300. */
  readonly ttlSeconds?: number;
  /** Seconds an expired value may be served while the vault fails transiently. Default: the TTL. */
  readonly maxStaleSeconds?: number;
  /** App settings reader for the settings source. Default: process.env. */
  readonly settings?: SettingsReader;
  /** A ready SecretClient (its vault is then the source; credential and client options are ignored). */
  readonly client?: SecretClient;
  /** Overrides the Azure credential (tests pass one returning a fixed token). */
  readonly credential?: TokenCredential;
  /** Extra SecretClient options (tests pass `tlsOptions: { ca }`, `disableChallengeResourceVerification`). */
  readonly clientOptions?: SecretClientOptions;
  /** The SDK's retry policy for 429/503/5xx/network, plus backoff for a 429 without Retry-After (keyVault.ts). */
  readonly retry?: KeyVaultRetryOptions;
  readonly now?: () => number;
  readonly log?: Logger;
}

export function createSecretResolver(options: SecretResolverOptions = {}): SecretResolver {
  const cache = {
    ttlSeconds: options.ttlSeconds ?? 300,
    ...(options.maxStaleSeconds === undefined ? {} : { maxStaleSeconds: options.maxStaleSeconds }),
    ...(options.now ? { now: options.now } : {}),
    ...(options.log ? { log: options.log } : {}),
  };
  if (options.client) return createCachingResolver(keyVaultSource(options.client), cache);
  if (!options.keyVaultUrl) {
    const settings = options.settings ?? ((name: string) => process.env[name]);
    return createCachingResolver(settingsSource(settings), cache);
  }
  return createCachingResolver(keyVaultSource(createSecretClient(options.keyVaultUrl, options)), cache);
}

/** The resolver for the app's settings (KEY_VAULT_URL, AZURE_CLIENT_ID, SECRET_CACHE_TTL_SECONDS). */
export function secretResolverFromConfig(
  config: Pick<AppConfig, 'KEY_VAULT_URL' | 'AZURE_CLIENT_ID' | 'SECRET_CACHE_TTL_SECONDS'>,
  extra: Omit<SecretResolverOptions, 'keyVaultUrl' | 'managedIdentityClientId' | 'ttlSeconds'> = {},
): SecretResolver {
  return createSecretResolver({
    ...extra,
    keyVaultUrl: config.KEY_VAULT_URL,
    managedIdentityClientId: config.AZURE_CLIENT_ID,
    ttlSeconds: config.SECRET_CACHE_TTL_SECONDS,
  });
}

export function createSecretClient(vaultUrl: string, options: Pick<SecretResolverOptions, 'credential' | 'managedIdentityClientId' | 'clientOptions' | 'retry'> = {}): SecretClient {
  const credential =
    options.credential ??
    (options.managedIdentityClientId
      ? new ManagedIdentityCredential({ clientId: options.managedIdentityClientId })
      : new DefaultAzureCredential());
  const retry = { ...DEFAULT_KEY_VAULT_RETRY, ...options.retry, ...options.clientOptions?.retryOptions };
  return new SecretClient(vaultUrl, credential, {
    ...options.clientOptions,
    retryOptions: retry,
    additionalPolicies: [...(options.clientOptions?.additionalPolicies ?? []), { policy: bareThrottleRetryPolicy(retry), position: 'perCall' }],
  });
}
