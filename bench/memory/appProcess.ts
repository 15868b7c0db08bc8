/**
 * The process bench/memory.ts measures: the app (src/index, its registrations, services and SDK
 * clients) and the development host serving it, bundled by esbuild with the options of
 * `npm run build` (the SDKs stay external, loaded from node_modules on first use, as in Azure) and
 * run by plain node — no TypeScript loader. The stand-ins and Azurite run in other processes.
 *
 * Samples process.memoryUsage() every 20 ms from start to the parent's `report`. IPC: receives
 * `{ ca, token }`, answers `{ baseUrl }`; `report` → the peaks; `stop` → stops the host and exits.
 */
import { getHeapStatistics } from 'node:v8';

export interface MemoryPeaks {
  /** RSS once the app is loaded and the host serves, before any run (bytes). */
  readonly idleRss: number;
  readonly idleHeapUsed: number;
  readonly peakRss: number;
  readonly peakHeapUsed: number;
  readonly peakHeapTotal: number;
  readonly peakExternal: number;
  /** V8's old-space limit in this process (what --max-old-space-size would change). */
  readonly heapLimit: number;
}

const peaks = { rss: 0, heapUsed: 0, heapTotal: 0, external: 0 };
function sample(): void {
  const m = process.memoryUsage();
  peaks.rss = Math.max(peaks.rss, m.rss);
  peaks.heapUsed = Math.max(peaks.heapUsed, m.heapUsed);
  peaks.heapTotal = Math.max(peaks.heapTotal, m.heapTotal);
  peaks.external = Math.max(peaks.external, m.external);
}
const sampler = setInterval(sample, 20);

async function main(init: { ca: string; token: string }): Promise<void> {
  await import('../../src/index');
  const { registrations } = await import('../../src/app/registry');
  const { useServices, createServices } = await import('../../src/app/services');
  const { DevHost } = await import('../../src/devhost');
  const holder: { host?: Awaited<ReturnType<typeof DevHost.start>> } = {};
  const services = await createServices({
    credential: { getToken: () => Promise.resolve({ token: init.token, expiresOnTimestamp: Date.now() + 3_600_000 }) },
    secretClientOptions: { tlsOptions: { ca: init.ca }, disableChallengeResourceVerification: true },
    now: () => holder.host?.now() ?? new Date(),
  });
  useServices(services);
  await services.store?.ready();
  const host = await DevHost.start({ registrations: registrations(), clock: 'virtual', httpPort: 0, functionKey: 'bench-key', hostJsonPath: 'host.json' });
  holder.host = host;
  // Virtual time moves whenever nothing is in flight: jump to the next durable timer.
  let pumping = true;
  const pump = (async () => {
    while (pumping) {
      await host.runUntilIdle();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  sample();
  const idle = process.memoryUsage();
  process.on('message', (message: unknown) => {
    if (message === 'report') {
      sample();
      process.send?.({
        idleRss: idle.rss,
        idleHeapUsed: idle.heapUsed,
        peakRss: peaks.rss,
        peakHeapUsed: peaks.heapUsed,
        peakHeapTotal: peaks.heapTotal,
        peakExternal: peaks.external,
        heapLimit: getHeapStatistics().heap_size_limit,
      } satisfies MemoryPeaks);
    } else if (message === 'stop') {
      pumping = false;
      void pump
        .then(() => host.stop())
        .finally(() => {
          clearInterval(sampler);
          process.exit(0);
        });
    }
  });
  process.send?.({ baseUrl: host.baseUrl ?? '' });
}

process.once('message', (init: { ca: string; token: string }) => {
  main(init).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
});
