/**
 * `npm run dev` as a child process, the way a user starts it: in a folder of the test's choosing
 * (so no local.settings.json of the developer running the tests leaks in), with an environment
 * stripped of the settings that would point it at real services.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const REPO_ROOT = join(__dirname, '..', '..');

export interface Dev {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; stdout: string; stderr: string }>;
  output(): string;
}

export function startDev(port: number, cwd: string, env: Record<string, string> = { SCHEDULER_ENABLED: 'false' }, args: readonly string[] = []): Dev {
  const inherited: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !/^(SECRET_|DURABLE_PIPELINES_|KEY_VAULT_URL|RUN_STORE_|DBT_|SCHEDULER_ENABLED)/.test(name)) inherited[name] = value;
  }
  const child = spawn(process.execPath, ['--import', pathToFileURL(require.resolve('tsx')).href, join(REPO_ROOT, 'scripts', 'dev.ts'), ...args], {
    cwd,
    env: { ...inherited, PORT: String(port), LOG_LEVEL: 'silent', NODE_NO_WARNINGS: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
  return { child, exited, output: () => `--- stdout\n${stdout}\n--- stderr\n${stderr}` };
}

export async function waitForUrl(dev: Dev, timeoutMs = 120_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = /durable-pipelines dev host on (http:\/\/\S+)/.exec(dev.output());
    if (match?.[1]) return match[1];
    if (dev.child.exitCode !== null) throw new Error(`npm run dev exited ${dev.child.exitCode}\n${dev.output()}`);
    if (Date.now() > deadline) throw new Error(`npm run dev not serving after ${timeoutMs} ms\n${dev.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
