/**
 * `npm run dev`: the app in the development host on PORT (default 7071), real clock, real step
 * adapters configured from local.settings.json (`Values`, like `func start`), Azurite started for
 * the run records unless a store is configured (data in AZURITE_LOCATION, default .azurite), and the scheduler ticking in real time when
 * SCHEDULER_ENABLED is true. Needs no Functions Core Tools.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startAzurite, type AzuriteInstance } from '../src/standins/azurite';
import { describeExposure, repeatedFlag } from './exposure';
import { emulatedSignIn } from './signIn';
import { buildConsole } from './buildConsole.mjs';
import type { LocalUser } from '../src/auth/roles';
import { explainStartupFailure, invalidDefinitions } from '../src/cli/localStartup';

/** `--as reader|operator`: emulate App Service sign-in for the console (see scripts/signIn.ts). */
function signedInAs(argv: readonly string[]): LocalUser | undefined {
  const index = argv.indexOf('--as');
  if (index === -1) return undefined;
  const value = argv[index + 1];
  if (value !== 'reader' && value !== 'operator') throw new Error('--as takes reader or operator');
  return value;
}

function loadLocalSettings(path = 'local.settings.json'): void {
  if (!existsSync(path)) {
    console.log(`no ${path}: copy local.settings.sample.json to ${path} and fill in your services (see README).`);
    return;
  }
  const values = (JSON.parse(readFileSync(path, 'utf8')) as { Values?: Record<string, unknown> }).Values ?? {};
  for (const [name, value] of Object.entries(values)) {
    // The environment wins, as with func start; empty values mean "not set".
    if (process.env[name] === undefined && typeof value === 'string' && value !== '') process.env[name] = value;
  }
}

const port = () => process.env['PORT'] ?? '7071';

async function main(): Promise<void> {
  loadLocalSettings();
  const invalid = invalidDefinitions();
  if (invalid) {
    console.error(invalid.message);
    process.exit(invalid.exitCode);
  }
  const as = signedInAs(process.argv.slice(2));
  const allowedHosts = repeatedFlag(process.argv.slice(2), '--allow-host');
  const signIn = as ? emulatedSignIn(as) : undefined;
  if (signIn) Object.assign(process.env, signIn.settings);
  else if ((process.env['WEBSITE_AUTH_ENABLED'] ?? '').toLowerCase() === 'true') {
    // Copied from Azure's settings: only the platform can vouch for a principal, and here the dev
    // host is the platform. It drops client-sent principals, so the console signs in nobody.
    console.log('WEBSITE_AUTH_ENABLED=True in your settings: locally nobody is signed in unless you pass --as reader|operator (client-sent principals are dropped).');
  }
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
  console.log(`scheduler ${(process.env['SCHEDULER_ENABLED'] ?? 'true').toLowerCase() !== 'false' ? 'on: schedules fire in real time' : 'off (SCHEDULER_ENABLED=false)'}`);
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
