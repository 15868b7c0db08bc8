/**
 * The app's own registrations (src/index) in an in-process development host, with no stand-in and
 * no run store: enough for what happens before any service is called — routing, the console's
 * files, the API's doors and answers — and fast to start (the security tier uses it). The console
 * is built into a temporary folder first. Settings are applied before src/index registers, so
 * registration-time reads (WEBSITE_AUTH_ENABLED, CONSOLE_DIR) see them; registrations are global
 * per process, so a test file calls `loadApp` once and may start several hosts over it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DevHost, DevHostOptions } from '../../src/devhost';
import { buildConsole } from '../../scripts/buildConsole.mjs';

export interface LoadedApp {
  /** Where the console was built. */
  readonly consoleDir: string;
  /** The built console's script, `assets/app-<hash>.js`. */
  readonly script: string;
  /** A dev host serving the app's registrations (virtual clock, a free port). */
  startHost(options?: Omit<DevHostOptions, 'registrations'>): Promise<DevHost>;
  /** Stops every host started and removes the console build. */
  stop(): Promise<void>;
}

export async function loadApp(settings: Readonly<Record<string, string>> = {}): Promise<LoadedApp> {
  const consoleDir = mkdtempSync(join(tmpdir(), 'dp-security-console-'));
  const built = await buildConsole(consoleDir);
  Object.assign(process.env, {
    LOG_LEVEL: process.env['TEST_LOG_LEVEL'] ?? 'silent',
    SCHEDULER_ENABLED: 'false',
    DURABLE_TASK_HUB: 'security',
    CONSOLE_DIR: consoleDir,
    ...settings,
  });
  await import('../../src/index');
  const { registrations } = await import('../../src/app/registry');
  const { DevHost } = await import('../../src/devhost');
  const hosts: DevHost[] = [];
  return {
    consoleDir,
    script: `assets/${built.script.split(/[\\/]/).at(-1) ?? ''}`,
    async startHost(options = {}) {
      const host = await DevHost.start({ registrations: registrations(), clock: 'virtual', httpPort: 0, hostJsonPath: 'host.json', ...options });
      hosts.push(host);
      return host;
    },
    async stop() {
      await Promise.all(hosts.map((h) => h.stop()));
      rmSync(consoleDir, { recursive: true, force: true });
    },
  };
}
