/**
 * The in-memory secret cache in front of a source (Key Vault or app settings).
 *
 * - TTL: a value is served from memory for `ttlSeconds`, then re-read.
 * - Single flight: concurrent gets of one name share one read, so fifty activities starting at
 *   once on a warm instance cost one Key Vault GET per secret, not fifty.
 * - Rotation: `invalidate(name)` drops the value and orphans a read in flight, so the next get
 *   reads the new value.
 * - Stale if error: when a refresh fails transiently (vault throttled or unreachable) the expired
 *   value is served for up to `maxStaleSeconds` more; an invalidated value never is.
 * Every value read is registered for masking before anyone sees it.
 */
import { BoundedMap } from '../core/boundedMap';
import { ClassifiedError } from '../core/errors';
import { rememberSecretValue } from '../logging/mask';
import type { Logger } from '../logging/logger';
import type { SecretResolver } from './types';

/** More secret names than any catalog names: the cache's backstop bound. */
const MAX_CACHED_SECRETS = 1000;

/** Where values come from. `read` throws classified errors whose text holds no value. */
export interface SecretSource {
  /** For messages: "Key Vault https://x.vault.azure.net/", "app settings". */
  readonly description: string;
  read(name: string): Promise<string>;
}

export interface SecretCacheOptions {
  readonly ttlSeconds: number;
  /** How long an expired value may still be served while the source fails transiently (default: the TTL). */
  readonly maxStaleSeconds?: number;
  readonly now?: () => number;
  readonly log?: Logger;
}

interface Entry {
  readonly value: string;
  readonly expiresAt: number;
}

interface Flight {
  readonly promise: Promise<string>;
}

export function createCachingResolver(source: SecretSource, options: SecretCacheOptions): SecretResolver {
  const now = options.now ?? Date.now;
  const ttlMs = options.ttlSeconds * 1000;
  const maxStaleMs = (options.maxStaleSeconds ?? options.ttlSeconds) * 1000;
  // Names come from the deployed definitions; the bound is a backstop far above any catalog.
  const entries = new BoundedMap<string, Entry>(MAX_CACHED_SECRETS);
  const flights = new Map<string, Flight>();

  // Key Vault names are case-insensitive; so is the cache.
  const keyOf = (name: string) => name.toLowerCase();

  function read(name: string, key: string): Promise<string> {
    const flight: { promise: Promise<string> } = { promise: Promise.resolve('') };
    flight.promise = source.read(name).then(
      (value) => {
        rememberSecretValue(value);
        // A read orphaned by invalidate() must not put the old value back.
        if (flights.get(key) === flight) entries.set(key, { value, expiresAt: now() + ttlMs });
        return value;
      },
      (error: unknown) => {
        const stale = entries.get(key);
        if (stale && error instanceof ClassifiedError && error.failureClass === 'transient' && now() < stale.expiresAt + maxStaleMs) {
          options.log?.warn({ secret: name, source: source.description, error: error.message }, 'secret refresh failed; serving the cached value');
          return stale.value;
        }
        throw error;
      },
    ).finally(() => {
      if (flights.get(key) === flight) flights.delete(key);
    });
    flights.set(key, flight);
    return flight.promise;
  }

  return {
    get(name: string): Promise<string> {
      const key = keyOf(name);
      const entry = entries.get(key);
      if (entry && now() < entry.expiresAt) return Promise.resolve(entry.value);
      return flights.get(key)?.promise ?? read(name, key);
    },
    invalidate(name: string): void {
      const key = keyOf(name);
      entries.delete(key);
      flights.delete(key);
    },
  };
}
