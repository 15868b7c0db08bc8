/**
 * Canary: with one unique value as every secret (resolved by the app's real settings resolver),
 * the dbt step's success and failure paths, for both runners, leave it in no outcome, handle,
 * error or log line.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { classify, toActivityError } from '../../src/core/errors';
import { dbtStepSchema } from '../../src/pipelines/schema';
import type { StepContext } from '../../src/steps/adapter';
import { createDbtAdapter } from '../../src/steps/dbt/adapter';
import type { StepOutcome } from '../../src/steps/protocol';
import { withCanary, type Canary } from '../support/canary';
import { startArmStandIn, StandInCredential } from '../../src/standins/arm/server';
import { startDbtCloudStandIn } from '../../src/standins/dbtCloud/server';
import { MODEL_ERROR_RESULTS, SUCCESS_RESULTS } from '../support/dbtCloud/fixtures';

function context(canary: Canary, settings: Record<string, string> = {}): StepContext {
  return {
    runId: `run-${randomUUID()}`,
    pipeline: 'data-pipeline',
    stepId: 'transform',
    attempt: 1,
    parameters: {},
    trigger: { kind: 'manual' },
    secrets: canary.secrets,
    settings: (name) => settings[name],
    log: canary.log,
  };
}

/** Runs start → poll… to the end; returns every outcome and the error, if any. */
async function drive(run: () => Promise<StepOutcome>, poll: (o: StepOutcome & { status: 'running' }) => Promise<StepOutcome>) {
  const seen: unknown[] = [];
  try {
    let outcome = await run();
    seen.push(outcome);
    for (let i = 0; outcome.status === 'running' && i < 10; i++) {
      outcome = await poll(outcome);
      seen.push(outcome);
    }
    return { seen, error: undefined };
  } catch (error) {
    // What would cross to the orchestrator, too.
    seen.push(error, classify(error), toActivityError(error));
    return { seen, error };
  }
}

void describe('dbt step secret canary', () => {
  void test('dbt Cloud: success, rejected token, failed run and transient error keep the token hidden', async () => {
    const canary = withCanary();
    const server = await startDbtCloudStandIn({ token: canary.value, outcome: { status: 10, runResults: SUCCESS_RESULTS } });
    try {
      const adapter = createDbtAdapter();
      const step = dbtStepSchema.parse({
        id: 'transform',
        kind: 'dbt',
        runner: { type: 'cloud', accountId: server.accountId, jobId: server.jobId, token: { secret: 'dbt-cloud-token' }, baseUrl: server.url },
        command: 'build',
      });
      const go = (ctx: StepContext) => drive(() => adapter.start(step, ctx), (o) => adapter.poll!(step, o.handle, ctx));

      const ok = await go(context(canary));
      assert.equal(ok.error, undefined);

      server.failNext('trigger', 503);
      const transient = await go(context(canary));
      assert.ok(transient.error);

      server.setOutcome({ status: 20, runResults: MODEL_ERROR_RESULTS });
      const failed = await go(context(canary));
      assert.ok(failed.error);

      server.setToken(`other-${randomUUID()}`);
      const refused = await go(context(canary));
      assert.match(String(refused.error), /HTTP 401/);

      assert.ok(canary.requested.includes('dbt-cloud-token'));
      canary.assertNoCanary(ok.seen, transient.seen, failed.seen, refused.seen, canary.logLines());
    } finally {
      await server.close();
    }
  });

  void test('Container Apps job: a SAS results URL from a secret stays out of outcomes, errors and logs', async () => {
    const canary = withCanary({ values: { 'dbt-results-sas-url': (c) => `${arm.resultsContainerUrl}?sv=2023-11-03&sr=c&sp=rw&sig=${c}` } });
    const tokens = { arm: `arm-${randomUUID()}`, storage: `storage-${randomUUID()}` };
    const arm = await startArmStandIn({ armToken: tokens.arm, storageToken: tokens.storage, sas: canary.value, outcome: { status: 'Succeeded', runResults: SUCCESS_RESULTS } });
    try {
      const adapter = createDbtAdapter({ credential: new StandInCredential(tokens) });
      const step = dbtStepSchema.parse({
        id: 'transform',
        kind: 'dbt',
        runner: { type: 'containerAppsJob', jobResourceId: arm.jobResourceId, resultsContainerUrl: { secret: 'dbt-results-sas-url' } },
      });
      const settings = { AZURE_RESOURCE_MANAGER_URL: arm.url };
      const go = (ctx: StepContext) => drive(() => adapter.start(step, ctx), (o) => adapter.poll!(step, o.handle, ctx));

      const ok = await go(context(canary, settings));
      assert.equal(ok.error, undefined, String(ok.error));
      assert.equal((ok.seen.at(-1) as StepOutcome).status, 'succeeded');

      arm.setOutcome({ status: 'Failed', runResults: MODEL_ERROR_RESULTS });
      const failed = await go(context(canary, settings));
      assert.ok(failed.error);

      arm.setOutcome({ status: 'Failed' });
      const noResults = await go(context(canary, settings));
      assert.ok(noResults.error);

      arm.failNext('blob', 503, { times: 5 });
      arm.setOutcome({ status: 'Succeeded', runResults: SUCCESS_RESULTS });
      const blobDown = await go(context(canary, settings));
      assert.ok(blobDown.error);

      canary.assertNoCanary(ok.seen, failed.seen, noResults.seen, blobDown.seen, canary.logLines());
      // The SAS did reach the one place it must go: the execution's DP_RESULTS_URL.
      const env = arm.starts[0]!.body.containers![0]!.env!;
      assert.ok(env.find((e) => e.name === 'DP_RESULTS_URL')?.value?.includes(`sig=${canary.value}`));
      for (const token of Object.values(tokens)) assert.ok(!JSON.stringify([ok.seen, failed.seen, canary.logLines()]).includes(token));
    } finally {
      await arm.close();
    }
  });
});
