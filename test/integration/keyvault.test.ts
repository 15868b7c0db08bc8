/**
 * Secrets from Key Vault: the real SecretClient over HTTPS (test CA) against the Key Vault
 * stand-in, challenge auth included.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { classify, PermanentError } from '../../src/core/errors';
import { maskSecrets } from '../../src/logging/mask';
import { createSecretResolver, type SecretResolverOptions } from '../../src/secrets/resolver';
import { startKeyVaultStandIn, standInClientOptions, standInCredential, type KeyVaultStandIn } from '../../src/standins/keyvault/server';

const SEED_SECRETS = [
  'azure-function-url', 'azure-function-key', 'snowflake-account', 'snowflake-user',
  'snowflake-password', 'snowflake-warehouse', 'snowflake-database', 'snowflake-schema',
];

function resolverFor(kv: KeyVaultStandIn, extra: Partial<SecretResolverOptions> = {}) {
  return createSecretResolver({
    keyVaultUrl: kv.url,
    credential: standInCredential,
    clientOptions: standInClientOptions(kv),
    ttlSeconds: 300,
    ...extra,
  });
}

void describe('Key Vault secrets', () => {
  let kv: KeyVaultStandIn;
  before(async () => {
    kv = await startKeyVaultStandIn({ secrets: Object.fromEntries(SEED_SECRETS.map((n) => [n, `value-of-${n}-0001`])) });
  });
  after(async () => {
    await kv.close();
  });

  void test('50 concurrent activities needing the same 8 secrets make at most 8 GETs', async () => {
    const secrets = resolverFor(kv);
    const readsBefore = kv.totalReads();
    const activities = Array.from({ length: 50 }, () => Promise.all(SEED_SECRETS.map((n) => secrets.get(n))));
    const results = await Promise.all(activities);
    for (const values of results) assert.deepEqual(values, SEED_SECRETS.map((n) => `value-of-${n}-0001`));
    assert.ok(kv.totalReads() - readsBefore <= 8, `made ${kv.totalReads() - readsBefore} GETs`);
    // And a second wave on the warm instance reads nothing.
    const warm = kv.totalReads();
    await Promise.all(Array.from({ length: 50 }, () => Promise.all(SEED_SECRETS.map((n) => secrets.get(n)))));
    assert.equal(kv.totalReads(), warm);
  });

  void test('a 429 is retried after the Retry-After the vault asked for, and the read succeeds', async () => {
    const secrets = resolverFor(kv);
    kv.throttle(1, 1, 'snowflake-user');
    const from = kv.requests.length;
    assert.equal(await secrets.get('snowflake-user'), 'value-of-snowflake-user-0001');
    const reads = kv.requests.slice(from).filter((r) => r.name === 'snowflake-user' && r.status !== 401);
    assert.deepEqual(reads.map((r) => r.status), [429, 200]);
    assert.ok(reads[1]!.at - reads[0]!.at >= 950, 'the retry came sooner than Retry-After');
  });

  void test('a bare 429 (no Retry-After, VaultRequestTypeLimitReached) is retried with backoff through the real SecretClient', async () => {
    // The SDK's own policies leave it alone: throttlingRetryStrategy needs a Retry-After and
    // exponentialRetryStrategy only takes 408 and 5xx (@azure/core-rest-pipeline).
    const secrets = resolverFor(kv, { retry: { throttledRetryDelayInMs: 200 } });
    kv.throttle(2, undefined, 'snowflake-warehouse');
    const from = kv.requests.length;
    assert.equal(await secrets.get('snowflake-warehouse'), 'value-of-snowflake-warehouse-0001');
    const reads = kv.requests.slice(from).filter((r) => r.name === 'snowflake-warehouse' && r.status !== 401);
    assert.deepEqual(reads.map((r) => r.status), [429, 429, 200]);
    // Exponential with jitter: at least half of 200 ms, then of 400 ms.
    assert.ok(reads[1]!.at - reads[0]!.at >= 100 && reads[2]!.at - reads[1]!.at >= 200, 'retried without backing off');
  });

  void test('a bare 429 that outlasts the backoff is a transient failure naming the secret', async () => {
    const secrets = resolverFor(kv, { retry: { maxRetries: 2, throttledRetryDelayInMs: 10 } });
    kv.throttle(3, undefined, 'snowflake-database');
    const error = await secrets.get('snowflake-database').then(() => undefined, (e: unknown) => e);
    const info = classify(error);
    assert.deepEqual([info.class, info.code], ['transient', 'Throttled']);
    assert.match(info.message, /snowflake-database.*throttled/);
    assert.equal(kv.requests.filter((r) => r.name === 'snowflake-database' && r.status === 429).length, 3);
  });

  void test('throttling that outlasts the retries is a transient failure that names the secret, not its value', async () => {
    const secrets = resolverFor(kv, { retry: { maxRetries: 2 } });
    kv.throttle(3, 0, 'snowflake-schema');
    const error = await secrets.get('snowflake-schema').then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof Error);
    const info = classify(error);
    assert.equal(info.class, 'transient');
    assert.equal(info.retryAfterSeconds, 0);
    assert.match(info.message, /snowflake-schema/);
    assert.doesNotMatch(info.message, /value-of/);
    // The throttle is used up: the next get reads the value.
    assert.equal(await secrets.get('snowflake-schema'), 'value-of-snowflake-schema-0001');
  });

  void test('an expired entry is read again', async () => {
    let clock = 1_000_000;
    const secrets = resolverFor(kv, { ttlSeconds: 60, now: () => clock });
    kv.setSecret('dbt-token', 'dbt-token-v1');
    assert.equal(await secrets.get('dbt-token'), 'dbt-token-v1');
    kv.setSecret('dbt-token', 'dbt-token-v2');
    clock += 30_000;
    assert.equal(await secrets.get('dbt-token'), 'dbt-token-v1', 'still fresh: served from memory');
    clock += 31_000;
    assert.equal(await secrets.get('dbt-token'), 'dbt-token-v2');
    assert.equal(kv.reads('dbt-token'), 2);
  });

  void test('invalidate() re-reads a rotated secret at once', async () => {
    const secrets = resolverFor(kv);
    kv.setSecret('slack-webhook', 'https://hooks.example/v1');
    assert.equal(await secrets.get('slack-webhook'), 'https://hooks.example/v1');
    kv.setSecret('slack-webhook', 'https://hooks.example/v2');
    assert.equal(await secrets.get('slack-webhook'), 'https://hooks.example/v1');
    secrets.invalidate('slack-webhook');
    assert.equal(await secrets.get('slack-webhook'), 'https://hooks.example/v2');
  });

  void test('while the vault is throttled, an expired value keeps being served (stale if error)', async () => {
    let clock = 5_000_000;
    const secrets = resolverFor(kv, { ttlSeconds: 60, now: () => clock, retry: { maxRetries: 0 } });
    kv.setSecret('stale-demo', 'stale-demo-v1');
    assert.equal(await secrets.get('stale-demo'), 'stale-demo-v1');
    kv.setSecret('stale-demo', 'stale-demo-v2');
    clock += 61_000;
    kv.throttle(1, 0, 'stale-demo');
    assert.equal(await secrets.get('stale-demo'), 'stale-demo-v1');
    assert.equal(await secrets.get('stale-demo'), 'stale-demo-v2', 'the next get after the throttle refreshes');
  });

  void test('a missing secret is a permanent failure; a rejected token is a permanent failure', async () => {
    const secrets = resolverFor(kv);
    await assert.rejects(secrets.get('no-such-secret'), (e: unknown) => e instanceof PermanentError && /no-such-secret.*not found/.test(e.message));
    const wrongToken = createSecretResolver({
      keyVaultUrl: kv.url,
      credential: { getToken: () => Promise.resolve({ token: 'not-the-token', expiresOnTimestamp: Date.now() + 3_600_000 }) },
      clientOptions: standInClientOptions(kv),
    });
    await assert.rejects(wrongToken.get('snowflake-user'), (e: unknown) => e instanceof PermanentError && /access denied/.test(e.message));
  });

  void test('a disabled secret fails permanently saying it is disabled, naming it (not "grant Secrets User")', async () => {
    kv.setSecret('snowflake-role', 'LOADER');
    kv.setEnabled('snowflake-role', false);
    try {
      const error = await resolverFor(kv).get('snowflake-role').then(() => undefined, (e: unknown) => e);
      assert.ok(error instanceof PermanentError, String(error));
      assert.equal(classify(error).code, 'SecretDisabled');
      assert.match(error.message, /secret "snowflake-role".*is disabled/);
      assert.doesNotMatch(error.message, /Secrets User/);
    } finally {
      kv.setEnabled('snowflake-role', true);
    }
  });

  void test('every value read is masked in text from then on', async () => {
    const secrets = resolverFor(kv);
    const value = await secrets.get('snowflake-password');
    assert.equal(maskSecrets(`login failed for password ${value}`), 'login failed for password ***');
  });
});
