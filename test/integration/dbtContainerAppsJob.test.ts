/**
 * The dbt step's Container Apps job runner against ARM + Blob stand-ins, through real fetch, with a
 * stand-in identity (a TokenCredential handing out per-scope tokens).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { classify, PermanentError, RetryAfterError, TransientError } from '../../src/core/errors';
import { dbtStepSchema } from '../../src/pipelines/schema';
import { createDbtAdapter } from '../../src/steps/dbt/adapter';
import type { DbtStep } from '../../src/steps/dbt/types';
import type { StepOutcome } from '../../src/steps/protocol';
import { startArmStandIn, StandInCredential, type ArmStandIn } from '../../src/standins/arm/server';
import { createTestStepContext } from '../support/dbtCloud/stepContext';
import { driveToEnd, MODEL_ERROR_RESULTS, SUCCESS_METRICS, SUCCESS_RESULTS, rejection } from '../support/dbtCloud/fixtures';

const canary = (what: string) => `${what}_canary_${randomUUID().replace(/-/g, '')}`;

function assertNoToken(tokens: readonly string[], ...things: unknown[]): void {
  for (const thing of things) {
    const text = thing instanceof Error ? `${thing.message} ${thing.stack ?? ''}` : JSON.stringify(thing);
    for (const token of tokens) assert.ok(!text.includes(token), `token leaked into: ${text.slice(0, 200)}`);
  }
}

void describe('Container Apps job runner', () => {
  const tokens = { arm: canary('arm'), storage: canary('storage') };
  let arm: ArmStandIn;
  let asyncArm: ArmStandIn;

  before(async () => {
    arm = await startArmStandIn({ armToken: tokens.arm, storageToken: tokens.storage, outcome: { status: 'Succeeded', runResults: SUCCESS_RESULTS } });
    asyncArm = await startArmStandIn({ armToken: tokens.arm, storageToken: tokens.storage, startMode: 'async', outcome: { status: 'Succeeded', runResults: SUCCESS_RESULTS } });
  });
  after(async () => {
    await arm.close();
    await asyncArm.close();
  });

  function jobStep(server: ArmStandIn, extra: Record<string, unknown> = {}): DbtStep {
    return dbtStepSchema.parse({
      id: 'transform',
      kind: 'dbt',
      runner: { type: 'containerAppsJob', jobResourceId: { setting: 'DBT_JOB_RESOURCE_ID' }, resultsContainerUrl: { setting: 'DBT_RESULTS_CONTAINER_URL' } },
      ...extra,
    });
  }

  function context(server: ArmStandIn, runId = `run-${randomUUID()}`) {
    return createTestStepContext({
      runId,
      settings: {
        AZURE_RESOURCE_MANAGER_URL: server.url,
        DBT_JOB_RESOURCE_ID: server.jobResourceId,
        DBT_RESULTS_CONTAINER_URL: server.resultsContainerUrl,
      },
    });
  }

  void test('starts an execution that keeps the job template, polls it and reads run_results.json from Blob', async () => {
    const credential = new StandInCredential(tokens);
    const adapter = createDbtAdapter({ credential });
    const t = context(arm);
    const step = jobStep(arm, { command: 'build', args: ['--select', 'tag:nightly'] });
    const { outcome, outcomes } = await driveToEnd(adapter, step, t.ctx);

    assert.equal(outcome.status, 'succeeded');
    assert.deepEqual(outcome.metrics, SUCCESS_METRICS);
    const start = arm.starts.at(-1)!;
    assert.deepEqual((outcome.output as Record<string, unknown>)['execution'], start.execution);
    const container = start.body.containers![0]!;
    assert.deepEqual(container.args, ['build', '--select', 'tag:nightly']);
    assert.equal(container.image, 'dpacr.azurecr.io/dbt-job:1.9.4', 'the override keeps the job image');
    assert.deepEqual(container.resources, { cpu: 1, memory: '2Gi' });
    const env = Object.fromEntries(container.env!.map((e) => [e.name, e.value ?? `secretRef:${e.secretRef}`]));
    assert.equal(env['SNOWFLAKE_PRIVATE_KEY'], 'secretRef:snowflake-private-key', 'secret references survive the override');
    assert.equal(env['DP_RUN_ID'], t.ctx.runId);
    assert.equal(env['DP_STEP_ID'], 'transform');
    assert.equal(env['DP_ATTEMPT'], '1');
    assert.equal(env['DP_RESULTS_URL'], `${arm.resultsContainerUrl}/${t.ctx.runId}/transform/1/run_results.json`);
    assert.ok(credential.scopes.includes(`${arm.url}/.default`));
    assert.ok(credential.scopes.includes('https://storage.azure.com/.default'));
    assert.ok(credential.scopes.length <= 2, `tokens are cached per scope (asked ${credential.scopes.length} times)`);
    const first = outcomes[0]!;
    assert.equal(first.status, 'running');
    assertNoToken([tokens.arm, tokens.storage], outcomes, t.logLines);
  });

  void test('a 202 start is followed through its Location to the execution', async () => {
    const adapter = createDbtAdapter({ credential: new StandInCredential(tokens) });
    const t = context(asyncArm);
    const { outcome, outcomes } = await driveToEnd(adapter, jobStep(asyncArm), t.ctx);
    assert.equal(outcome.status, 'succeeded');
    const first = outcomes[0]!;
    assert.ok(first.status === 'running' && first.handle['execution'] === null && typeof first.handle['startOperation'] === 'string');
    assert.equal(first.status === 'running' && first.pollAfterSeconds, 1, "ARM's Retry-After sets the first poll");
    assert.deepEqual(asyncArm.starts.at(-1)!.body.containers![0]!.args, ['run']);
  });

  void test('a start that runs twice for the same attempt follows the first execution', async () => {
    const adapter = createDbtAdapter({ credential: new StandInCredential(tokens) });
    const t = context(arm);
    const before = arm.starts.length;
    const first = await adapter.start(jobStep(arm), t.ctx);
    const second = await adapter.start(jobStep(arm), t.ctx);
    assert.equal(arm.starts.length, before + 1);
    assert.deepEqual(second.status === 'running' && second.handle, first.status === 'running' && first.handle);
    await adapter.start(jobStep(arm), t.forAttempt(2));
    assert.equal(arm.starts.length, before + 2, 'a new attempt is a new execution');
  });

  void test('a start delivered again after later attempts started follows its own execution, not the newest', async () => {
    const adapter = createDbtAdapter({ credential: new StandInCredential(tokens) });
    const t = context(arm);
    const first = await adapter.start(jobStep(arm), t.ctx);
    await adapter.start(jobStep(arm), t.forAttempt(2));
    await adapter.start(jobStep(arm), t.forAttempt(3));
    const before = arm.starts.length;
    const again = await adapter.start(jobStep(arm), t.ctx);
    assert.equal(arm.starts.length, before, 'the redelivered start followed the execution it had started');
    assert.deepEqual(again.status === 'running' && again.handle, first.status === 'running' && first.handle);
  });

  void test('503 on start is transient; the retried start succeeds', async () => {
    const adapter = createDbtAdapter({ credential: new StandInCredential(tokens) });
    const t = context(arm);
    const before = arm.starts.length;
    arm.failNext('start', 503);
    const error = await rejection(adapter.start(jobStep(arm), t.ctx));
    assert.ok(error instanceof TransientError, String(error));
    assert.equal(arm.starts.length, before);
    const { outcome } = await driveToEnd(adapter, jobStep(arm), t.ctx);
    assert.equal(outcome.status, 'succeeded');
    assert.equal(arm.starts.length, before + 1);
  });

  void test('429 with Retry-After from ARM is honoured', async () => {
    const adapter = createDbtAdapter({ credential: new StandInCredential(tokens) });
    arm.failNext('job', 429, { retryAfter: 25 });
    const error = await rejection(adapter.start(jobStep(arm), context(arm).ctx));
    assert.ok(error instanceof RetryAfterError);
    assert.equal(classify(error).retryAfterSeconds, 25);
  });

  void test('a token ARM refuses (401) is permanent after one fresh try, and no token shows', async () => {
    const wrong = { arm: canary('wrongarm'), storage: tokens.storage };
    const credential = new StandInCredential(wrong);
    const adapter = createDbtAdapter({ credential });
    const t = context(arm);
    const error = await rejection(adapter.start(jobStep(arm), t.ctx));
    assert.ok(error instanceof PermanentError, String(error));
    assert.match(error.message, /HTTP 401/);
    assert.match(error.message, /InvalidAuthenticationToken/);
    assert.equal(credential.scopes.filter((scope) => scope.startsWith(arm.url)).length, 2, 'asked for a new ARM token once before giving up');
    assertNoToken([wrong.arm, tokens.arm], error, classify(error), t.logLines);
  });

  void test('a failed dbt run fails permanently with the failing model and its message', async () => {
    const adapter = createDbtAdapter({ credential: new StandInCredential(tokens) });
    const t = context(arm);
    arm.setOutcome({ status: 'Failed', runResults: MODEL_ERROR_RESULTS });
    try {
      const error = await rejection(driveToEnd(adapter, jobStep(arm), t.ctx));
      assert.ok(error instanceof PermanentError, String(error));
      assert.match(error.message, /model\.shop\.orders: Database Error in model orders/);
      assertNoToken([tokens.arm, tokens.storage], error, t.logLines);
    } finally {
      arm.setOutcome({ status: 'Succeeded', runResults: SUCCESS_RESULTS });
    }
  });

  void test('an execution that failed before dbt wrote results is transient', async () => {
    const adapter = createDbtAdapter({ credential: new StandInCredential(tokens) });
    arm.setOutcome({ status: 'Failed' });
    try {
      const error = await rejection(driveToEnd(adapter, jobStep(arm), context(arm).ctx));
      assert.ok(error instanceof TransientError, String(error));
      assert.match(error.message, /without run_results\.json/);
    } finally {
      arm.setOutcome({ status: 'Succeeded', runResults: SUCCESS_RESULTS });
    }
  });

  void test('a 503 while polling does not fail the step', async () => {
    const adapter = createDbtAdapter({ credential: new StandInCredential(tokens) });
    const t = context(arm);
    const step = jobStep(arm);
    const started = await adapter.start(step, t.ctx);
    arm.failNext('execution', 503);
    const hiccup = await adapter.poll!(step, started.status === 'running' ? started.handle : {}, t.ctx);
    assert.equal(hiccup.status, 'running');
    let outcome: StepOutcome = hiccup;
    for (let i = 0; outcome.status === 'running' && i < 10; i++) outcome = await adapter.poll!(step, outcome.handle, t.ctx);
    assert.equal(outcome.status, 'succeeded');
  });

  void test('cancel() stops the execution through ARM', async () => {
    const adapter = createDbtAdapter({ credential: new StandInCredential(tokens) });
    const t = context(arm);
    const step = jobStep(arm);
    const started = await adapter.start(step, t.ctx);
    const handle = started.status === 'running' ? started.handle : {};
    await adapter.cancel!(step, handle, t.ctx);
    assert.equal(arm.stops.at(-1), handle['execution']);
    const error = await rejection(adapter.poll!(step, handle, t.ctx));
    assert.match(error.message, /was stopped/);
  });

  void test('ARM calls carry the ARM token and Blob calls the storage token', () => {
    const served = arm.requests.filter((r) => r.status < 400);
    assert.ok(served.some((r) => r.path.startsWith('/dbtresults/')));
    for (const request of served) {
      const expected = request.path.startsWith('/dbtresults/') ? tokens.storage : tokens.arm;
      assert.equal(request.authorization, `Bearer ${expected}`, `${request.method} ${request.path}`);
    }
  });
});
