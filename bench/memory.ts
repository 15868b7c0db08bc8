/**
 * Peak memory of the app with the seed and 10 concurrent runs (issue 18.6): the whole app in the
 * development host with the stand-ins and Azurite's client side in this one process, every long
 * job taking 10 polls. The process's peak RSS is an upper bound of the Node worker's share on a
 * Flex instance (the dev host and stand-ins are extra); the Functions host beside it is added by
 * estimate in docs/deploy.md.
 */
import { startApp } from '../test/support/appHarness';
import { DEMO_COPY_RESULT } from '../src/standins/environment';

export async function run(): Promise<string[]> {
  let peak = process.memoryUsage().rss;
  const sample = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  const before = process.memoryUsage().rss;
  const app = await startApp({ dbtJobPolls: 9, settings: { LOG_LEVEL: 'info' } });
  try {
    app.world.exportFunction.config.asyncPollsBeforeDone = 9;
    app.world.keyVault.setSecret('azure-function-url', `${app.world.exportFunction.baseUrl}/api/export-async`);
    app.world.snowflake.script({ match: /^\s*COPY INTO/i, result: DEMO_COPY_RESULT, runningPolls: 12 });
    await app.store.ready();
    const idle = process.memoryUsage().rss;
    const ids = await Promise.all(
      Array.from({ length: 10 }, async () => (await app.api<{ runId: string }>('POST', 'pipelines/data-pipeline/runs', {})).json.runId),
    );
    await app.until('10 runs to finish', () => {
      const done = ids.every((id) => ['Completed', 'Failed', 'Terminated'].includes(app.host.status(id)?.runtimeStatus ?? ''));
      return Promise.resolve(done || undefined);
    }, { timeoutMs: 300_000 });
    const mb = (n: number) => (n / 1024 / 1024).toFixed(0);
    return [
      `process RSS: ${mb(before)} MB before the app, ${mb(idle)} MB app idle, peak ${mb(peak)} MB with 10 concurrent seed runs (10 polls per job; dev host, stand-ins and app in one process)`,
      `headroom on a 512 MB instance with the Functions host's ~${HOST_ESTIMATE_MB} MB (estimate, docs/deploy.md): ${(100 * (1 - (peak / 1024 / 1024 + HOST_ESTIMATE_MB) / 512)).toFixed(0)} % (target ≥ 25 %)`,
    ];
  } finally {
    clearInterval(sample);
    await app.stop();
  }
}

/** The Functions host (.NET) process on Linux: 180+ MiB measured in Docker (Azure/Azure-Functions#1810); docs/deploy.md. */
export const HOST_ESTIMATE_MB = 180;
