/**
 * A Snowflake statement runs once per attempt, whatever instance or session submits or resubmits
 * it, and an attempt waits while Snowflake says the statement lives. Through the real
 * snowflake-sdk against the stand-in, which keeps request ids per session (as Snowflake does:
 * snowflake-sdk test/integration/testExecute.js) and answers the QUERY_HISTORY look-up by tag.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { classify } from '../../src/core/errors';
import { pipelineSchema } from '../../src/pipelines/schema';
import seed from '../../src/pipelines/definitions/data-pipeline';
import { createSnowflakeAdapter, type SnowflakeAdapterDeps } from '../../src/steps/snowflake/adapter';
import { ConnectionCache, connect, destroyQuietly, loadSnowflakeSdk, type Connection } from '../../src/steps/snowflake/connection';
import type { StepOutcome } from '../../src/steps/protocol';
import { SNOWFLAKE_ERRORS, SnowflakeStandIn, copyIntoResult } from '../../src/standins/snowflake/server';
import { createTestStepContext } from '../support/dbtCloud/stepContext';
import { seedSnowflakeSecrets } from '../support/snowflakeSecrets';
import { rejection } from '../support/dbtCloud/fixtures';

type SnowflakeStep = Extract<ReturnType<typeof pipelineSchema.parse>['steps'][number], { kind: 'snowflake' }>;

const PASSWORD = 'once-per-attempt-pw-5521';
const server = new SnowflakeStandIn({ account: 'testacct', users: { loader: { password: PASSWORD } } });

const seedLoad = (() => {
  const step = pipelineSchema.parse(seed).steps.find((s) => s.id === 'load');
  assert.ok(step && step.kind === 'snowflake');
  return step;
})();
const loadStep = (patch: Partial<SnowflakeStep> = {}): SnowflakeStep => ({ ...seedLoad, ...patch });

const FILES = copyIntoResult([{ file: 'azure://acct.blob.core.windows.net/c/chemin/vers/fichiers/a.json', status: 'LOADED', rowsParsed: 40, rowsLoaded: 40 }]);

let runs = 0;
function context() {
  runs += 1;
  return createTestStepContext({
    runId: `once-${runs}`,
    stepId: 'load',
    secrets: seedSnowflakeSecrets(PASSWORD),
    settings: { SNOWFLAKE_ACCESS_URL: server.url },
  });
}

/** An adapter with its own session cache: another Functions instance. */
const instance = (deps: SnowflakeAdapterDeps = {}) => createSnowflakeAdapter({ connections: new ConnectionCache(), ...deps });

const copies = () => server.queriesMatching(/^COPY INTO/).length;

async function pollToEnd(adapter: ReturnType<typeof instance>, step: SnowflakeStep, first: StepOutcome, ctx: ReturnType<typeof context>['ctx'], limit = 20) {
  const shown: unknown[] = [];
  let outcome = first;
  while (outcome.status === 'running' && shown.length < limit) {
    shown.push(outcome.metrics?.['queryStatus']);
    outcome = await adapter.poll!(step, outcome.handle, ctx);
  }
  return { outcome, shown };
}

before(async () => {
  await server.start();
});
after(async () => {
  await server.close();
});

void describe('the stand-in speaks Snowflake’s request-id and query-history rules', () => {
  const sdk = loadSnowflakeSdk();
  const open = () => connect(sdk, { account: 'testacct', username: 'loader', password: PASSWORD, accessUrl: server.url, warehouse: 'LOAD_WH', database: 'RAW', schema: 'PUBLIC' });
  const run = (connection: Connection, sqlText: string, extra: { requestId?: string; binds?: string[]; parameters?: Record<string, string> } = {}) =>
    new Promise<{ rows: Record<string, unknown>[]; requestId: string }>((resolve, reject) => {
      connection.execute({
        sqlText,
        ...(extra.binds ? { binds: extra.binds } : {}),
        ...(extra.requestId ? { requestId: extra.requestId } : {}),
        ...(extra.parameters ? { parameters: extra.parameters } : {}),
        complete: (error, statement, rows) => (error ? reject(error) : resolve({ rows: (rows ?? []) as Record<string, unknown>[], requestId: statement.getRequestId() })),
      });
    });

  void test('a request id resent on the same connection does not run again; on another connection it does (testExecute.js)', async () => {
    server.script({ match: /^INSERT INTO test_request_id/, result: { columns: [{ name: 'number of rows inserted', type: 'fixed' }], rows: [[1]], statementTypeId: 0x3100 } });
    const [first, second] = [await open(), await open()];
    try {
      const before = server.queriesMatching(/^INSERT INTO test_request_id/).length;
      const { requestId } = await run(first, "INSERT INTO test_request_id VALUES ('testValue')");
      await run(first, "INSERT INTO test_request_id VALUES ('testValue')", { requestId });
      assert.equal(server.queriesMatching(/^INSERT INTO test_request_id/).length, before + 1, 'same connection: answered from the first');
      await run(second, "INSERT INTO test_request_id VALUES ('testValue')", { requestId });
      assert.equal(server.queriesMatching(/^INSERT INTO test_request_id/).length, before + 2, 'another connection: runs again');
    } finally {
      await Promise.all([destroyQuietly(first), destroyQuietly(second)]);
    }
  });

  void test('QUERY_HISTORY_BY_USER filtered by QUERY_TAG lists the tagged statements of the user, running or ended, oldest first', async () => {
    server.script({ match: /^SELECT 'tagged'/, runningPolls: 1000 });
    server.script({ match: /^SELECT 'tagged-bad'/, error: { code: '002003', message: "SQL compilation error:\nObject 'X' does not exist or not authorized.", sqlState: '02000' } });
    const [first, second] = [await open(), await open()];
    try {
      const tag = `history-${Date.now()}`;
      const running = await new Promise<string>((resolve, reject) => {
        first.execute({ sqlText: "SELECT 'tagged'", asyncExec: true, parameters: { QUERY_TAG: tag }, complete: (error, statement) => (error ? reject(error) : resolve(statement.getQueryId())) });
      });
      await run(first, "SELECT 'tagged-bad'", { parameters: { QUERY_TAG: tag } }).catch(() => undefined);
      await run(second, "SELECT 'untagged'");
      const lookup = 'SELECT QUERY_ID, EXECUTION_STATUS, ERROR_CODE FROM TABLE(INFORMATION_SCHEMA.QUERY_HISTORY_BY_USER(RESULT_LIMIT => 10000)) WHERE QUERY_TAG = ? ORDER BY START_TIME';
      const { rows } = await run(second, lookup, { binds: [tag] });
      assert.deepEqual(rows.map((r) => [r['EXECUTION_STATUS'], r['ERROR_CODE']]), [['RUNNING', null], ['FAILED_WITH_ERROR', '002003']]);
      assert.equal(rows[0]?.['QUERY_ID'], running);
      const refused = await run(second, 'SELECT QUERY_ID, NO_SUCH_COLUMN FROM TABLE(INFORMATION_SCHEMA.QUERY_HISTORY_BY_USER()) WHERE QUERY_TAG = ?', { binds: [tag] }).catch((e: unknown) => e);
      assert.match(String(refused), /invalid identifier 'NO_SUCH_COLUMN'/);
    } finally {
      await Promise.all([destroyQuietly(first), destroyQuietly(second)]);
    }
  });
});

void describe('a statement runs once per attempt', () => {
  void test('a start re-delivered to another instance (another session) follows the statement the first one submitted', async () => {
    server.script({ match: /^COPY INTO/, result: FILES, runningPolls: 3 });
    const { ctx } = context();
    const before = copies();
    const first = await instance({ inlineWaitMs: 0 }).start(loadStep(), ctx);
    assert.equal(first.status, 'running');
    const other = instance({ inlineWaitMs: 0 });
    const again = await other.start(loadStep(), ctx);
    assert.equal(copies(), before + 1, 'the COPY INTO ran once');
    assert.equal(again.status === 'running' && again.handle['queryId'], first.status === 'running' && first.handle['queryId']);
    const { outcome } = await pollToEnd(other, loadStep(), again, ctx);
    assert.equal(outcome.status === 'succeeded' && outcome.metrics?.['rowsLoaded'], 40);
  });

  void test('a start re-delivered after its session expired for good (390112, renewal 390114) logs in again and does not submit twice', async () => {
    server.script({ match: /^COPY INTO/, result: FILES, runningPolls: 3 });
    const { ctx } = context();
    const adapter = instance({ inlineWaitMs: 0 });
    const before = copies();
    const logins = server.successfulLoginCount;
    const first = await adapter.start(loadStep(), ctx);
    assert.equal(first.status, 'running');
    server.expireSessions({ master: true });
    const again = await adapter.start(loadStep(), ctx);
    assert.equal(server.successfulLoginCount, logins + 2, 'a second login: a new session');
    assert.equal(copies(), before + 1, 'the COPY INTO ran once');
    assert.ok(server.count('POST /session/token-request') > 0, 'the driver tried to renew first');
    const { outcome } = await pollToEnd(adapter, loadStep(), again, ctx);
    assert.equal(outcome.status, 'succeeded');
  });

  void test('a session token expiring between polls (390112) costs one new login, not the statement', async () => {
    // The driver renews an expired session token for statements (services/sf.js StateConnected.request),
    // but its status call goes through requestAsync, which does not: the poll sees 390112, logs in
    // again and reads the status from the new session.
    server.script({ match: /^COPY INTO/, result: FILES, runningPolls: 2 });
    const { ctx } = context();
    const adapter = instance({ inlineWaitMs: 0 });
    const before = copies();
    const started = await adapter.start(loadStep(), ctx);
    const logins = server.successfulLoginCount;
    server.expireSessions();
    const { outcome } = await pollToEnd(adapter, loadStep(), started, ctx);
    assert.equal(outcome.status, 'succeeded');
    assert.equal(server.successfulLoginCount, logins + 1);
    assert.equal(copies(), before + 1);
  });

  void test('the next attempt runs its own statement: the tag names the attempt', async () => {
    server.script({ match: /^COPY INTO/, result: FILES });
    const test = context();
    const before = copies();
    await instance().start(loadStep(), test.ctx);
    await instance().start(loadStep(), test.forAttempt(2));
    assert.deepEqual(server.queriesMatching(/^COPY INTO/).slice(before).map((q) => q.parameters['QUERY_TAG']), [`${test.ctx.runId}:load:1`, `${test.ctx.runId}:load:2`]);
  });
});

void describe('statuses that are not an end keep the attempt waiting', () => {
  void test('QUEUED, BLOCKED (a lock), RESTARTED and DISCONNECTED are waited through, shown on the step, submitted once', async () => {
    server.script({ match: /^COPY INTO/, result: FILES, runningStatuses: ['QUEUED', 'BLOCKED', 'BLOCKED', 'RESTARTED', 'DISCONNECTED'] });
    const { ctx } = context();
    const adapter = instance({ inlineWaitMs: 0 });
    const before = copies();
    const { outcome, shown } = await pollToEnd(adapter, loadStep(), await adapter.start(loadStep(), ctx), ctx);
    assert.equal(outcome.status, 'succeeded', JSON.stringify(outcome));
    assert.deepEqual(shown.slice(1), ['QUEUED', 'BLOCKED', 'BLOCKED', 'RESTARTED', 'DISCONNECTED']);
    assert.equal(copies(), before + 1);
  });

  void test('ABORTING is waited through to ABORTED, which fails the step as canceled (permanent), not resubmitted', async () => {
    server.script({ match: /^COPY INTO/, result: FILES, runningStatuses: ['RUNNING', 'ABORTING'], endsAborted: true });
    const { ctx } = context();
    const adapter = instance({ inlineWaitMs: 0 });
    const before = copies();
    const started = await adapter.start(loadStep(), ctx);
    const failure = await rejection(pollToEnd(adapter, loadStep(), started, ctx));
    assert.deepEqual([classify(failure).class, classify(failure).code], ['permanent', '000604']);
    assert.equal(copies(), before + 1);
  });

  void test('NO_DATA is waited through, up to the 24 checks snowflake-sdk allows (asyncNoDataMaxRetry)', async () => {
    server.script({ match: /^COPY INTO/, result: FILES, noDataPolls: 3 });
    const lag = context();
    const adapter = instance({ inlineWaitMs: 0 });
    const { outcome } = await pollToEnd(adapter, loadStep(), await adapter.start(loadStep(), lag.ctx), lag.ctx);
    assert.equal(outcome.status, 'succeeded');

    server.script({ match: /^COPY INTO/, result: FILES, noDataPolls: 1000 });
    const never = context();
    let polls = 0;
    const failure = await rejection((async () => {
      let current = await adapter.start(loadStep(), never.ctx);
      while (current.status === 'running') {
        polls += 1;
        current = await adapter.poll!(loadStep(), current.handle, never.ctx);
      }
    })());
    assert.deepEqual([classify(failure).class, classify(failure).code], ['transient', 'NO_DATA']);
    assert.equal(polls, 25);
  });

  void test('NO_QUERY_DATA: a query the history knows is followed (monitoring lag); an id nobody knows fails at the first check, as snowflake-sdk does since #882', async () => {
    server.script({ match: /^COPY INTO/, result: FILES, runningPolls: 1, unknownPolls: 2 });
    const lag = context();
    const adapter = instance({ inlineWaitMs: 0 });
    const before = copies();
    const { outcome, shown } = await pollToEnd(adapter, loadStep(), await adapter.start(loadStep(), lag.ctx), lag.ctx);
    assert.equal(outcome.status, 'succeeded');
    assert.deepEqual(shown.slice(1, 3), ['RUNNING', 'RUNNING'], 'the history’s status is shown while monitoring lags');
    assert.equal(copies(), before + 1);

    const lost = context();
    const failure = await rejection(adapter.poll!(loadStep(), { queryId: '01b2c3d4-0000-4000-8000-00000000abcd', polls: 3 }, lost.ctx));
    assert.deepEqual([classify(failure).class, classify(failure).code], ['transient', 'NO_QUERY_DATA']);
  });
});

void describe('a statement timeout (000630) is classified by the setting that stopped it', () => {
  void test('STATEMENT_TIMEOUT_IN_SECONDS (here the warehouse’s 3,600 s) fails permanently and says which setting to raise', async () => {
    server.parameters = { warehouse: { STATEMENT_TIMEOUT_IN_SECONDS: 3600 } };
    server.script({ match: /^COPY INTO/, runningPolls: 1, error: SNOWFLAKE_ERRORS.statementTimeout(3600) });
    const { ctx } = context();
    const adapter = instance({ inlineWaitMs: 0 });
    const failure = await rejection(pollToEnd(adapter, loadStep(), await adapter.start(loadStep(), ctx), ctx));
    assert.deepEqual([classify(failure).class, classify(failure).code], ['permanent', '000630']);
    // The warehouse's name comes from a secret here, so the message masks it.
    assert.match(failure.message, /STATEMENT_TIMEOUT_IN_SECONDS = 3600 \(set on warehouse \*\*\*\)/);
  });

  void test('STATEMENT_QUEUED_TIMEOUT_IN_SECONDS (a busy warehouse’s queue) is transient: a later attempt may get a slot', async () => {
    server.parameters = { session: { STATEMENT_QUEUED_TIMEOUT_IN_SECONDS: 600 } };
    server.script({ match: /^COPY INTO/, runningStatuses: ['QUEUED'], error: SNOWFLAKE_ERRORS.statementTimeout(600) });
    const { ctx } = context();
    const adapter = instance({ inlineWaitMs: 0 });
    const failure = await rejection(pollToEnd(adapter, loadStep(), await adapter.start(loadStep(), ctx), ctx));
    assert.deepEqual([classify(failure).class, classify(failure).code], ['transient', '000630']);
    assert.match(failure.message, /STATEMENT_QUEUED_TIMEOUT_IN_SECONDS = 600/);
    server.parameters = {};
  });
});
