/**
 * A dev host in a child process (test/support/devHostChild.ts) wired to a stand-in world, that a
 * test can SIGKILL and start again on the same Durable state folder: restarts and "deploys".
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import type { StandInEnvironment } from '../../src/standins/environment';

const REPO_ROOT = join(__dirname, '..', '..');

export interface DevProcess {
  readonly child: ChildProcess;
  readonly baseUrl: string;
  output(): string;
}

export interface DevProcessOptions {
  readonly world: StandInEnvironment;
  readonly stateDirectory: string;
  readonly key: string;
  /** Extra environment (DEVHOST_CATALOG=v2 serves the changed seed catalog). */
  readonly env?: Record<string, string>;
  /** Every child started, so `after` can kill what a failed test left. */
  readonly children: Set<ChildProcess>;
  /** The child's script, from the repository root (default: test/support/devHostChild.ts; the fault bench has its own). */
  readonly script?: string;
}

export async function startDevProcess(options: DevProcessOptions): Promise<DevProcess> {
  const { world } = options;
  const child = spawn(process.execPath, ['--import', 'tsx', options.script ?? 'test/support/devHostChild.ts'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      ...world.settings,
      NODE_NO_WARNINGS: '1',
      LOG_LEVEL: 'silent',
      SCHEDULER_ENABLED: 'false',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      DEVHOST_STATE_DIR: options.stateDirectory,
      STANDIN_KEY_VAULT_CA: world.keyVault.ca,
      DURABLE_PIPELINES_KEY: options.key,
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  options.children.add(child);
  let output = '';
  child.once('exit', (code, signal) => {
    options.children.delete(child);
    if (signal !== 'SIGKILL') process.stderr.write(`dev host exited unexpectedly (${signal ?? code ?? '?'}):\n${output}\n`);
  });
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`dev host not serving after 60 s:\n${output}`)), 60_000);
    const onData = (): void => {
      const match = /dev host serving on (http:\/\/\S+)/.exec(output);
      if (!match?.[1]) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      resolve(match[1]);
    };
    child.stdout.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`dev host exited (${signal ?? code ?? '?'}) before serving:\n${output}`));
    });
  });
  return { child, baseUrl, output: () => output };
}

export async function killDevProcess(dev: DevProcess): Promise<void> {
  if (dev.child.exitCode !== null || dev.child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => dev.child.once('exit', () => resolve()));
  dev.child.kill('SIGKILL');
  await exited;
}

/** One request on its own connection: the port may be one a killed process held. */
export async function devApi(dev: DevProcess, key: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  try {
    return await new Promise((resolve, reject) => {
      const req = request(`${dev.baseUrl}/api/${path}`, { method, agent: false, headers: { 'x-functions-key': key, 'content-type': 'application/json' } }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        res.once('end', () => resolve({ status: res.statusCode ?? 0, json: text === '' ? undefined : (JSON.parse(text) as unknown) }));
        res.once('error', reject);
      });
      req.once('error', reject);
      req.end(payload);
    });
  } catch (error) {
    throw new Error(`${method} /api/${path}: ${String(error)}\n--- dev host output\n${dev.output()}`, { cause: error });
  }
}

/** Polls until `check` holds (or fails with what was last seen). */
export async function until<T>(what: string, read: () => Promise<T>, check: (value: T) => boolean, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export async function getRunJson<T>(dev: DevProcess, key: string, runId: string): Promise<T> {
  const { status, json } = await devApi(dev, key, 'GET', `runs/${encodeURIComponent(runId)}`);
  assert.equal(status, 200, JSON.stringify(json));
  return json as T;
}
