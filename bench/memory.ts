/**
 * Peak memory of the app with the seed and 10 concurrent runs (issue 18.6), every long job taking
 * 10 polls. The measured process holds the app and the development host only, bundled like
 * `npm run build` bundles dist/index.js (bench/memory/appProcess.ts) and run by plain node; the
 * stand-ins run in a second process and Azurite in a third; the runs are started and followed over
 * HTTP from this one. In Azure the Node worker holds the app alone — the development host's part
 * (Durable replay, histories, HTTP routing) is the Functions host's there — so the peak here is an
 * upper bound of the worker. The Functions host beside it on the instance is added by estimate
 * (HOST_ESTIMATE_MB, with its sources).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { BUNDLE_OPTIONS } from '../scripts/build.mjs';
import type { MemoryPeaks } from './memory/appProcess';
import type { StandInsReady } from './memory/standIns';

const ROOT = path.resolve(__dirname, '..');
const RUNS = 10;
const POLLS = 10;
const INSTANCE_MB = 512;

/**
 * The Functions host (.NET) process beside the Node worker. No Microsoft page gives its footprint;
 * the Flex Consumption docs say only that "instance resources are shared between your function code
 * and the Functions host" (flex-consumption-plan.md, Instance memory). Measurements reported to
 * Microsoft: 180+ MiB for the host with a small in-process app in Docker (Azure/Azure-Functions#1810),
 * 300+ MB for the host plus a .NET isolated worker (azure-functions-host#9567), a host update adding
 * ~50 MB of working set (azure-functions-host#11014). Low: 180 MB; high: 180 + 50 MB.
 */
export const HOST_ESTIMATE_MB = { low: 180, high: 230 } as const;

const mb = (bytes: number): number => bytes / 1024 / 1024;

async function message<T>(child: ChildProcess): Promise<T> {
  const [value] = (await once(child, 'message')) as [T];
  return value;
}

/** Measures once; returns the peaks of the app process. */
export async function measureAppMemory(): Promise<MemoryPeaks> {
  const outdir = path.join(ROOT, 'dist', 'bench');
  mkdirSync(outdir, { recursive: true });
  await build({ ...BUNDLE_OPTIONS, entryPoints: { memoryApp: path.join(__dirname, 'memory', 'appProcess.ts') }, outdir, sourcemap: false });

  const standIns = fork(path.join(__dirname, 'memory', 'standIns.ts'), [String(POLLS)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  let app: ChildProcess | undefined;
  try {
    const world = await message<StandInsReady>(standIns);
    app = fork(path.join(outdir, 'memoryApp.js'), [], {
      cwd: ROOT,
      execArgv: [],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      env: {
        ...process.env,
        ...world.settings,
        // The level infra deploys (infra/main.bicep logLevel); lines go to stdout as in Azure.
        LOG_LEVEL: 'info',
        SCHEDULER_ENABLED: 'false',
        DURABLE_TASK_HUB: 'memory',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
    });
    app.send({ ca: world.ca, token: world.token });
    const { baseUrl } = await message<{ baseUrl: string }>(app);
    const call = async <T>(method: string, route: string): Promise<T> => {
      const response = await fetch(`${baseUrl}/api/${route}`, { method, headers: { 'x-functions-key': 'bench-key', 'content-type': 'application/json' }, ...(method === 'POST' ? { body: '{}' } : {}) });
      if (!response.ok) throw new Error(`${method} /api/${route}: HTTP ${response.status} ${await response.text()}`);
      return (await response.json()) as T;
    };
    const ids = await Promise.all(Array.from({ length: RUNS }, async () => (await call<{ runId: string }>('POST', 'pipelines/data-pipeline/runs')).runId));
    const deadline = Date.now() + 300_000;
    for (;;) {
      const statuses = await Promise.all(ids.map(async (id) => (await call<{ status: string }>('GET', `runs/${encodeURIComponent(id)}`)).status));
      const open = statuses.filter((s) => !['succeeded', 'failed', 'cancelled'].includes(s));
      if (open.length === 0) {
        const failed = statuses.filter((s) => s !== 'succeeded');
        if (failed.length > 0) throw new Error(`${failed.length} of ${RUNS} runs did not succeed: ${statuses.join(', ')}`);
        break;
      }
      if (Date.now() > deadline) throw new Error(`runs still open after 300 s: ${open.join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    app.send('report');
    return await message<MemoryPeaks>(app);
  } finally {
    if (app && app.exitCode === null) {
      const exited = once(app, 'exit');
      app.send('stop');
      await exited;
    }
    const exited = once(standIns, 'exit');
    standIns.disconnect();
    await exited;
  }
}

export async function run(): Promise<string[]> {
  const m = await measureAppMemory();
  const headroom = (hostMb: number): string => (100 * (1 - (mb(m.peakRss) + hostMb) / INSTANCE_MB)).toFixed(1);
  return [
    `app + development host (bundled, plain node; stand-ins and Azurite in other processes), seed × ${RUNS} concurrent runs, ${POLLS} polls per long job:`,
    `  RSS ${mb(m.idleRss).toFixed(0)} MB idle, peak ${mb(m.peakRss).toFixed(0)} MB; V8 heap used ${mb(m.idleHeapUsed).toFixed(0)} MB idle, peak ${mb(m.peakHeapUsed).toFixed(0)} MB (heap total ${mb(m.peakHeapTotal).toFixed(0)} MB, external ${mb(m.peakExternal).toFixed(0)} MB; old-space limit ${mb(m.heapLimit).toFixed(0)} MB)`,
    `headroom on a ${INSTANCE_MB} MB instance with the Functions host estimated at ${HOST_ESTIMATE_MB.low}–${HOST_ESTIMATE_MB.high} MB: ${headroom(HOST_ESTIMATE_MB.high)}–${headroom(HOST_ESTIMATE_MB.low)} % (target ≥ 25 %)`,
  ];
}
