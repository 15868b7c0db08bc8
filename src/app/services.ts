/**
 * The composition root: one set of clients per process (config, run store, secrets, notifier),
 * built on first use so a cold start that serves nothing pays nothing. Activities, the HTTP API
 * and the scheduler all take theirs from here. The dev host and tests pass `overrides`.
 */
import type { TokenCredential } from '@azure/identity';
import type { TableServiceClientOptions } from '@azure/data-tables';
import type { SecretClientOptions } from '@azure/keyvault-secrets';
import { loadConfig, type AppConfig } from '../config/config';
import { logger, type Logger } from '../logging/logger';
import type { Catalog } from '../pipelines/catalog';
import type { Notifier } from '../notify';
import type { TableRunStore } from '../runs/tableStore';
import type { SecretResolver, SettingsReader } from '../secrets/types';
import { appCatalog } from './catalog';
import { rememberDefinitions } from './definitions';
import type { ProjectSecrets } from '../projects/secrets';

export interface AppServices {
  readonly config: AppConfig;
  readonly catalog: Catalog;
  readonly log: Logger;
  readonly settings: SettingsReader;
  readonly secrets: SecretResolver;
  /** Undefined when no store is configured: runs execute, unrecorded (a loud warning says so). */
  readonly store: TableRunStore | undefined;
  readonly notifier: Notifier;
  /** The clock of activities and the scheduler (the dev host's virtual clock in tests). */
  readonly now: () => Date;
  /** Credential override for Azure clients (stand-ins); unset = managed identity / DefaultAzureCredential. */
  readonly credential?: TokenCredential;
  /** The resolver a project's steps use: its own vault or the app's, limited to its scope (src/projects/secrets.ts). */
  readonly secretsOf: ProjectSecrets;
}

export interface ServiceOverrides {
  readonly env?: NodeJS.ProcessEnv;
  readonly catalog?: Catalog;
  readonly log?: Logger;
  readonly now?: () => Date;
  /** Credential for Azure clients (Key Vault, Tables, ARM); tests pass a stand-in. */
  readonly credential?: TokenCredential;
  readonly tableClientOptions?: TableServiceClientOptions;
  /** SecretClient options (the stand-in vault's test CA). */
  readonly secretClientOptions?: SecretClientOptions;
  readonly secrets?: SecretResolver;
}

export async function createServices(overrides: ServiceOverrides = {}): Promise<AppServices> {
  const env = overrides.env ?? process.env;
  const config = loadConfig(env);
  const log = overrides.log ?? logger();
  const [{ secretResolverFromConfig }, { createNotifier }, { runStoreFromConfig, RunStoreConfigError }, { projectSecretResolvers }] = await Promise.all([
    import('../secrets'),
    import('../notify'),
    import('../runs/fromConfig'),
    import('../projects/secrets'),
  ]);
  const clock = overrides.now;
  const resolverExtras = {
    log,
    settings: (name: string) => env[name],
    // The cache's TTL runs on the services' clock: the dev host's virtual clock when it drives
    // time, so a poll 5 virtual minutes later re-reads an expired secret as it would in Azure.
    ...(clock ? { now: () => clock().getTime() } : {}),
    ...(overrides.credential ? { credential: overrides.credential } : {}),
    ...(overrides.secretClientOptions ? { clientOptions: overrides.secretClientOptions } : {}),
  };
  const secrets = overrides.secrets ?? secretResolverFromConfig(config, resolverExtras);
  const catalog = overrides.catalog ?? appCatalog();
  // A project with its own vault reads it with the app's identity (Key Vault Secrets User there).
  const secretsOf = projectSecretResolvers(catalog, secrets, (url) => secretResolverFromConfig({ ...config, KEY_VAULT_URL: url }, resolverExtras), (name) => env[name]);
  let store: TableRunStore | undefined;
  try {
    store = runStoreFromConfig(config, {
      ...(overrides.credential ? { credential: overrides.credential } : {}),
      ...(overrides.tableClientOptions ? { clientOptions: overrides.tableClientOptions } : {}),
      ...(overrides.now ? { now: overrides.now } : {}),
    });
  } catch (error) {
    if (!(error instanceof RunStoreConfigError)) throw error;
    log.warn({ err: error.message }, 'run store not configured: runs will not be recorded');
  }
  rememberDefinitions(catalog.pipelines);
  return {
    config,
    catalog,
    log,
    settings: (name) => env[name],
    secrets,
    store,
    notifier: createNotifier({ secrets, publicBaseUrl: config.PUBLIC_BASE_URL, log }),
    now: overrides.now ?? (() => new Date()),
    ...(overrides.credential ? { credential: overrides.credential } : {}),
    secretsOf,
  };
}

let shared: Promise<AppServices> | undefined;

/** The process's services, built once; a failed build is retried on the next call. */
export function appServices(): Promise<AppServices> {
  shared ??= createServices().catch((error: unknown) => {
    shared = undefined;
    throw error;
  });
  return shared;
}

/** For the dev host and tests: make `appServices()` return these. */
export function useServices(services: Promise<AppServices> | AppServices): void {
  shared = Promise.resolve(services).then((s) => {
    // The orchestrators follow runs by definition version: they must know the catalog served now.
    rememberDefinitions(s.catalog.pipelines);
    return s;
  });
  if (!(services instanceof Promise)) rememberDefinitions(services.catalog.pipelines);
}
