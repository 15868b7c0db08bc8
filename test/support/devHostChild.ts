/**
 * A child process wired like `npm run dev` (scripts/dev.ts): the app in the dev host on a real
 * clock, Durable state in DEVHOST_STATE_DIR, but its services pointed at stand-ins the parent test
 * runs (settings in the environment, the stand-in vault's CA in STANDIN_KEY_VAULT_CA, the stand-ins'
 * token), so the parent can SIGKILL it mid-run and start it again on the same folder.
 * Prints `dev host serving on <url>` when ready.
 *
 * DEVHOST_CATALOG=v1|v2 serves the seed pipeline polling every second, v2 also changed
 * (test/support/changedCatalog.ts): deploys of new definitions, for the tests of runs pinned to
 * their definition (issue 26).
 */
import { standInClientOptions, standInCredential } from '../../src/standins/keyvault/server';
import type { Catalog } from '../../src/pipelines/catalog';
import type { Registration } from '../../src/app/registry';

/** Serves the app as `npm run dev` does, against the parent's stand-ins, until SIGTERM. */
export async function serveChildHost(options: { catalog?: Catalog; wrap?: (list: readonly Registration[]) => readonly Registration[] } = {}): Promise<void> {
  const stateDirectory = process.env['DEVHOST_STATE_DIR'];
  const ca = process.env['STANDIN_KEY_VAULT_CA'];
  const key = process.env['DURABLE_PIPELINES_KEY'];
  if (!stateDirectory || !ca || !key) throw new Error('DEVHOST_STATE_DIR, STANDIN_KEY_VAULT_CA and DURABLE_PIPELINES_KEY are required');
  const { useServices, createServices } = await import('../../src/app/services');
  await import('../../src/index');
  const { registrations } = await import('../../src/app/registry');
  const { DevHost } = await import('../../src/devhost');
  useServices(
    await createServices({
      ...(options.catalog ? { catalog: options.catalog } : {}),
      credential: standInCredential,
      secretClientOptions: standInClientOptions({ ca }),
    }),
  );
  const host = await DevHost.start({
    registrations: options.wrap ? options.wrap(registrations()) : registrations(),
    clock: 'real',
    httpPort: 0,
    functionKey: key,
    hostJsonPath: 'host.json',
    stateDirectory,
    log: (line) => console.log(line),
  });
  console.log(`dev host serving on ${host.baseUrl ?? ''}`);
  await new Promise<void>((resolve) => process.once('SIGTERM', resolve));
  await host.stop();
}

async function main(): Promise<void> {
  const { seedCatalog } = await import('./changedCatalog');
  const variant = process.env['DEVHOST_CATALOG'];
  // DEVHOST_POOLED=1: the restart test's two pipelines sharing a one-slot pool (pooledCatalog.ts).
  const { pooledCatalog } = await import('./pooledCatalog');
  const catalog = process.env['DEVHOST_POOLED'] === '1' ? pooledCatalog() : variant === 'v1' || variant === 'v2' ? seedCatalog(variant) : undefined;
  await serveChildHost(catalog ? { catalog } : {});
}

// Run as a script (not when the fault bench's child imports serveChildHost).
if (require.main === module) main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
