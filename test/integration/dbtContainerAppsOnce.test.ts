/**
 * The Container Apps runner finds its execution again without what ARM may not echo (an
 * execution's template env values), follows a start whose operation ends with a 204 naming
 * nothing, and treats Degraded as an end only when it is one. Each undocumented behaviour is
 * offered both ways by the stand-in (src/standins/arm/server.ts).
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { classify } from '../../src/core/errors';
import { dbtStepSchema } from '../../src/pipelines/schema';
import { createDbtAdapter } from '../../src/steps/dbt/adapter';
import { DEGRADED_POLL_LIMIT } from '../../src/steps/dbt/containerAppsJob';
import type { DbtStep } from '../../src/steps/dbt/types';
import { startArmStandIn, StandInCredential, type ArmStandIn, type ArmStandInOptions } from '../../src/standins/arm/server';
import { createTestStepContext } from '../support/dbtCloud/stepContext';
import { driveToEnd, SUCCESS_METRICS, SUCCESS_RESULTS, rejection } from '../support/dbtCloud/fixtures';

const tokens = { arm: `arm-${randomUUID()}`, storage: `storage-${randomUUID()}` };
const servers: ArmStandIn[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function stand(options: Partial<ArmStandInOptions> = {}): Promise<ArmStandIn> {
  const server = await startArmStandIn({ armToken: tokens.arm, storageToken: tokens.storage, outcome: { status: 'Succeeded', runResults: SUCCESS_RESULTS }, ...options });
  servers.push(server);
  return server;
}

const jobStep = (): DbtStep =>
  dbtStepSchema.parse({ id: 'transform', kind: 'dbt', runner: { type: 'containerAppsJob', jobResourceId: { setting: 'DBT_JOB_RESOURCE_ID' }, resultsContainerUrl: { setting: 'DBT_RESULTS_CONTAINER_URL' } } });

const context = (server: ArmStandIn) =>
  createTestStepContext({ runId: `run-${randomUUID()}`, settings: { AZURE_RESOURCE_MANAGER_URL: server.url, DBT_JOB_RESOURCE_ID: server.jobResourceId, DBT_RESULTS_CONTAINER_URL: server.resultsContainerUrl } });

/** Another Functions instance: its own adapter, its own token cache. */
const instance = () => createDbtAdapter({ credential: new StandInCredential(tokens) });

const blobOf = (server: ArmStandIn, runId: string, name: string) => `/dbtresults/${runId}/transform/1/${name}`;

void describe('a re-delivered start finds the execution this attempt started', () => {
  for (const executionTemplate of ['without-env', 'as-sent'] as const) {
    void test(`when executions ${executionTemplate === 'as-sent' ? 'echo' : 'do not echo'} their env values`, async () => {
      const server = await stand({ executionTemplate });
      const t = context(server);
      const first = await instance().start(jobStep(), t.ctx);
      const again = await instance().start(jobStep(), t.ctx);
      assert.equal(server.starts.length, 1, 'one execution');
      assert.deepEqual(again.status === 'running' && again.handle, first.status === 'running' && first.handle);
    });
  }

  void test('by the container’s own announcement when the first delivery died before noting the start', async () => {
    const server = await stand();
    const t = context(server);
    await instance().start(jobStep(), t.ctx);
    server.blobs.delete(blobOf(server, t.ctx.runId, 'start.json'));
    await instance().start(jobStep(), t.ctx);
    assert.equal(server.starts.length, 1);
  });

  void test('by the runner’s own note while the container has not started yet', async () => {
    const server = await stand({ containerStartPolls: 5 });
    const t = context(server);
    await instance().start(jobStep(), t.ctx);
    assert.equal(server.blobs.has(blobOf(server, t.ctx.runId, 'execution.json')), false, 'the container has not announced itself');
    await instance().start(jobStep(), t.ctx);
    assert.equal(server.starts.length, 1);
  });

  void test('issue 26: a delivery that died between its start call and its note: the next starts nothing and waits for the execution to announce itself', async () => {
    const server = await stand({ containerStartPolls: 5 });
    const t = context(server);
    await instance().start(jobStep(), t.ctx);
    // What a delivery that died after ARM answered and before noting the answer leaves: the note
    // taken before the call (ARM's start takes no name or tag to find the execution by).
    server.blobs.set(blobOf(server, t.ctx.runId, 'start.json'), JSON.stringify({ execution: null, startOperation: null, startingAt: '2026-12-05T02:00:00.000Z' }));
    const again = await instance().start(jobStep(), t.ctx);
    assert.equal(server.starts.length, 1, 'no second execution');
    assert.equal(again.status, 'running');
    assert.equal(again.status === 'running' && again.handle['execution'], null);
    assert.ok(t.logLines.some((l) => /its answer was lost; waiting for its execution to announce itself/.test(l)), t.logLines.join('\n'));
  });

  void test('a 202 start re-delivered before ARM named the execution follows the same start operation', async () => {
    const server = await stand({ startMode: 'async', containerStartPolls: 5 });
    const t = context(server);
    const first = await instance().start(jobStep(), t.ctx);
    const again = await instance().start(jobStep(), t.ctx);
    assert.equal(server.starts.length, 1);
    assert.equal(again.status === 'running' && again.handle['startOperation'], first.status === 'running' && first.handle['startOperation']);
  });
});

void describe('a start operation that ends with 204 and no body', () => {
  void test('the step follows the execution the container names and reports its results', async () => {
    const server = await stand({ startMode: 'async', operationFinal: 'no-content' });
    const t = context(server);
    const { outcome } = await driveToEnd(instance(), jobStep(), t.ctx);
    assert.equal(outcome.status, 'succeeded');
    assert.deepEqual(outcome.metrics, SUCCESS_METRICS);
    assert.equal((outcome.output as Record<string, unknown>)['execution'], server.starts[0]?.execution);
  });
});

void describe('Degraded', () => {
  void test('passing through Degraded on the way to Succeeded is waited through', async () => {
    const server = await stand({ outcome: { status: 'Succeeded', runResults: SUCCESS_RESULTS, degradedPolls: 3 } });
    const { outcome, outcomes } = await driveToEnd(instance(), jobStep(), context(server).ctx);
    assert.equal(outcome.status, 'succeeded');
    assert.deepEqual(outcome.metrics, SUCCESS_METRICS);
    assert.ok(outcomes.some((o) => o.status === 'running' && o.metrics?.['executionStatus'] === 'Degraded'), 'the step showed Degraded while it lasted');
  });

  void test('staying Degraded with results is judged by the results', async () => {
    const server = await stand({ outcome: { status: 'Degraded', runResults: SUCCESS_RESULTS } });
    const { outcome } = await driveToEnd(instance(), jobStep(), context(server).ctx);
    assert.equal(outcome.status, 'succeeded');
    assert.deepEqual(outcome.metrics, SUCCESS_METRICS);
  });

  void test(`staying Degraded without results ends the attempt (transient) after ${DEGRADED_POLL_LIMIT} polls`, async () => {
    const server = await stand({ outcome: { status: 'Degraded' } });
    const error = await rejection(driveToEnd(instance(), jobStep(), context(server).ctx, 30));
    assert.deepEqual([classify(error).class, classify(error).code], ['transient', 'EXECUTION_DEGRADED']);
    assert.match(error.message, /ended Degraded without run_results\.json/);
  });
});
