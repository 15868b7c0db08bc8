/**
 * Everything the seed pipeline talks to, stood in for on loopback: the export function, Snowflake,
 * the dbt Container Apps Job (ARM + Blob), Key Vault over HTTPS with the seed's secrets, the Slack
 * webhook and Azurite for run records. Returns the app settings that point the real app at them.
 * Used by `npm run demo` and by the end-to-end tests.
 */
import { startAzurite, type AzuriteInstance } from './azurite';
import { startArmStandIn, type ArmStandIn } from './arm/server';
import { startExportFunction, type ExportFunctionStandIn } from './exportFunction/server';
import { startKeyVaultStandIn, standInClientOptions, STANDIN_TOKEN, type KeyVaultStandIn } from './keyvault/server';
import { SNOWFLAKE_ERRORS, SnowflakeStandIn, copyIntoResult } from './snowflake/server';
import { demoStageScripts } from './snowflake/demoStage';
import { startWebhookStandIn, type WebhookStandIn } from './webhooks/server';

export type FailableStep = 'export' | 'load' | 'transform';

export interface StandInEnvironmentOptions {
  /** Make this step's service fail transiently on every attempt (to show retries, then rerun). */
  readonly failStep?: FailableStep;
  /** Milliseconds the export function takes to answer (real time: gives time to cancel). */
  readonly exportDelayMs?: number;
  /** Status checks the dbt Container Apps job execution answers Running before it ends (default 2). */
  readonly dbtJobPolls?: number;
  /** The Snowflake account the stand-in answers for (default `demo_account`): a pipeline may name its own. */
  readonly snowflakeAccount?: string;
}

export interface StandInEnvironment {
  /** App settings (merge into process.env) that point the app at the stand-ins. */
  readonly settings: Record<string, string>;
  /** SecretClient options trusting the stand-in vault's test CA. */
  readonly secretClientOptions: ReturnType<typeof standInClientOptions>;
  /** The token every stand-in accepts (Key Vault, ARM, Blob). */
  readonly credential: { getToken(): Promise<{ token: string; expiresOnTimestamp: number }> };
  readonly exportFunction: ExportFunctionStandIn;
  readonly snowflake: SnowflakeStandIn;
  readonly dbt: ArmStandIn;
  readonly keyVault: KeyVaultStandIn;
  readonly slack: WebhookStandIn;
  readonly azurite: AzuriteInstance;
  /** Calls each step's service received (export POSTs, COPY INTO statements, dbt job starts). */
  callCounts(): Record<FailableStep, number>;
  /** Makes a step's service fail (or recover, with undefined) from now on. */
  setFailStep(step: FailableStep | undefined): void;
  /** Makes the export function answer after this many real milliseconds (undefined: at once). */
  setExportDelay(ms: number | undefined): void;
  /** A secret (or app setting, via `onUrl`) that holds an export function URL: kept on the stand-in, following setFailStep. */
  trackExportUrl(onUrl: (url: string) => void): void;
  stop(): Promise<void>;
}

/** Three files, one partially loaded: what the demo's COPY INTO reports. */
export const DEMO_COPY_RESULT = copyIntoResult([
  { file: 'azure://exports/chemin/vers/fichiers/part-0001.json', status: 'LOADED', rowsParsed: 1200, rowsLoaded: 1200 },
  { file: 'azure://exports/chemin/vers/fichiers/part-0002.json', status: 'LOADED', rowsParsed: 1150, rowsLoaded: 1150 },
  {
    file: 'azure://exports/chemin/vers/fichiers/part-0003.json', status: 'PARTIALLY_LOADED', rowsParsed: 1100, rowsLoaded: 1097,
    errorsSeen: 3, firstError: 'Error parsing JSON: incomplete object value', firstErrorLine: 412, firstErrorCharacter: 18,
  },
]);

export const DEMO_RUN_RESULTS = {
  metadata: { dbt_version: '1.9.4' },
  results: [
    { unique_id: 'model.shop.stg_orders', status: 'success', message: 'SUCCESS 3447', execution_time: 1.2 },
    { unique_id: 'model.shop.stg_customers', status: 'success', message: 'SUCCESS 812', execution_time: 0.8 },
    { unique_id: 'model.shop.orders_daily', status: 'success', message: 'SUCCESS 31', execution_time: 2.1 },
    { unique_id: 'model.shop.customer_lifetime', status: 'success', message: 'SUCCESS 812', execution_time: 1.7 },
  ],
};

const SNOWFLAKE_USER = 'PIPELINE_LOADER';
const SNOWFLAKE_PASSWORD = 'demo-password-not-a-secret';

export async function startStandInEnvironment(options: StandInEnvironmentOptions = {}): Promise<StandInEnvironment> {
  const [exportFunction, slack, azurite, dbt] = await Promise.all([
    startExportFunction({ flakyFailures: Number.MAX_SAFE_INTEGER, slowMs: options.exportDelayMs ?? 2000 }),
    startWebhookStandIn(),
    startAzurite({ blob: false }),
    startArmStandIn({ armToken: STANDIN_TOKEN, storageToken: STANDIN_TOKEN, pollsBeforeDone: options.dbtJobPolls ?? 2, outcome: { status: 'Succeeded', runResults: DEMO_RUN_RESULTS } }),
  ]);
  const snowflake = new SnowflakeStandIn({ account: options.snowflakeAccount ?? 'demo_account', users: { [SNOWFLAKE_USER]: { password: SNOWFLAKE_PASSWORD } } });
  await snowflake.start();
  snowflake.script({ match: /^\s*COPY INTO/i, result: DEMO_COPY_RESULT });

  let failStep: FailableStep | undefined = options.failStep;
  let exportDelayMs = options.exportDelayMs;
  const exportPath = () => (failStep === 'export' ? '/api/flaky' : exportDelayMs ? '/api/slow' : '/api/export');
  const keyVault = await startKeyVaultStandIn({
    secrets: {
      'azure-function-url': `${exportFunction.baseUrl}${exportPath()}`,
      'azure-function-key': exportFunction.config.key,
      'snowflake-account': options.snowflakeAccount ?? 'demo_account',
      'snowflake-user': SNOWFLAKE_USER,
      'snowflake-password': SNOWFLAKE_PASSWORD,
      'snowflake-warehouse': 'LOAD_WH',
      'snowflake-database': 'RAW',
      'snowflake-schema': 'SHOP',
      'slack-webhook-url': slack.slackUrl,
    },
  });

  // Where the export function's URL is kept: the seed's secret, and any a demo pipeline names.
  const exportUrlHolders: ((url: string) => void)[] = [(url) => keyVault.setSecret('azure-function-url', url)];
  const applyFailStep = (): void => {
    for (const hold of exportUrlHolders) hold(`${exportFunction.baseUrl}${exportPath()}`);
    if (failStep === 'load') {
      // A real transient failure: the table's lock has too many waiters (000625); retried by policy.
      snowflake.script({ match: /^\s*COPY INTO/i, error: SNOWFLAKE_ERRORS.lockWaitersExceeded('MA_TABLE_DESTINATION') });
    } else {
      snowflake.script({ match: /^\s*COPY INTO/i, result: DEMO_COPY_RESULT });
      // The seed's `day` parameter picks a folder; later scripts win, so these go after.
      demoStageScripts().forEach((script) => snowflake.script(script));
    }
    // A job that ends Failed without results is an infrastructure failure: transient, retried.
    dbt.setOutcome(failStep === 'transform' ? { status: 'Failed' } : { status: 'Succeeded', runResults: DEMO_RUN_RESULTS });
  };
  applyFailStep();

  return {
    settings: {
      KEY_VAULT_URL: keyVault.url,
      RUN_STORE_CONNECTION_STRING: azurite.connectionString,
      SNOWFLAKE_ACCESS_URL: snowflake.url,
      AZURE_RESOURCE_MANAGER_URL: dbt.url,
      DBT_JOB_RESOURCE_ID: dbt.jobResourceId,
      DBT_RESULTS_CONTAINER_URL: dbt.resultsContainerUrl,
    },
    secretClientOptions: standInClientOptions(keyVault),
    credential: { getToken: () => Promise.resolve({ token: STANDIN_TOKEN, expiresOnTimestamp: Date.now() + 3_600_000 }) },
    exportFunction,
    snowflake,
    dbt,
    keyVault,
    slack,
    azurite,
    callCounts: () => ({
      export: exportFunction.calls.filter((c) => c.method === 'POST' && c.path.startsWith('/api/')).length,
      load: snowflake.queries.filter((q) => /^\s*COPY INTO/i.test(q.sql)).length,
      transform: dbt.starts.length,
    }),
    setFailStep(step) {
      failStep = step;
      applyFailStep();
    },
    trackExportUrl(onUrl) {
      exportUrlHolders.push(onUrl);
      onUrl(`${exportFunction.baseUrl}${exportPath()}`);
    },
    setExportDelay(ms) {
      exportDelayMs = ms;
      if (ms) exportFunction.config.slowMs = ms;
      applyFailStep();
    },
    async stop() {
      await Promise.allSettled([exportFunction.close(), slack.close(), azurite.stop(), dbt.close(), snowflake.close(), keyVault.close()]);
    },
  };
}
