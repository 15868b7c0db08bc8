/**
 * Workload identity (no secret at all) through the real driver: snowflake-sdk asks
 * DefaultAzureCredential for a managed-identity token — served here by the stand-in's App Service
 * style identity endpoint (IDENTITY_ENDPOINT / IDENTITY_HEADER) — and presents it at login.
 * Environment variables are set for this file only (node runs each test file in its own process).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { classify } from '../../src/core/errors';
import { pipelineSchema } from '../../src/pipelines/schema';
import seed from '../../src/pipelines/definitions/data-pipeline';
import { createSnowflakeAdapter } from '../../src/steps/snowflake/adapter';
import { ConnectionCache } from '../../src/steps/snowflake/connection';
import { SnowflakeStandIn, copyIntoResult } from '../../src/standins/snowflake/server';
import { createTestStepContext } from '../support/dbtCloud/stepContext';

const server = new SnowflakeStandIn({ account: 'testacct', users: { wif_loader: { workloadIdentityToken: 'mi-token-for-snowflake' } } });

const step = (() => {
  const load = pipelineSchema.parse(seed).steps.find((s) => s.id === 'load');
  assert.ok(load && load.kind === 'snowflake');
  return { ...load, connection: { ...load.connection, user: 'wif_loader', auth: { type: 'workloadIdentity' as const } } };
})();

before(async () => {
  const url = await server.start();
  server.managedIdentity = { header: 'identity-header-value', token: 'mi-token-for-snowflake' };
  server.script({ match: /^COPY INTO/, result: copyIntoResult([{ file: 'a.json', status: 'LOADED', rowsParsed: 5, rowsLoaded: 5 }]) });
  process.env['IDENTITY_ENDPOINT'] = `${url}/msi/token`;
  process.env['IDENTITY_HEADER'] = 'identity-header-value';
  // The driver only sends workload identity to hosts it knows as Snowflake's.
  process.env['SNOWFLAKE_WIF_ALLOWED_HOST_SUFFIXES'] = '127.0.0.1';
});
after(async () => {
  await server.close();
});

function context() {
  return createTestStepContext({
    stepId: 'load',
    // No password, key or token: only non-secret connection values.
    secrets: { 'snowflake-account': 'testacct', 'snowflake-user': 'unused', 'snowflake-warehouse': 'LOAD_WH', 'snowflake-database': 'RAW', 'snowflake-schema': 'PUBLIC' },
    settings: { SNOWFLAKE_ACCESS_URL: server.url },
  });
}

void describe('snowflake step with workload identity', () => {
  void test('logs in with the managed identity token for the Snowflake resource, no secret involved', async () => {
    const { ctx, secretReads } = context();
    const outcome = await createSnowflakeAdapter({ connections: new ConnectionCache() }).start(step, ctx);
    assert.equal(outcome.status, 'succeeded');
    const login = server.logins.at(-1)!;
    assert.deepEqual([login.authenticator, login.user, login.ok], ['WORKLOAD_IDENTITY', 'wif_loader', true]);
    assert.equal(server.managedIdentityRequests.at(-1)?.resource, 'api://fd3f753b-eed3-462c-b6a7-a4b5bb650aad');
    assert.ok(!secretReads.some((name) => /password|key|token/.test(name)));
  });

  void test('a user whose workload identity is another one fails permanently', async () => {
    server.setUser('wif_stranger', { workloadIdentityToken: 'token-of-another-identity' });
    const { ctx } = context();
    const stranger = { ...step, connection: { ...step.connection, user: 'wif_stranger' } };
    let failure: unknown;
    await createSnowflakeAdapter({ connections: new ConnectionCache() }).start(stranger, ctx).catch((error: unknown) => {
      failure = error;
    });
    assert.deepEqual([classify(failure).class, classify(failure).code], ['permanent', '390432']);
  });
});
