/**
 * The snowflake step through the real, unmodified snowflake-sdk against the local stand-in
 * (src/standins/snowflake), reached through the SNOWFLAKE_ACCESS_URL setting.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { classify, type ClassifiedError } from '../../src/core/errors';
import { pipelineSchema } from '../../src/pipelines/schema';
import seed from '../../src/pipelines/definitions/data-pipeline';
import { createSnowflakeAdapter, type SnowflakeAdapterDeps } from '../../src/steps/snowflake/adapter';
import { ConnectionCache } from '../../src/steps/snowflake/connection';
import type { StepOutcome } from '../../src/steps/protocol';
import { SNOWFLAKE_ERRORS, SnowflakeStandIn, copyIntoResult } from '../../src/standins/snowflake/server';
import { createTestStepContext } from '../support/dbtCloud/stepContext';
import { seedSnowflakeSecrets } from '../support/snowflakeSecrets';

type SnowflakeStep = Extract<ReturnType<typeof pipelineSchema.parse>['steps'][number], { kind: 'snowflake' }>;

const CANARY = 'canary-7f3e9b1c-pw';
// The seed's `day` parameter defaults to empty: the whole folder.
// The seed's `day` defaults to the run's logical date: the step contexts' run was requested on 2026-01-01.
const SEED_SQL = "COPY INTO ma_table_destination FROM @mon_stage_azure/chemin/vers/fichiers/2026-01-01 FILE_FORMAT = (TYPE = 'JSON') ON_ERROR = 'CONTINUE'";

const keys = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
const otherKeys = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });

const server = new SnowflakeStandIn({
  account: 'testacct',
  users: {
    loader: { password: CANARY },
    svc_loader: { publicKeyPem: keys.publicKey },
    oauth_loader: { oauthToken: 'oauth-token-canary-31337' },
  },
});

const seedLoad = (() => {
  const step = pipelineSchema.parse(seed).steps.find((s) => s.id === 'load');
  assert.ok(step && step.kind === 'snowflake');
  return step;
})();

function loadStep(patch: Partial<SnowflakeStep> = {}): SnowflakeStep {
  return { ...seedLoad, ...patch };
}

let runCounter = 0;
function context(secrets: Record<string, string> = {}) {
  runCounter += 1;
  return createTestStepContext({
    runId: `run-${runCounter}`,
    stepId: 'load',
    secrets: { ...seedSnowflakeSecrets(CANARY), ...secrets },
    settings: { SNOWFLAKE_ACCESS_URL: server.url },
  });
}

function adapter(deps: SnowflakeAdapterDeps = {}) {
  return createSnowflakeAdapter({ connections: new ConnectionCache(), ...deps });
}

async function rejection(promise: Promise<unknown>): Promise<ClassifiedError> {
  try {
    await promise;
  } catch (error) {
    return error as ClassifiedError;
  }
  assert.fail('expected the step to fail');
}

function succeeded(outcome: StepOutcome): Extract<StepOutcome, { status: 'succeeded' }> {
  assert.equal(outcome.status, 'succeeded', JSON.stringify(outcome));
  return outcome;
}

const THREE_FILES = copyIntoResult([
  { file: 'azure://acct.blob.core.windows.net/c/chemin/vers/fichiers/a.json', status: 'LOADED', rowsParsed: 100, rowsLoaded: 100 },
  {
    file: 'azure://acct.blob.core.windows.net/c/chemin/vers/fichiers/b.json',
    status: 'PARTIALLY_LOADED',
    rowsParsed: 50,
    rowsLoaded: 47,
    errorsSeen: 3,
    firstError: 'Error parsing JSON: unexpected character',
    firstErrorLine: 12,
    firstErrorCharacter: 5,
  },
  { file: 'azure://acct.blob.core.windows.net/c/chemin/vers/fichiers/c.json', status: 'LOAD_FAILED', rowsParsed: 10, rowsLoaded: 0, errorsSeen: 10, firstError: 'Invalid UTF8 detected', firstErrorLine: 1 },
]);

before(async () => {
  await server.start();
});
after(async () => {
  await server.close();
});

void describe('snowflake step against the stand-in', () => {
  void test('the seed COPY INTO succeeds in one activity, tagged with run, step and attempt, with per-file metrics', async () => {
    server.script({ match: /^COPY INTO/, result: THREE_FILES });
    const { ctx, logLines } = context();
    const outcome = succeeded(await adapter().start(loadStep(), ctx));

    const query = server.queries.at(-1)!;
    assert.equal(query.sql, SEED_SQL);
    assert.equal(query.parameters['QUERY_TAG'], `${ctx.runId}:load:1`);
    assert.equal(query.asyncExec, true);
    assert.deepEqual(outcome.metrics, {
      filesLoaded: 1,
      filesPartiallyLoaded: 1,
      filesFailed: 1,
      rowsParsed: 160,
      rowsLoaded: 147,
      errorsSeen: 13,
      firstError: 'azure://acct.blob.core.windows.net/c/chemin/vers/fichiers/b.json line 12: Error parsing JSON: unexpected character',
    });
    const login = server.logins.at(-1)!;
    assert.deepEqual([login.user, login.warehouse, login.database, login.schema, login.authenticator], ['loader', 'LOAD_WH', 'RAW', 'PUBLIC', 'SNOWFLAKE']);
    assert.ok(!JSON.stringify(outcome).includes(CANARY));
    assert.ok(!logLines.join('\n').includes(CANARY));
  });

  void test('a long COPY INTO is handed to the orchestrator and polled to completion (start → poll → poll)', async () => {
    server.script({ match: /^COPY INTO/, result: THREE_FILES, runningPolls: 1 });
    const { ctx } = context();
    const sf = adapter({ inlineWaitMs: 0 });
    const step = loadStep({ pollInterval: 45 });

    const started = await sf.start(step, ctx);
    assert.equal(started.status, 'running');
    assert.ok(started.status === 'running' && typeof started.handle['queryId'] === 'string');
    assert.equal(started.pollAfterSeconds, 10);
    const second = await sf.poll!(step, started.handle, ctx);
    assert.equal(second.status, 'running');
    assert.equal(second.status === 'running' && second.pollAfterSeconds, 45);
    const done = succeeded(await sf.poll!(step, second.status === 'running' ? second.handle : {}, ctx));
    assert.equal(done.metrics?.['rowsLoaded'], 147);
    assert.equal((done.output as { queryId: string }).queryId, started.handle['queryId']);
  });

  void test('a start delivered twice for the same attempt runs the COPY INTO once', async () => {
    server.script({ match: /^COPY INTO/, result: THREE_FILES });
    const { ctx } = context();
    const sf = adapter();
    const before = server.queriesMatching(/^COPY INTO/).length;
    const first = succeeded(await sf.start(loadStep(), ctx));
    const again = succeeded(await sf.start(loadStep(), ctx));
    assert.equal(server.queriesMatching(/^COPY INTO/).length, before + 1);
    assert.equal(server.resubmissions, 0, 'found by its query tag, not resubmitted');
    assert.deepEqual(again.metrics, first.metrics);
  });

  void test('a COPY INTO given up on a busy table lock (000625) fails the attempt as transient; the next attempt succeeds', async () => {
    server.script({ match: /^COPY INTO/, result: THREE_FILES, error: SNOWFLAKE_ERRORS.lockWaitersExceeded('MA_TABLE_DESTINATION'), failTimes: 1 });
    const test = context();
    const sf = adapter();
    const failure = await rejection(sf.start(loadStep(), test.ctx));
    assert.deepEqual([classify(failure).class, classify(failure).code], ['transient', '000625']);
    assert.match(failure.message, /number of waiters for this lock exceeds/);
    succeeded(await sf.start(loadStep(), test.forAttempt(2)));
    assert.deepEqual(
      server.queriesMatching(/^COPY INTO/).slice(-2).map((q) => q.parameters['QUERY_TAG']),
      [`${test.ctx.runId}:load:1`, `${test.ctx.runId}:load:2`],
    );
  });

  void test('no usable warehouse (000606) and a canceled statement (000604) fail the step permanently, not retried to the end', async () => {
    for (const error of [SNOWFLAKE_ERRORS.noActiveWarehouse, SNOWFLAKE_ERRORS.canceled]) {
      server.script({ match: /^COPY INTO/, error });
      const { ctx } = context();
      const failure = await rejection(adapter().start(loadStep(), ctx));
      assert.deepEqual([classify(failure).class, classify(failure).code], ['permanent', error.code], failure.message);
      assert.ok(failure.message.includes(error.message.slice(0, 20)), failure.message);
    }
  });

  void test('a warehouse resuming (RESUMING_WAREHOUSE status) keeps the query running; it is polled to completion, submitted once', async () => {
    server.script({ match: /^COPY INTO/, result: THREE_FILES, runningPolls: 2, runningStatus: 'RESUMING_WAREHOUSE' });
    const { ctx } = context();
    const sf = adapter({ inlineWaitMs: 0 });
    const before = server.queriesMatching(/^COPY INTO/).length;
    let outcome = await sf.start(loadStep(), ctx);
    const statuses: string[] = [outcome.status];
    const shown: unknown[] = [];
    while (outcome.status === 'running' && statuses.length < 10) {
      outcome = await sf.poll!(loadStep(), outcome.handle, ctx);
      statuses.push(outcome.status);
      if (outcome.status === 'running') shown.push(outcome.metrics?.['queryStatus']);
    }
    assert.deepEqual(statuses, ['running', 'running', 'running', 'succeeded']);
    assert.deepEqual(shown, ['RESUMING_WAREHOUSE', 'RESUMING_WAREHOUSE'], 'the running step says why it waits');
    assert.equal(succeeded(outcome).metrics?.['rowsLoaded'], 147);
    assert.equal(server.queriesMatching(/^COPY INTO/).length, before + 1);
  });

  void test('COPY INTO with nothing new to load ("Copy executed with 0 files processed.") succeeds with zero files and rows', async () => {
    server.script({ match: /^COPY INTO/, result: copyIntoResult([]) });
    const { ctx } = context();
    const done = succeeded(await adapter().start(loadStep(), ctx));
    assert.deepEqual(
      [done.metrics?.['filesLoaded'], done.metrics?.['filesFailed'], done.metrics?.['rowsLoaded'], done.metrics?.['errorsSeen']],
      [0, 0, 0, 0],
    );
    assert.equal((done.output as { filesTotal: number }).filesTotal, 0);
  });

  void test('SQL that does not compile fails the step permanently with Snowflake’s code', async () => {
    server.script({ match: /missing_table/, error: { code: '002003', message: "SQL compilation error:\nObject 'MISSING_TABLE' does not exist or not authorized.", sqlState: '02000' } });
    const { ctx } = context();
    const failure = await rejection(adapter().start(loadStep({ statement: { sql: 'SELECT * FROM missing_table', binds: [] } }), ctx));
    assert.equal(classify(failure).class, 'permanent');
    assert.equal(classify(failure).code, '002003');
    assert.match(failure.message, /does not exist or not authorized/);
  });

  void test('a query failing after it was handed off fails the poll with the query’s own error', async () => {
    server.script({ match: /^COPY INTO/, runningPolls: 1, error: { code: '002003', message: "SQL compilation error:\nStage 'MON_STAGE_AZURE' does not exist or not authorized.", sqlState: '02000' } });
    const { ctx } = context();
    const sf = adapter({ inlineWaitMs: 0 });
    const started = await sf.start(loadStep(), ctx);
    assert.equal(started.status, 'running');
    const second = await sf.poll!(loadStep(), started.status === 'running' ? started.handle : {}, ctx);
    assert.equal(second.status, 'running');
    const failure = await rejection(sf.poll!(loadStep(), second.status === 'running' ? second.handle : {}, ctx));
    assert.deepEqual([classify(failure).class, classify(failure).code], ['permanent', '002003']);
  });

  void test('a wrong password fails permanently, never shows the password, and the rotated secret is read next attempt', async () => {
    server.script({ match: /^COPY INTO/, result: THREE_FILES });
    const test = context({ 'snowflake-password': 'old-password-canary-1' });
    const sf = adapter();
    const failure = await rejection(sf.start(loadStep(), test.ctx));
    assert.deepEqual([classify(failure).class, classify(failure).code], ['permanent', '390100']);
    assert.ok(test.invalidated.includes('snowflake-password'));
    assert.ok(!failure.message.includes('old-password-canary-1'));
    assert.ok(!test.logLines.join('\n').includes('old-password-canary-1'));

    test.setSecret('snowflake-password', CANARY);
    const before = test.secretReads.filter((n) => n === 'snowflake-password').length;
    succeeded(await sf.start(loadStep(), test.forAttempt(2)));
    assert.equal(test.secretReads.filter((n) => n === 'snowflake-password').length, before + 1);
  });

  void test('COPY INTO with more errors than maxErrors fails the step even with ON_ERROR = CONTINUE', async () => {
    server.script({ match: /^COPY INTO/, result: THREE_FILES });
    const { ctx } = context();
    const failure = await rejection(adapter().start(loadStep({ maxErrors: 5 }), ctx));
    assert.equal(classify(failure).class, 'permanent');
    assert.match(failure.message, /13 errors, more than maxErrors 5/);
    assert.match(failure.message, /1 files loaded, 1 partially, 1 failed/);

    succeeded(await adapter().start(loadStep({ maxErrors: 13 }), context().ctx));
  });

  void test('a second statement on a warm instance reuses the session instead of logging in again', async () => {
    server.script({ match: /^COPY INTO/, result: THREE_FILES });
    const sf = adapter();
    const loginsBefore = server.loginCount;
    succeeded(await sf.start(loadStep(), context().ctx));
    succeeded(await sf.start(loadStep(), context().ctx));
    succeeded(await sf.start(loadStep({ statement: { sql: 'SELECT 1', binds: [] } }), context().ctx));
    assert.equal(server.loginCount - loginsBefore, 1);
    const sessions = new Set(server.queries.slice(-3).map((q) => q.sessionId));
    assert.equal(sessions.size, 1);
  });

  void test('key-pair auth signs a JWT the server verifies; a key it does not know is refused permanently', async () => {
    const step = loadStep({ connection: { ...seedLoad.connection, user: 'svc_loader', auth: { type: 'keyPair', privateKey: { secret: 'snowflake-private-key' } } } });
    const good = context({ 'snowflake-private-key': keys.privateKey });
    succeeded(await adapter().start(step, good.ctx));
    assert.equal(server.logins.at(-1)?.authenticator, 'SNOWFLAKE_JWT');
    assert.equal(server.logins.at(-1)?.ok, true);

    // Key Vault often holds the PEM flattened onto one line with literal \n.
    const flattened = context({ 'snowflake-private-key': keys.privateKey.replace(/\n/g, '\\n') });
    succeeded(await adapter().start(step, flattened.ctx));

    const wrong = context({ 'snowflake-private-key': otherKeys.privateKey });
    const failure = await rejection(adapter().start(step, wrong.ctx));
    assert.deepEqual([classify(failure).class, classify(failure).code], ['permanent', '390144']);
    assert.ok(wrong.invalidated.includes('snowflake-private-key'));
  });

  void test('OAuth sends the token from its secret', async () => {
    const step = loadStep({ connection: { ...seedLoad.connection, user: 'oauth_loader', auth: { type: 'oauth', token: { secret: 'snowflake-oauth-token' } } } });
    succeeded(await adapter().start(step, context({ 'snowflake-oauth-token': 'oauth-token-canary-31337' }).ctx));
    assert.deepEqual([server.logins.at(-1)?.authenticator, server.logins.at(-1)?.ok], ['OAUTH', true]);
    const failure = await rejection(adapter().start(step, context({ 'snowflake-oauth-token': 'expired-token-0000' }).ctx));
    assert.deepEqual([classify(failure).class, classify(failure).code], ['permanent', '390303']);
  });

  void test('raw SQL sends its bind values as binds, never in the text', async () => {
    server.script({ match: /^DELETE FROM staging/, result: { columns: [{ name: 'number of rows deleted', type: 'fixed' }], rows: [[42]], statementTypeId: 0x3300 } });
    const hostile = "x'; DROP TABLE t; --";
    const { ctx } = context();
    const outcome = succeeded(await adapter().start(loadStep({ statement: { sql: 'DELETE FROM staging WHERE batch = ? AND n < ?', binds: [hostile, 7] } }), ctx));
    const query = server.queries.at(-1)!;
    assert.equal(query.sql, 'DELETE FROM staging WHERE batch = ? AND n < ?');
    assert.deepEqual(query.bindings, { '1': { type: 'TEXT', value: hostile }, '2': { type: 'FIXED', value: '7' } });
    assert.deepEqual(outcome.output, { queryId: query.id, rowCount: 1, rows: [{ 'number of rows deleted': 42 }] });
  });

  void test('an HTTP 503 from Snowflake is retried by the driver and the step still succeeds', async () => {
    server.script({ match: /^COPY INTO/, result: THREE_FILES, httpStatus: 503, httpTimes: 1 });
    const before = server.queriesMatching(/^COPY INTO/).length;
    succeeded(await adapter().start(loadStep(), context().ctx));
    assert.equal(server.queriesMatching(/^COPY INTO/).length, before + 1);
    assert.ok(server.count('POST /queries/v1/query-request') >= 2);
  });

  void test('a session the server dropped is replaced by a new login within the same attempt', async () => {
    server.script({ match: /^COPY INTO/, result: THREE_FILES });
    const sf = adapter();
    const test = context();
    succeeded(await sf.start(loadStep(), test.ctx));
    server.dropSessions();
    const loginsBefore = server.loginCount;
    succeeded(await sf.start(loadStep(), test.forAttempt(2)));
    assert.equal(server.loginCount - loginsBefore, 1);
    succeeded(await sf.start(loadStep(), test.forAttempt(3)));
    assert.equal(server.loginCount - loginsBefore, 1);
  });

  void test('cancel stops a running query', async () => {
    server.script({ match: /^COPY INTO/, result: THREE_FILES, runningPolls: 100 });
    const { ctx } = context();
    const sf = adapter({ inlineWaitMs: 0 });
    const started = await sf.start(loadStep(), ctx);
    assert.equal(started.status, 'running');
    const handle = started.status === 'running' ? started.handle : {};
    await sf.cancel!(loadStep(), handle, ctx);
    const query = server.queries.find((q) => q.id === handle['queryId']);
    assert.equal(query?.status, 'ABORTED');
  });

  void test('identifiers read from secrets are checked before use', async () => {
    const { ctx } = context({ 'snowflake-database': 'RAW; DROP DATABASE prod' });
    const failure = await rejection(adapter().start(loadStep(), ctx));
    assert.equal(classify(failure).class, 'permanent');
    assert.match(failure.message, /database from secret snowflake-database is not a valid identifier/);
  });
});

void describe('snowflake step secrets (canary)', () => {
  const canary = 'c4n4ry9q';
  const values = {
    'snowflake-account': `acct_${canary}`,
    'snowflake-user': `user_${canary}`,
    'snowflake-password': `pw-${canary}-secret`,
    'snowflake-warehouse': `WH_${canary}`,
    'snowflake-database': `DB_${canary}`,
    'snowflake-schema': `SCH_${canary}`,
  };
  const canaryServer = new SnowflakeStandIn({ account: values['snowflake-account'], users: { [values['snowflake-user']]: { password: values['snowflake-password'] } } });
  before(async () => {
    await canaryServer.start();
  });
  after(async () => {
    await canaryServer.close();
  });

  void test('no secret value shows in outputs, metrics, errors or log lines, on success or failure', async () => {
    const seen: string[] = [];
    const run = async (step: SnowflakeStep, secrets: Record<string, string>, deps: SnowflakeAdapterDeps = {}) => {
      const t = createTestStepContext({ stepId: 'load', secrets: { ...values, ...secrets }, settings: { SNOWFLAKE_ACCESS_URL: canaryServer.url } });
      const sf = adapter(deps);
      try {
        let outcome = await sf.start(step, t.ctx);
        while (outcome.status === 'running') outcome = await sf.poll!(step, outcome.handle, t.ctx);
        seen.push(JSON.stringify(outcome));
      } catch (error) {
        seen.push(String(error), JSON.stringify(classify(error)));
      }
      seen.push(...t.logLines);
    };
    // Snowflake's messages name the objects and the user: the stand-in echoes them like Snowflake does.
    canaryServer.script({ match: /^COPY INTO/, result: THREE_FILES });
    canaryServer.script({ match: /fails_here/, error: { code: '002003', message: `SQL compilation error:\nSchema '${values['snowflake-database']}.${values['snowflake-schema']}' does not exist or not authorized for ${values['snowflake-user']}.`, sqlState: '02000' } });
    canaryServer.script({ match: /slow_one/, runningPolls: 1, error: { code: '000630', message: `Statement reached its statement or warehouse timeout of 1 second(s) on ${values['snowflake-warehouse']} and was canceled.`, sqlState: '57014' } });
    await run(loadStep(), {});
    await run(loadStep({ maxErrors: 0 }), {});
    await run(loadStep({ statement: { sql: 'SELECT * FROM fails_here', binds: [] } }), {});
    await run(loadStep({ statement: { sql: 'SELECT * FROM slow_one', binds: [] } }), {}, { inlineWaitMs: 0 });
    await run(loadStep(), { 'snowflake-password': `wrong-${canary}-pw` });
    assert.ok(seen.length > 10);
    const leaks = seen.filter((text) => text.includes(canary));
    assert.deepEqual(leaks, []);
    assert.equal(canaryServer.successfulLoginCount, 4);
  });
});
