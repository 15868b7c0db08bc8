import type { ConfigValue } from '../pipelines/schema';

/** Resolves secret *names* to values inside activities. Values never leave the activity. */
export interface SecretResolver {
  /** The value of a secret; cached in memory with a TTL. */
  get(name: string): Promise<string>;
  /** Drops a cached value, e.g. after the downstream service rejected it (rotation). */
  invalidate(name: string): void;
}

/** Reads non-secret app settings (`{ setting: 'NAME' }` in a definition). */
export type SettingsReader = (name: string) => string | undefined;

/** Resolves a definition value: literal, `{ secret }` or `{ setting }`. */
export async function resolveValue(value: ConfigValue, secrets: SecretResolver, settings: SettingsReader): Promise<string> {
  if (typeof value === 'string') return value;
  if ('secret' in value) return secrets.get(value.secret);
  const found = settings(value.setting);
  if (found === undefined || found === '') throw new MissingSettingError(value.setting);
  return found;
}

export class MissingSettingError extends Error {
  override readonly name = 'MissingSettingError';
  constructor(readonly setting: string) {
    super(`app setting ${setting} is not set`);
  }
}
