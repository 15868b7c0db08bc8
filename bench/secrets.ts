/**
 * Per-step activity overhead of secrets: resolving the seed's 8 secrets and building the export
 * request, with a warm cache vs cold (Key Vault stand-in round trips over HTTPS, challenge auth). The stand-in runs in a child
 * process so its TLS work does not land on the measured event loop.
 *   node --import tsx -e "require('./bench/secrets').run().then((l) => console.log(l.join('\n')))"
 */
import { performance } from 'node:perf_hooks';
import { azureFunctionStepSchema } from '../src/pipelines/schema';
import { createSecretResolver } from '../src/secrets/resolver';
import type { SecretResolver } from '../src/secrets/types';
import { prepareAzureFunctionCall } from '../src/steps/azureFunction';
import { median } from './stats';
import { startKeyVaultInChild, type ChildKeyVault } from '../src/standins/keyvault/child';
import { standInClientOptions, standInCredential } from '../src/standins/keyvault/server';

const SEED_SECRETS = [
  'azure-function-url', 'azure-function-key', 'snowflake-account', 'snowflake-user',
  'snowflake-password', 'snowflake-warehouse', 'snowflake-database', 'snowflake-schema',
];

const step = azureFunctionStepSchema.parse({
  id: 'export', kind: 'azureFunction', url: { secret: 'azure-function-url' }, functionKey: { secret: 'azure-function-key' },
  method: 'POST', body: { action: 'export_to_blob' },
});

async function stepOverhead(secrets: SecretResolver): Promise<number> {
  const t0 = performance.now();
  await Promise.all(SEED_SECRETS.map((n) => secrets.get(n)));
  await prepareAzureFunctionCall(step, { secrets, settings: () => undefined, runId: 'bench', stepId: 'export', attempt: 1, parameters: {}, trigger: { kind: 'manual' } });
  return performance.now() - t0;
}

const ms = (x: number) => (x < 1 ? `${(x * 1000).toFixed(0)} µs` : `${x.toFixed(2)} ms`);

function resolver(kv: ChildKeyVault): SecretResolver {
  return createSecretResolver({ keyVaultUrl: kv.url, credential: standInCredential, clientOptions: standInClientOptions(kv), ttlSeconds: 300 });
}

async function measure(latencyMs: number, label: string): Promise<string> {
  const kv = await startKeyVaultInChild({
    latencyMs,
    secrets: Object.fromEntries(SEED_SECRETS.map((n) => [n, n === 'azure-function-url' ? 'https://func-export.azurewebsites.net/api/export' : `bench-${n}-value`])),
  });
  try {
    const coldRuns = 15;
    const warmRuns = 400;
    // Cold instance: a new client each time (TLS handshake, 401 challenge, 8 GETs).
    const coldInstance: number[] = [];
    for (let i = 0; i < coldRuns; i++) coldInstance.push(await stepOverhead(resolver(kv)));
    // Expired cache on a live instance: 8 GETs on an open connection.
    const shared = resolver(kv);
    await stepOverhead(shared);
    const expired: number[] = [];
    for (let i = 0; i < coldRuns; i++) {
      SEED_SECRETS.forEach((n) => shared.invalidate(n));
      expired.push(await stepOverhead(shared));
    }
    const warm: number[] = [];
    for (let i = 0; i < warmRuns; i++) warm.push(await stepOverhead(shared));
    const w = median(warm);
    const c = median(coldInstance);
    const e = median(expired);
    return `secrets (${label}): per-step overhead, 8 seed secrets + build export request, median — warm cache ${ms(w)}; cold instance ${ms(c)} (new client: TLS + challenge + 8 GETs, n=${coldRuns}); expired cache ${ms(e)} (8 GETs, n=${coldRuns}); warm/cold = ${(w / c).toPrecision(2)} (${Math.round(c / w)}× less), warm/expired = ${(w / e).toPrecision(2)}`;
  } finally {
    await kv.stop();
  }
}

export async function run(): Promise<string[]> {
  return [
    await measure(0, 'Key Vault stand-in in a child process, loopback'),
    await measure(10, 'stand-in with 10 ms added per answer, a same-region vault'),
  ];
}
