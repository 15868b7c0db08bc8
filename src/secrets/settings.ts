/**
 * Secrets from app settings / environment variables, for local runs and for apps that prefer
 * Functions' own Key Vault references (`SECRET_X=@Microsoft.KeyVault(SecretUri=…)`, resolved by
 * the platform before the app starts).
 *
 * Naming rule: secret `snowflake-password` ← setting `SECRET_SNOWFLAKE_PASSWORD` (prefix `SECRET_`,
 * upper case, `-` → `_`). Key Vault names hold only letters, digits and `-` and are
 * case-insensitive, so the rule maps every secret name to exactly one setting.
 */
import { PermanentError } from '../core/errors';
import type { SecretSource } from './cache';
import type { SettingsReader } from './types';

export const SECRET_SETTING_PREFIX = 'SECRET_';

export function settingNameForSecret(name: string): string {
  return SECRET_SETTING_PREFIX + name.toUpperCase().replace(/-/g, '_');
}

export function settingsSource(settings: SettingsReader): SecretSource {
  return {
    description: 'app settings',
    read(name: string): Promise<string> {
      const setting = settingNameForSecret(name);
      const value = settings(setting);
      if (value === undefined || value === '') {
        return Promise.reject(
          new PermanentError(`secret "${name}" is not set: add the app setting ${setting}, or set KEY_VAULT_URL to read secrets from Key Vault`, { code: 'SecretNotFound' }),
        );
      }
      return Promise.resolve(value);
    },
  };
}
