/**
 * Application settings, read once from the environment and validated by one schema.
 * Every setting here is listed in local.settings.sample.json and the README's settings table.
 */
import { z } from 'zod';
import { authSettingsProblems } from '../auth/settings';

/** "true"/"false" (any case) only: `z.coerce.boolean()` would read "false" as true. */
const booleanSetting = (fallback: boolean) =>
  z
    .enum(['true', 'false', 'TRUE', 'FALSE', 'True', 'False', '1', '0'], { error: (issue) => `must be true or false, not ${JSON.stringify(issue.input)}` })
    .optional()
    .transform((v) => (v === undefined ? fallback : v.toLowerCase() === 'true' || v === '1'));

const positiveInt = (fallback: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .optional()
    .transform((v) => (v === undefined ? fallback : Number(v)));

// The value is not quoted back: a URL may carry a token.
const optionalUrl = z.url({ error: 'must be an absolute URL (https://…)' }).optional();

export const configSchema = z.object({
  /** Key Vault holding the pipelines' secrets; when unset, secrets come from settings (see secrets/). */
  KEY_VAULT_URL: optionalUrl,
  /** Client id of the user-assigned managed identity; unset = DefaultAzureCredential's chain. */
  AZURE_CLIENT_ID: z.string().uuid().optional(),
  /** Table Storage endpoint for run records, e.g. https://<account>.table.core.windows.net (identity). */
  RUN_STORE_TABLE_URL: optionalUrl,
  /** Connection string for run records when no endpoint is set: Azurite locally. */
  RUN_STORE_CONNECTION_STRING: z.string().optional(),
  /** Prefix of the run-record tables (several apps can share one account). */
  RUN_STORE_TABLE_PREFIX: z.string().regex(/^[A-Za-z][A-Za-z0-9]{0,30}$/, 'letters and digits, starting with a letter').default('dp'),
  /** Days a run's records and Durable history are kept. */
  RUN_RETENTION_DAYS: positiveInt(90),
  /** The scheduler timer evaluates schedules when true; false pauses every schedule of this app. */
  SCHEDULER_ENABLED: booleanSetting(true),
  /** Seconds a resolved secret stays cached in memory. */
  SECRET_CACHE_TTL_SECONDS: positiveInt(300),
  /** Base URL people open to see a run (alerts link to `<base>/api/runs/<id>`). */
  PUBLIC_BASE_URL: optionalUrl,
  /**
   * Azure Resource Manager endpoint for dbt Container Apps job steps (sovereign clouds, local
   * stand-ins); the token scope follows it (`<origin>/.default`). Read by the activity through settings.
   */
  AZURE_RESOURCE_MANAGER_URL: optionalUrl,
  /**
   * Endpoint of Snowflake for every snowflake step (the driver's `accessUrl`): a local stand-in in
   * tests and development, a private-link URL. Unset = the account's own URL. Read through settings.
   */
  SNOWFLAKE_ACCESS_URL: optionalUrl,
  /** Endpoint every dbt Cloud step talks to instead of its `baseUrl` (private link, the demo's stand-in). Read through settings. */
  DBT_CLOUD_ACCESS_URL: optionalUrl,
  /**
   * Key that signs the API's list cursors (HMAC-SHA256), at least 32 characters; a Key Vault reference
   * works. Unset = a random key per process: cursors then fail (400) on another instance or after a restart.
   */
  CURSOR_SIGNING_KEY: z.string().min(32, 'at least 32 characters').optional(),
  /** pino level. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type AppConfig = z.output<typeof configSchema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Every problem of the settings (this schema's and sign-in's), each once, as `NAME: what is wrong`. */
export function settingsProblems(env: NodeJS.ProcessEnv = process.env): string[] {
  const parsed = configSchema.safeParse(env);
  const problems = parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  return [...new Set([...problems, ...authSettingsProblems(env)])];
}

/** Parses the settings; throws one error naming every bad setting, once each. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const parsed = configSchema.safeParse(env);
  if (parsed.success) return parsed.data;
  throw new ConfigError(invalidSettingsMessage(settingsProblems(env)));
}

/** The start-up refusal: every problem, one per line. */
export function invalidSettingsMessage(problems: readonly string[]): string {
  return `invalid app settings (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  ${p}`).join('\n')}`;
}

/**
 * Refuses to start on invalid settings, as the app does on an invalid definition: every problem at
 * once, before anything is served (a host that starts anyway answers every request 500).
 */
export function assertValidSettings(env: NodeJS.ProcessEnv = process.env): void {
  const problems = settingsProblems(env);
  if (problems.length > 0) throw new ConfigError(invalidSettingsMessage(problems));
}
