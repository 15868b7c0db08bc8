export type { SecretResolver, SettingsReader } from './types';
export { resolveValue, MissingSettingError } from './types';
export { createSecretResolver, secretResolverFromConfig, createSecretClient, type SecretResolverOptions } from './resolver';
export { createCachingResolver, type SecretSource, type SecretCacheOptions } from './cache';
export { keyVaultSource, classifyKeyVaultError, DEFAULT_KEY_VAULT_RETRY, type KeyVaultRetryOptions } from './keyVault';
export { settingsSource, settingNameForSecret, SECRET_SETTING_PREFIX } from './settings';
