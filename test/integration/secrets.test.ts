/** Secrets from app settings, and the cache's single-flight and rotation rules. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PermanentError } from '../../src/core/errors';
import { createCachingResolver, type SecretSource } from '../../src/secrets/cache';
import { secretResolverFromConfig } from '../../src/secrets/resolver';
import { settingNameForSecret } from '../../src/secrets/settings';
import { loadConfig } from '../../src/config/config';

void describe('secrets from app settings', () => {
  void test('secret snowflake-password is read from SECRET_SNOWFLAKE_PASSWORD', async () => {
    assert.equal(settingNameForSecret('snowflake-password'), 'SECRET_SNOWFLAKE_PASSWORD');
    const env = { SECRET_SNOWFLAKE_PASSWORD: 'pw-from-settings', SECRET_CACHE_TTL_SECONDS: '60' };
    const secrets = secretResolverFromConfig(loadConfig(env), { settings: (n) => env[n as keyof typeof env] });
    assert.equal(await secrets.get('snowflake-password'), 'pw-from-settings');
    assert.equal(await secrets.get('Snowflake-Password'), 'pw-from-settings', 'names are case-insensitive, as in Key Vault');
  });

  void test('a missing secret is a permanent failure naming the setting to add', async () => {
    const secrets = secretResolverFromConfig(loadConfig({}), { settings: () => undefined });
    await assert.rejects(secrets.get('azure-function-key'), (e: unknown) => e instanceof PermanentError && e.message.includes('SECRET_AZURE_FUNCTION_KEY'));
  });
});

void describe('secret cache', () => {
  function slowSource() {
    const reads: string[] = [];
    let version = 1;
    const gates: (() => void)[] = [];
    const source: SecretSource = {
      description: 'test source',
      read: (name) => {
        reads.push(name);
        const value = `${name}-v${version}`;
        return new Promise((resolve) => gates.push(() => resolve(value)));
      },
    };
    return { source, reads, rotate: () => (version += 1), release: () => gates.splice(0).forEach((g) => g()) };
  }

  void test('concurrent gets of one name share one read', async () => {
    const s = slowSource();
    const secrets = createCachingResolver(s.source, { ttlSeconds: 60 });
    const pending = Promise.all(Array.from({ length: 20 }, () => secrets.get('k')));
    s.release();
    assert.deepEqual(new Set(await pending), new Set(['k-v1']));
    assert.deepEqual(s.reads, ['k']);
  });

  void test('invalidate during a read: the old value is not cached, the next get reads again', async () => {
    const s = slowSource();
    const secrets = createCachingResolver(s.source, { ttlSeconds: 60 });
    const first = secrets.get('k');
    secrets.invalidate('k');
    s.rotate();
    const second = secrets.get('k');
    s.release();
    assert.equal(await first, 'k-v1');
    assert.equal(await second, 'k-v2');
    assert.equal(await secrets.get('k'), 'k-v2');
    assert.equal(s.reads.length, 2);
  });

  void test('a failed read is not cached', async () => {
    let fail = true;
    const secrets = createCachingResolver(
      { description: 't', read: () => (fail ? Promise.reject(new PermanentError('nope')) : Promise.resolve('finally')) },
      { ttlSeconds: 60 },
    );
    await assert.rejects(secrets.get('k'));
    fail = false;
    assert.equal(await secrets.get('k'), 'finally');
  });
});
