/**
 * `npm run dev`: the app in the development host on PORT (default 7071), real clock, real step
 * adapters configured from local.settings.json (`Values`, like `func start`), Azurite started for
 * the run records unless a store is configured (data in AZURITE_LOCATION, default .azurite), and the scheduler ticking in real time when
 * SCHEDULER_ENABLED is true. Needs no Functions Core Tools.
 *
 * Invalid settings stop it before anything starts, every problem listed once (exit 3, as for an
 * invalid definition). Without local.settings.json the scheduler is off unless asked for
 * (`--scheduler`, or SCHEDULER_ENABLED=true in the environment): a fresh clone on a laptop must not
 * fire the production schedules.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startAzurite, type AzuriteInstance } from '../src/standins/azurite';
import { describeExposure, repeatedFlag } from './exposure';
import { emulatedSignIn } from './signIn';
import { buildConsole } from './buildConsole.mjs';
import { localUser } from '../src/auth/roles';
import { explainStartupFailure, invalidDefinitions, invalidSettings } from '../src/cli/localStartup';
import { loadConfig } from '../src/config/config';

/** `--as reader|operator|reader:<project>|operator:<project>`: emulate App Service sign-in for the console (see scripts/signIn.ts). */
function signedInAs(argv: readonly string[]): string | undefined {
  const index = argv.indexOf('--as');
  if (index === -1) return undefined;
  const value = argv[index + 1];
  if (value === undefined || !localUser(value)) throw new Error('--as takes reader, operator, reader:<project> or operator:<project>');
  return value;
}

/** Reads `Values` into the environment; false when there is no file. */
function loadLocalSettings(path = 'local.settings.json'): boolean {
  if (!existsSync(path)) {
    console.log(`no ${path}: copy local.settings.sample.json to ${path} and fill in your services (see README).`);
    return false;
  }
  const values = (JSON.parse(readFileSync(path, 'utf8')) as { Values?: Record<string, unknown> }).Values ?? {};
  for (const [name, value] of Object.entries(values)) {
    // The environment wins, as with func start; empty values mean "not set".
    if (process.env[name] === undefined && typeof value === 'string' && value !== '') process.env[name] = value;
  }
  return true;
}

/**
 * Without settings the scheduler runs only when asked: `--scheduler` or SCHEDULER_ENABLED from the
 * environment. With local.settings.json, the file (or the environment) says, as with func start.
 */
function decideScheduler(hasSettingsFile: boolean, argv: readonly string[]): void {
  if (argv.includes('--scheduler')) process.env['SCHEDULER_ENABLED'] = 'true';
  else if (!hasSettingsFile && process.env['SCHEDULER_ENABLED'] === undefined) process.env['SCHEDULER_ENABLED'] = 'false';
}

const port = () => process.env['PORT'] ?? '7071';

async function main(): Promise<void> {
  const hasSettingsFile = loadLocalSettings();
  decideScheduler(hasSettingsFile, process.argv.slice(2));
  const as = signedInAs(process.argv.slice(2));
  const signIn = as ? emulatedSignIn(as) : undefined;
  if (signIn) Object.assign(process.env, signIn.settings);
  // Settings and definitions are checked before anything starts, every problem at once.
  const invalid = invalidSettings(hasSettingsFile) ?? invalidDefinitions();
  if (invalid) {
    console.error(invalid.message);
    process.exit(invalid.exitCode);
  }
  const allowedHosts = repeatedFlag(process.argv.slice(2), '--allow-host');
  if (!signIn && (process.env['WEBSITE_AUTH_ENABLED'] ?? '').toLowerCase() === 'true') {
    // Copied from Azure's settings: only the platform can vouch for a principal, and here the dev
    // host is the platform. It drops client-sent principals, so the console signs in nobody.
    console.log('WEBSITE_AUTH_ENABLED=True in your settings: locally nobody is signed in unless you pass --as reader|operator (client-sent principals are dropped).');
  }
  const config = loadConfig();
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  // AZURITE_LOCATION (default .azurite, git-ignored): Azurite's data and the dev host's Durable state.
  const dataFolder = process.env['AZURITE_LOCATION'] ?? '.azurite';
  let azurite: AzuriteInstance | undefined;
  const store = process.env['RUN_STORE_CONNECTION_STRING'];
  if (process.env['RUN_STORE_TABLE_URL'] === undefined && (store === undefined || store === 'UseDevelopmentStorage=true')) {
    // Run records live in dataFolder, beside the Durable state, so both survive a restart.
    azurite = await startAzurite({ blob: false, location: dataFolder });
    process.env['RUN_STORE_CONNECTION_STRING'] = azurite.connectionString;
    console.log(`Azurite (data in ${dataFolder}) for run records: ${azurite.tableUrl}`);
  }

  if (!process.env['CONSOLE_DIR']) process.env['CONSOLE_DIR'] = resolve((await buildConsole()).dir);
  await import('../src/index');
  const { registrations } = await import('../src/app/registry');
  const { DevHost } = await import('../src/devhost');
  const key = process.env['DURABLE_PIPELINES_KEY'];
  const host = await DevHost.start({
    registrations: registrations(),
    clock: 'real',
    httpPort: Number(port()),
    ...(key ? { functionKey: key } : {}),
    hostJsonPath: 'host.json',
    ...(signIn ? { platformPrincipal: signIn.principal } : {}),
    allowedHosts,
    // Durable state next to Azurite's data, so runs survive a restart (docs/devhost.md).
    stateDirectory: join(dataFolder, 'durable'),
    log: (line) => console.log(line),
  }).catch(async (error: unknown) => {
    // e.g. the port is taken: leave no Azurite behind.
    await azurite?.stop();
    throw error;
  });
  console.log(`durable-pipelines dev host on ${host.baseUrl ?? ''}${key ? ' (function key required)' : ' (no function key check: set DURABLE_PIPELINES_KEY to require one)'}`);
  for (const line of describeExposure({ baseUrl: host.baseUrl ?? '', key: key ? 'DURABLE_PIPELINES_KEY' : undefined, signIn, allowedHosts, signInHint: 'restart with npm run dev -- --as operator (or --as reader)' })) console.log(line);
  console.log(
    config.SCHEDULER_ENABLED
      ? 'scheduler on: schedules fire in real time'
      : hasSettingsFile || process.env['SCHEDULER_ENABLED'] !== 'false'
        ? 'scheduler off (SCHEDULER_ENABLED=false)'
        : 'scheduler off: no local.settings.json (pass --scheduler, or set SCHEDULER_ENABLED=true, to fire the schedules in real time)',
  );
  console.log(`try: npx durable-pipelines --url ${host.baseUrl ?? ''} pipelines ls`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await host.stop();
  await azurite?.stop();
}

main().catch((error: unknown) => {
  const failure = explainStartupFailure(error, port());
  console.error(failure ? `error: ${failure.message}` : error);
  process.exit(failure?.exitCode ?? 1);
});
