/**
 * `npm run demo -- --serve` and the CLI as child processes, the way a user runs them: the CLI tests
 * talk to a real demo over HTTP and judge the CLI by its exit code and what it prints.
 * Every child started here is tracked and killed by `stopAllChildren()` (and, as a last resort, when
 * the test process exits), so a failing test leaves no process behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

const REPO_ROOT = join(__dirname, '..', '..');
const live = new Set<ChildProcess>();

process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Ends a child: SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs)));
  const killed = await Promise.race([exited.then(() => false), timedOut]);
  clearTimeout(timer);
  if (killed) {
    child.kill('SIGKILL');
    await exited;
  }
}

export async function stopAllChildren(): Promise<void> {
  await Promise.all([...live].map((child) => stopChild(child)));
}

export interface DemoProcess {
  readonly baseUrl: string;
  readonly key: string;
  /** Everything the demo printed so far (stdout). */
  output(): string;
  /** `POST /api/demo/control`: switch the stand-ins at runtime. */
  control(body: { failStep?: 'export' | 'load' | 'transform' | null; exportDelayMs?: number | null; as?: string | null }): Promise<void>;
  stop(): Promise<void>;
}

/** `as`: emulate App Service sign-in as that local user (`--as`); `args`: more demo flags. */
export async function startDemo(options: { env?: Record<string, string>; readyTimeoutMs?: number; as?: string; args?: readonly string[] } = {}): Promise<DemoProcess> {
  const key = 'demo-key';
  const child = track(
    spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', '--serve', '--port', '0', '--key', key, ...(options.as ? ['--as', options.as] : []), ...(options.args ?? [])], {
      cwd: REPO_ROOT,
      env: { ...process.env, NODE_NO_WARNINGS: '1', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));

  const timeoutMs = options.readyTimeoutMs ?? 120_000;
  let baseUrl: string;
  try {
    baseUrl = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`demo not serving after ${timeoutMs} ms`)), timeoutMs);
      const onData = () => {
        const match = /demo serving on (http:\/\/\S+)/.exec(stdout);
        if (!match?.[1]) return;
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolve(match[1]);
      };
      child.stdout?.on('data', onData);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`demo exited (${signal ?? code ?? '?'}) before serving`));
      });
    });
  } catch (error) {
    await stopChild(child);
    throw new Error(`${(error as Error).message}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`, { cause: error });
  }

  return {
    baseUrl,
    key,
    output: () => stdout,
    async control(body) {
      const response = await fetch(`${baseUrl}/api/demo/control`, {
        method: 'POST',
        headers: { 'x-functions-key': key, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (!response.ok) throw new Error(`demo control: HTTP ${response.status} ${await response.text()}`);
    },
    stop: () => stopChild(child),
  };
}

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliProcess {
  /** Resolves with the first match of `pattern` in stdout (rejects if the CLI exits first). */
  waitFor(pattern: RegExp): Promise<RegExpExecArray>;
  /** Closes the read end of the CLI's stdout, like `| head` does once it has its lines. */
  closeStdout(): void;
  readonly done: Promise<CliResult>;
}

/** The CLI as a user runs it (the package bin, `npx durable-pipelines …`), with the env it is given. */
export function startCli(args: readonly string[], env: Record<string, string>, timeoutMs = 60_000): CliProcess {
  const child = track(
    spawn(process.execPath, ['bin/durable-pipelines.js', ...args], {
      cwd: REPO_ROOT,
      // The CLI must take its server from what the test gives it, not from the developer's shell.
      env: { ...withoutCliSettings(process.env), NODE_NO_WARNINGS: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let stdout = '';
  let stderr = '';
  const watchers = new Set<() => void>();
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    for (const watcher of watchers) watcher();
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<CliResult>((resolve) => {
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  return {
    done,
    closeStdout: () => child.stdout?.destroy(),
    waitFor(pattern) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(stdout);
          if (!match) return false;
          watchers.delete(check);
          resolve(match);
          return true;
        };
        if (check()) return;
        watchers.add(check);
        void done.then((result) => {
          if (check()) return;
          watchers.delete(check);
          reject(new Error(`CLI exited ${String(result.code)} before printing ${String(pattern)}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`));
        });
      });
    },
  };
}

export function runCli(args: readonly string[], env: Record<string, string>, timeoutMs?: number): Promise<CliResult> {
  return startCli(args, env, timeoutMs).done;
}

/** A loopback port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

function withoutCliSettings(env: NodeJS.ProcessEnv): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && !name.startsWith('DURABLE_PIPELINES_')) result[name] = value;
  }
  return result;
}
