/**
 * Scoped secrets when a step resolves them (the load-time refusal is in test/unit/projects.test.ts):
 * a project with its own Key Vault reads its secrets there and never from the app's; a name outside
 * a project's scope fails permanently before any vault is read; a project vault whose setting is
 * missing never falls back to the app's vault. Two Key Vault stand-ins over HTTPS, the real SecretClient.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PermanentError } from '../../src/core/errors';
import { loadCatalog } from '../../src/pipelines/catalog';
import { projectSecretResolvers } from '../../src/projects/secrets';
import { createSecretResolver } from '../../src/secrets';
import { startKeyVaultStandIn, standInClientOptions, standInCredential, type KeyVaultStandIn } from '../../src/standins/keyvault/server';

describe('project secrets at run time', () => {
  let appVault: KeyVaultStandIn;
  let financeVault: KeyVaultStandIn;
  const vaults = new Map<string, KeyVaultStandIn>();
  const resolverOf = (url: string) => {
    const kv = vaults.get(url);
    if (!kv) throw new Error(`no stand-in vault at ${url}`);
    return createSecretResolver({ keyVaultUrl: url, credential: standInCredential, clientOptions: standInClientOptions(kv), ttlSeconds: 300 });
  };

  before(async () => {
    appVault = await startKeyVaultStandIn({ secrets: { 'azure-function-url': 'https://app.example/export', 'finance-azure-function-url': 'from the app vault' } });
    financeVault = await startKeyVaultStandIn({ secrets: { 'finance-azure-function-url': 'https://finance.example/export' } });
    vaults.set(appVault.url, appVault);
    vaults.set(financeVault.url, financeVault);
  });
  after(async () => {
    await appVault?.close();
    await financeVault?.close();
  });

  const catalogWith = (keyVault: string | { setting: string }) =>
    loadCatalog([], { projects: { finance: { secrets: { prefix: 'finance-', keyVault } }, marketing: {} } });

  test("finance reads its own vault only; another project's name fails before any read; default cannot read finance's", async () => {
    const catalog = catalogWith(financeVault.url);
    const secretsOf = projectSecretResolvers(catalog, resolverOf(appVault.url), resolverOf, () => undefined);
    assert.equal(await secretsOf('finance').get('finance-azure-function-url'), 'https://finance.example/export');
    assert.equal(appVault.reads('finance-azure-function-url'), 0, 'never from the app vault');

    const before = appVault.totalReads() + financeVault.totalReads();
    await assert.rejects(secretsOf('finance').get('azure-function-url'), (e: unknown) => e instanceof PermanentError && /not among project finance's secrets \(finance-\*\)/.test(e.message));
    await assert.rejects(secretsOf('marketing').get('finance-azure-function-url'), (e: unknown) => e instanceof PermanentError && /belongs to project finance/.test(e.message));
    await assert.rejects(secretsOf('default').get('finance-azure-function-url'), /belongs to project finance/);
    assert.equal(appVault.totalReads() + financeVault.totalReads(), before, 'refused before any vault was read');
    assert.equal(await secretsOf('marketing').get('azure-function-url'), 'https://app.example/export');
  });

  test("a project vault named by an app setting that is not set: a clear permanent error, never the app's vault", async () => {
    const secretsOf = projectSecretResolvers(catalogWith({ setting: 'FINANCE_KEY_VAULT_URL' }), resolverOf(appVault.url), resolverOf, () => undefined);
    const reads = appVault.reads('finance-azure-function-url');
    await assert.rejects(secretsOf('finance').get('finance-azure-function-url'), /project finance's Key Vault setting FINANCE_KEY_VAULT_URL is not set/);
    assert.equal(appVault.reads('finance-azure-function-url'), reads);
    const set = projectSecretResolvers(catalogWith({ setting: 'FINANCE_KEY_VAULT_URL' }), resolverOf(appVault.url), resolverOf, (name) => (name === 'FINANCE_KEY_VAULT_URL' ? financeVault.url : undefined));
    assert.equal(await set('finance').get('finance-azure-function-url'), 'https://finance.example/export');
  });
});
