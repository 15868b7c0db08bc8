/**
 * The step activities the app serves, wired to the real adapters, Key Vault (or settings), the
 * Table run store and the alert notifier from the app settings. Modules with heavy SDKs are
 * imported on first use so a cold start that runs no step does not pay for them.
 */
import type { AppConfig } from '../config/config';
import { logger } from '../logging/logger';
import type { RunRecorder } from '../runs/recorder';
import { createStepActivities, type StepActivities } from './stepActivities';

export async function createAppStepActivities(config: AppConfig, env: NodeJS.ProcessEnv = process.env): Promise<StepActivities> {
  const log = logger();
  const [{ createAzureFunctionAdapter }, { createSnowflakeAdapter }, { createDbtAdapter }, { secretResolverFromConfig }, { createNotifier }] = await Promise.all([
    import('../steps/azureFunction'),
    import('../steps/snowflake'),
    import('../steps/dbt'),
    import('../secrets'),
    import('../notify'),
  ]);
  const secrets = secretResolverFromConfig(config, { log });
  const settings = (name: string): string | undefined => env[name];
  let recorder: RunRecorder | undefined;
  try {
    const { runStoreFromConfig } = await import('../runs/fromConfig');
    recorder = runStoreFromConfig(config);
  } catch (error) {
    // Runs still execute without a store (local experiments); their records are missing, loudly.
    log.warn({ err: error instanceof Error ? error.message : String(error) }, 'run store not configured: runs will not be recorded');
  }
  return createStepActivities({
    adapters: {
      azureFunction: createAzureFunctionAdapter(),
      snowflake: createSnowflakeAdapter(config.SNOWFLAKE_ACCESS_URL === undefined ? {} : { accessUrl: config.SNOWFLAKE_ACCESS_URL }),
      dbt: createDbtAdapter(config.AZURE_CLIENT_ID === undefined ? {} : { managedIdentityClientId: config.AZURE_CLIENT_ID }),
    },
    secrets,
    settings,
    ...(recorder ? { recorder } : {}),
    notifier: createNotifier({ secrets, publicBaseUrl: config.PUBLIC_BASE_URL, log }),
    logger: log,
  });
}
