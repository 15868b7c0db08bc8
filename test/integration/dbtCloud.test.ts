/**
 * The dbt step's dbt Cloud runner against a stand-in of the Admin API v2, through real fetch.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { classify, PermanentError, RetryAfterError, TransientError } from '../../src/core/errors';
import { dbtStepSchema } from '../../src/pipelines/schema';
import { createDbtAdapter } from '../../src/steps/dbt/adapter';
import type { DbtStep } from '../../src/steps/dbt/types';
import type { StepOutcome } from '../../src/steps/protocol';
import { startDbtCloudStandIn, type DbtCloudStandIn } from '../../src/standins/dbtCloud/server';
import { createTestStepContext } from '../support/dbtCloud/stepContext';
import { driveToEnd, MODEL_ERROR_RESULTS, SUCCESS_METRICS, SUCCESS_RESULTS, TEST_FAILURE_RESULTS, rejection } from '../support/dbtCloud/fixtures';

const canary = () => `dbtc_canary_${randomUUID().replace(/-/g, '')}`;

function cloudStep(server: DbtCloudStandIn, extra: Record<string, unknown> = {}): DbtStep {
  return dbtStepSchema.parse({
    id: 'transform',
    kind: 'dbt',
    runner: { type: 'cloud', accountId: server.accountId, jobId: server.jobId, token: { secret: 'dbt-cloud-token' }, baseUrl: server.url },
    ...extra,
  });
}

/** The canary must not be anywhere a user or the run history could see it. */
function assertNoCanary(token: string, ...things: unknown[]): void {
  for (const thing of things) {
    const text = thing instanceof Error ? `${thing.message} ${thing.stack ?? ''}` : JSON.stringify(thing);
    assert.ok(!text.includes(token), `token leaked into: ${text.slice(0, 200)}`);
  }
}

void describe('dbt Cloud runner', () => {
  let server: DbtCloudStandIn;
  let token: string;

  before(async () => {
    token = canary();
    server = await startDbtCloudStandIn({ token, outcome: { status: 10, runResults: SUCCESS_RESULTS } });
  });
  after(() => server.close());

  void test('triggers the job with the run as cause, polls to success and reports run_results metrics', async () => {
    const adapter = createDbtAdapter();
    const t = createTestStepContext({ secrets: { 'dbt-cloud-token': token } });
    const { outcome, outcomes } = await driveToEnd(adapter, cloudStep(server), t.ctx);

    assert.equal(outcome.status, 'succeeded');
    assert.deepEqual(outcome.metrics, SUCCESS_METRICS);
    const trigger = server.triggers.at(-1)!;
    assert.equal(trigger.cause, 'durable-pipelines run run-2026-01-01-0200-abcd step transform attempt 1');
    assert.equal(trigger.stepsOverride, undefined, 'default `run` with no args runs the job as configured');
    const output = outcome.output as Record<string, unknown>;
    assert.equal(output['dbtRunId'], String(trigger.runId));
    assert.match(String(output['url']), new RegExp(`/runs/${trigger.runId}/$`));
    const first = outcomes[0]!;
    assert.equal(first.status, 'running');
    assert.deepEqual(Object.keys(first.status === 'running' ? first.handle : {}).sort(), ['accountId', 'runId', 'runner']);
    assert.ok(outcomes.length >= 3, 'the run was polled while queued/running');
    assertNoCanary(token, outcomes, t.logLines);
  });

  void test('a job of several commands (seed, run, test): every step\'s run_results.json is read and the results merged', async () => {
    const only = (prefix: string) => ({ ...SUCCESS_RESULTS, results: SUCCESS_RESULTS.results.filter((r) => r.unique_id.startsWith(prefix)) });
    server.setOutcome({
      status: 10,
      steps: [
        { command: 'dbt seed', runResults: only('seed.') },
        { command: 'dbt run', runResults: { ...SUCCESS_RESULTS, results: SUCCESS_RESULTS.results.filter((r) => /^(model|snapshot)\./.test(r.unique_id)) } },
        { command: 'dbt test', runResults: only('test.') },
      ],
    });
    try {
      const t = createTestStepContext({ secrets: { 'dbt-cloud-token': token } });
      const { outcome } = await driveToEnd(createDbtAdapter(), cloudStep(server), t.ctx);
      assert.equal(outcome.status, 'succeeded');
      // Read from the last step alone, the seed and the models would be missing (only tests counted).
      assert.deepEqual(outcome.metrics, SUCCESS_METRICS);
      const runId = server.triggers.at(-1)!.runId;
      const artifactCalls = server.requests.filter((r) => r.path.endsWith(`/runs/${runId}/artifacts/run_results.json`));
      assert.ok(artifactCalls.length >= 3, `one artifact call per step, got ${artifactCalls.length}`);
    } finally {
      server.setOutcome({ status: 10, runResults: SUCCESS_RESULTS });
    }
  });

  void test('sends steps_override built from command and args, quoted like a shell line', async () => {
    const adapter = createDbtAdapter();
    const t = createTestStepContext({ secrets: { 'dbt-cloud-token': token }, runId: `run-${randomUUID()}` });
    const step = cloudStep(server, { command: 'build', args: ['--select', 'tag:nightly', '--vars', '{"day": "2026-01-01"}'] });
    await adapter.start(step, t.ctx);
    assert.deepEqual(server.triggers.at(-1)!.stepsOverride, [`dbt build --select tag:nightly --vars '{"day": "2026-01-01"}'`]);
  });

  void test('a start that runs twice for the same attempt follows the first dbt Cloud run', async () => {
    const adapter = createDbtAdapter();
    const t = createTestStepContext({ secrets: { 'dbt-cloud-token': token }, runId: `run-${randomUUID()}` });
    const before = server.triggers.length;
    const first = await adapter.start(cloudStep(server), t.ctx);
    const second = await adapter.start(cloudStep(server), t.ctx);
    assert.equal(server.triggers.length, before + 1);
    assert.deepEqual(first.status === 'running' && first.handle, second.status === 'running' && second.handle);
    const retry = await adapter.start(cloudStep(server), t.forAttempt(2));
    assert.equal(server.triggers.length, before + 2, 'a new attempt is a new dbt Cloud run');
    assert.notDeepEqual(retry.status === 'running' && retry.handle, first.status === 'running' && first.handle);
  });

  void test('503 on trigger is transient; the retried start succeeds and triggers once', async () => {
    const adapter = createDbtAdapter();
    const t = createTestStepContext({ secrets: { 'dbt-cloud-token': token }, runId: `run-${randomUUID()}` });
    const before = server.triggers.length;
    server.failNext('trigger', 503);
    const error = await rejection(adapter.start(cloudStep(server), t.ctx));
    assert.ok(error instanceof TransientError, String(error));
    assert.equal(classify(error).class, 'transient');
    const { outcome } = await driveToEnd(adapter, cloudStep(server), t.ctx);
    assert.equal(outcome.status, 'succeeded');
    assert.equal(server.triggers.length, before + 1);
  });

  void test('429 with Retry-After is retried no sooner than dbt Cloud asked', async () => {
    const adapter = createDbtAdapter();
    const t = createTestStepContext({ secrets: { 'dbt-cloud-token': token }, runId: `run-${randomUUID()}` });
    server.failNext('trigger', 429, { retryAfter: 17 });
    const error = await rejection(adapter.start(cloudStep(server), t.ctx));
    assert.ok(error instanceof RetryAfterError);
    assert.equal(classify(error).retryAfterSeconds, 17);
    assert.equal(classify(error).class, 'transient');
  });

  void test('a 503 while polling does not fail the step: the next poll carries on', async () => {
    const adapter = createDbtAdapter();
    const t = createTestStepContext({ secrets: { 'dbt-cloud-token': token }, runId: `run-${randomUUID()}` });
    const step = cloudStep(server);
    const started = await adapter.start(step, t.ctx);
    assert.equal(started.status, 'running');
    server.failNext('run', 503, { retryAfter: 9 });
    const hiccup = await adapter.poll!(step, started.status === 'running' ? started.handle : {}, t.ctx);
    assert.equal(hiccup.status, 'running');
    assert.equal(hiccup.status === 'running' && hiccup.pollAfterSeconds, 9);
    let outcome: StepOutcome = hiccup;
    for (let i = 0; outcome.status === 'running' && i < 10; i++) outcome = await adapter.poll!(step, outcome.handle, t.ctx);
    assert.equal(outcome.status, 'succeeded');
  });

  void test('a rejected token (401) is permanent, drops the cached secret and never shows the token', async () => {
    const adapter = createDbtAdapter();
    const wrong = canary();
    const t = createTestStepContext({ secrets: { 'dbt-cloud-token': wrong } });
    const error = await rejection(adapter.start(cloudStep(server), t.ctx));
    assert.ok(error instanceof PermanentError, String(error));
    assert.match(error.message, /HTTP 401/);
    assert.match(error.message, /Invalid token/);
    assert.ok(t.invalidated.includes('dbt-cloud-token'));
    assertNoCanary(wrong, error, classify(error), t.logLines);
    assertNoCanary(token, error, t.logLines);
  });

  void test('after a rotation the new token is read again and the step goes on', async () => {
    const adapter = createDbtAdapter();
    const old = token;
    const t = createTestStepContext({ secrets: { 'dbt-cloud-token': old }, runId: `run-${randomUUID()}` });
    await t.ctx.secrets.get('dbt-cloud-token'); // warm cache holds the old value
    token = canary();
    server.setToken(token);
    t.setSecret('dbt-cloud-token', token);
    const started = await adapter.start(cloudStep(server), t.ctx);
    assert.equal(started.status, 'running');
    assert.deepEqual(t.invalidated, ['dbt-cloud-token']);
  });

  void test('a dbt run that errors fails permanently with the failing model and its message', async () => {
    const adapter = createDbtAdapter();
    const t = createTestStepContext({ secrets: { 'dbt-cloud-token': token }, runId: `run-${randomUUID()}` });
    server.setOutcome({ status: 20, runResults: MODEL_ERROR_RESULTS, statusMessage: 'Database Error in model orders' });
    try {
      const error = await rejection(driveToEnd(adapter, cloudStep(server), t.ctx));
      assert.ok(error instanceof PermanentError, String(error));
      assert.match(error.message, /model\.shop\.orders: Database Error in model orders/);
      assert.match(error.message, /RAW\.SHOP\.ORDERS' does not exist/);
      assert.match(error.message, /1 model\(s\) errored/);
      assertNoCanary(token, error, t.logLines);
    } finally {
      server.setOutcome({ status: 10, runResults: SUCCESS_RESULTS });
    }
  });

  void test('an errored run without artifacts fails with dbt Cloud’s status message', async () => {
    const adapter = createDbtAdapter();
    const t = createTestStepContext({ secrets: { 'dbt-cloud-token': token }, runId: `run-${randomUUID()}` });
    server.setOutcome({ status: 20, statusMessage: 'Failed to clone repository.' });
    try {
      const error = await rejection(driveToEnd(adapter, cloudStep(server), t.ctx));
      assert.ok(error instanceof PermanentError);
      assert.match(error.message, /Failed to clone repository/);
    } finally {
      server.setOutcome({ status: 10, runResults: SUCCESS_RESULTS });
    }
  });

  void test('failed tests fail the step by default, and only warn it when failOnTestFailure is false', async () => {
    const adapter = createDbtAdapter();
    server.setOutcome({ status: 20, runResults: TEST_FAILURE_RESULTS });
    try {
      const strict = createTestStepContext({ secrets: { 'dbt-cloud-token': token }, runId: `run-${randomUUID()}` });
      const error = await rejection(driveToEnd(adapter, cloudStep(server, { command: 'build' }), strict.ctx));
      assert.ok(error instanceof PermanentError);
      assert.equal(classify(error).code, 'DBT_TEST_FAILURE');
      assert.match(error.message, /test\.shop\.unique_orders_id\.77aa: Got 3 results/);

      const lenient = createTestStepContext({ secrets: { 'dbt-cloud-token': token }, runId: `run-${randomUUID()}` });
      const { outcome } = await driveToEnd(adapter, cloudStep(server, { command: 'build', failOnTestFailure: false }), lenient.ctx);
      assert.equal(outcome.status, 'succeeded');
      assert.equal(outcome.metrics?.['testsFailed'], 1);
      assert.equal(outcome.metrics?.['modelsSucceeded'], 1);
    } finally {
      server.setOutcome({ status: 10, runResults: SUCCESS_RESULTS });
    }
  });

  void test('a run cancelled in dbt Cloud fails the step permanently', async () => {
    const adapter = createDbtAdapter();
    const t = createTestStepContext({ secrets: { 'dbt-cloud-token': token }, runId: `run-${randomUUID()}` });
    server.setOutcome({ status: 30 });
    try {
      const error = await rejection(driveToEnd(adapter, cloudStep(server), t.ctx));
      assert.ok(error instanceof PermanentError);
      assert.match(error.message, /cancelled in dbt Cloud/);
    } finally {
      server.setOutcome({ status: 10, runResults: SUCCESS_RESULTS });
    }
  });

  void test('cancel() asks dbt Cloud to cancel the run', async () => {
    const adapter = createDbtAdapter();
    const t = createTestStepContext({ secrets: { 'dbt-cloud-token': token }, runId: `run-${randomUUID()}` });
    const step = cloudStep(server);
    const started = await adapter.start(step, t.ctx);
    assert.equal(started.status, 'running');
    const handle = started.status === 'running' ? started.handle : {};
    await adapter.cancel!(step, handle, t.ctx);
    assert.equal(server.cancels.at(-1), Number(handle['runId']));
    const error = await rejection(adapter.poll!(step, handle, t.ctx));
    assert.match(error.message, /cancelled in dbt Cloud/);
  });

  void test('the token is sent as `Authorization: Token …` on every call', () => {
    const authorized = server.requests.filter((r) => r.status !== 401);
    assert.ok(authorized.length > 0);
    assert.ok(authorized.every((r) => r.authorization?.startsWith('Token ')));
  });
});
