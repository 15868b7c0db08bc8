/**
 * The run store the app uses, from its settings: identity-based against the account's table
 * endpoint in Azure (no keys), or a connection string (Azurite) locally.
 */
import { DefaultAzureCredential, ManagedIdentityCredential } from '@azure/identity';
import type { TableServiceClientOptions } from '@azure/data-tables';
import type { TokenCredential } from '@azure/identity';
import type { AppConfig } from '../config/config';
import { createRunStore, type TableRunStore } from './tableStore';
import { createRunStoreTables, type RunStoreConnection } from './tables';

export class RunStoreConfigError extends Error {
  override readonly name = 'RunStoreConfigError';
}

/** Where the store lives: RUN_STORE_TABLE_URL (with a credential) wins over RUN_STORE_CONNECTION_STRING. */
export function runStoreConnection(config: AppConfig, credential?: TokenCredential): RunStoreConnection {
  if (config.RUN_STORE_TABLE_URL !== undefined) {
    const cred =
      credential ??
      (config.AZURE_CLIENT_ID !== undefined
        ? new ManagedIdentityCredential({ clientId: config.AZURE_CLIENT_ID })
        : new DefaultAzureCredential());
    return { url: config.RUN_STORE_TABLE_URL, credential: cred };
  }
  if (config.RUN_STORE_CONNECTION_STRING !== undefined) return { connectionString: config.RUN_STORE_CONNECTION_STRING };
  throw new RunStoreConfigError('set RUN_STORE_TABLE_URL (managed identity) or RUN_STORE_CONNECTION_STRING (Azurite)');
}

export function runStoreFromConfig(
  config: AppConfig,
  options: { credential?: TokenCredential; clientOptions?: TableServiceClientOptions; now?: () => Date } = {},
): TableRunStore {
  const tables = createRunStoreTables(runStoreConnection(config, options.credential), config.RUN_STORE_TABLE_PREFIX, options.clientOptions);
  return createRunStore({ tables, ...(options.now ? { now: options.now } : {}) });
}
