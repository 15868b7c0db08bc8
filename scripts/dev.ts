/**
 * `npm run dev`: the app in the development host on PORT (default 7071), real clock, real step
 * adapters configured from local.settings.json (`Values`, like `func start`), Azurite started for
 * the run records unless a store is configured (in memory, or in AZURITE_LOCATION), and the scheduler ticking in real time when
 * SCHEDULER_ENABLED is true. Needs no Functions Core Tools.
 */
import { existsSync, readFileSync } from 'node:fs';
import { startAzurite, type AzuriteInstance } from '../src/standins/azurite';
import { emulatedSignIn } from './signIn';
import { buildConsole } from './buildConsole.mjs';
import { resolve } from 'node:path';
import type { LocalUser } from '../src/auth/roles';

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

async function main(): Promise<void> {
  loadLocalSettings();
  const as = signedInAs(process.argv.slice(2));
  const signIn = as ? emulatedSignIn(as) : undefined;
  if (signIn) Object.assign(process.env, signIn.settings);
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  let azurite: AzuriteInstance | undefined;
  const store = process.env['RUN_STORE_CONNECTION_STRING'];
  if (process.env['RUN_STORE_TABLE_URL'] === undefined && (store === undefined || store === 'UseDevelopmentStorage=true')) {
    // AZURITE_LOCATION keeps run records across restarts (e.g. .azurite, git-ignored); unset = in memory.
    const location = process.env['AZURITE_LOCATION'];
    azurite = await startAzurite({ blob: false, ...(location ? { location } : {}) });
    process.env['RUN_STORE_CONNECTION_STRING'] = azurite.connectionString;
    console.log(`Azurite (${location ? `data in ${location}` : 'in memory'}) for run records: ${azurite.tableUrl}`);
  }

  if (!process.env['CONSOLE_DIR']) process.env['CONSOLE_DIR'] = resolve((await buildConsole()).dir);
  await import('../src/index');
  const { registrations } = await import('../src/app/registry');
  const { DevHost } = await import('../src/devhost');
  const key = process.env['DURABLE_PIPELINES_KEY'];
  const host = await DevHost.start({
    registrations: registrations(),
    clock: 'real',
    httpPort: Number(process.env['PORT'] ?? 7071),
    ...(key ? { functionKey: key } : {}),
    hostJsonPath: 'host.json',
    ...(signIn ? { platformPrincipal: signIn.principal } : {}),
    log: (line) => console.log(line),
  });
  console.log(`durable-pipelines dev host on ${host.baseUrl ?? ''}${key ? ' (function key required)' : ' (no function key check: set DURABLE_PIPELINES_KEY to require one)'}`);
  console.log(`console: ${host.baseUrl ?? ''}/ ${signIn ? `(signed in as ${signIn.describe()}, emulated)` : '(no sign-in: pass --as reader|operator to use it)'}`);
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
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
