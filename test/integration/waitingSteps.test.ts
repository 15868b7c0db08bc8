/**
 * Steps that wait, end to end in the development host on a virtual clock: `waitFor` a blob (the
 * Blob stand-in answers Get Blob Properties), checked with growing intervals on durable timers;
 * `approval` decided by an Operate user through the console door, by a function key through the
 * CLI; a reader refused, a second decision refused, approvers enforced, timeouts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { emulatedSignIn } from '../../scripts/signIn';
import { loadCatalog } from '../../src/pipelines/catalog';
import { pipelineInputs } from '../../src/pipelines/definitions';
import type { PipelineInput } from '../../src/pipelines/schema';
import { startApp, type AppHarness } from '../support/appHarness';
import { runCli } from '../support/cliRun';

const gated: PipelineInput = {
  name: 'gated',
  title: 'Load when the export lands, after sign-off',
  parameters: { day: { type: 'date', default: { run: 'logicalDate' } } },
  steps: [
    { id: 'landed', kind: 'waitFor', blob: { container: { setting: 'DBT_RESULTS_CONTAINER_URL' }, path: 'exports/{param.day}/done.json' }, checkEvery: { initial: '1m', factor: 2, max: '4m' }, timeout: '2h' },
    { id: 'signoff', kind: 'approval', dependsOn: ['landed'], message: 'Load {param.day} into production?', timeout: '1d' },
  ],
};
const restricted: PipelineInput = {
  name: 'restricted',
  title: 'Only Ana may approve',
  steps: [{ id: 'signoff', kind: 'approval', approvers: ['ana@contoso.com'], timeout: '10m' }],
};
const neverLands: PipelineInput = {
  name: 'never-lands',
  title: 'Waits for a file that never comes',
  steps: [{ id: 'landed', kind: 'waitFor', blob: { container: { setting: 'DBT_RESULTS_CONTAINER_URL' }, path: 'exports/never.json' }, checkEvery: '2m', timeout: '5m' }],
};

interface RunJson {
  status: string;
  error?: { message: string; stepId?: string };
  steps: { id: string; status: string; output?: Record<string, unknown>; metrics?: Record<string, unknown> }[];
}

const MINUTE = 60_000;

describe('steps that wait', () => {
  let app: AppHarness;
  const signIn = emulatedSignIn('operator');
  before(async () => {
    app = await startApp({
      startTime: new Date('2026-03-28T06:00:00Z'),
      catalog: loadCatalog([...pipelineInputs, gated, restricted, neverLands]),
      platformPrincipal: signIn.principal,
      settings: signIn.settings,
    });
  });
  after(() => app.stop());

  const start = async (pipeline: string, parameters: Record<string, unknown> = {}): Promise<string> => {
    const started = await app.api<{ runId: string }>('POST', `pipelines/${pipeline}/runs`, { parameters });
    assert.equal(started.status, 202, started.text);
    await app.host.advance(0);
    return started.json.runId;
  };
  const run = async (runId: string): Promise<RunJson> => (await app.api<RunJson>('GET', `runs/${encodeURIComponent(runId)}`)).json;
  const step = async (runId: string, id: string) => (await run(runId)).steps.find((s) => s.id === id);
  /** The console door, as the signed-in user (the platform adds the principal). */
  const asUser = (verb: 'approve' | 'reject', runId: string, stepId: string, body: unknown = {}) =>
    app.api<{ decision?: string; decidedBy?: string; detail?: string }>('POST', `console/runs/${encodeURIComponent(runId)}/steps/${stepId}/${verb}`, body, {
      key: null,
      headers: { 'x-requested-with': 'durable-pipelines-console' },
    });
  const cli = (...args: string[]) => runCli(app.baseUrl, ...args);

  test('waitFor checks at growing intervals while the file is missing, then the approval waits for an Operate user: a reader is refused, the first decision wins', async () => {
    const runId = await start('gated', { day: '2026-03-27' });
    // Checks at 0, +1, +2, +4 then every 4 minutes (max): 4 checks within 7 minutes, none between.
    await app.host.advance(7 * MINUTE + 30_000);
    const waiting = await step(runId, 'landed');
    assert.equal(waiting?.status, 'running');
    // The export's marker lands.
    app.world.dbt.blobs.set('/dbtresults/exports/2026-03-27/done.json', '{"files":3}');
    await app.host.advance(4 * MINUTE);
    const landed = await step(runId, 'landed');
    assert.equal(landed?.status, 'succeeded');
    // Checked at +0, +1, +3, +7, then +11 min (found): five checks in eleven minutes, not eleven.
    assert.equal(landed?.output?.['checks'], 5);
    assert.match(String(landed?.output?.['eTag']), /^"0x[0-9A-F]+"$/);
    assert.match(String(landed?.output?.['blob']), /\/dbtresults\/exports\/2026-03-27\/done\.json$/);

    // The approval waits: listed with what it asks.
    const list = await cli('approvals');
    assert.match(list.out, new RegExp(`${runId} +signoff .*Operate role +Load 2026-03-27 into production\\?`));
    assert.equal((await step(runId, 'signoff'))?.status, 'running');

    signIn.switchTo('reader');
    const byReader = await asUser('approve', runId, 'signoff');
    assert.equal(byReader.status, 403, byReader.text);
    signIn.switchTo('operator');
    const approved = await asUser('approve', runId, 'signoff', { comment: 'numbers checked' });
    assert.equal(approved.status, 200, approved.text);
    assert.deepEqual([approved.json.decision, approved.json.decidedBy], ['approved', 'user:operator@localhost']);
    const second = await cli('reject', runId, 'signoff', '--comment', 'too late');
    assert.equal(second.code, 7, second.out);
    assert.match(second.out, /already approved by user:operator@localhost at 2026-03-28T06:11:30/);

    await app.host.advance(2 * MINUTE);
    const done = await run(runId);
    assert.equal(done.status, 'succeeded');
    assert.deepEqual(done.steps.find((s) => s.id === 'signoff')?.output, { decision: 'approved', by: 'user:operator@localhost', at: '2026-03-28T06:11:30.000Z', comment: 'numbers checked' });
    assert.match((await cli('approvals')).out, /no step waits for approval/);
  });

  test('a rejection fails the run naming who and why', async () => {
    app.world.dbt.blobs.set('/dbtresults/exports/2026-03-26/done.json', '{}');
    const runId = await start('gated', { day: '2026-03-26' });
    await app.host.advance(MINUTE);
    const rejected = await cli('reject', runId, 'signoff', '--comment', 'row counts look off');
    assert.equal(rejected.code, 0, rejected.out);
    assert.match(rejected.out, /signoff: rejected by key/);
    await app.host.advance(2 * MINUTE);
    const done = await run(runId);
    assert.equal(done.status, 'failed');
    assert.equal(done.error?.stepId, 'signoff');
    assert.match(done.error?.message ?? '', /rejected by key at .*: row counts look off/);
  });

  test('named approvers only; no decision within the timeout fails the step, and a late decision is refused', async () => {
    const runId = await start('restricted');
    const notAnApprover = await asUser('approve', runId, 'signoff');
    assert.equal(notAnApprover.status, 403);
    assert.match(notAnApprover.text, /names its approvers \(ana@contoso\.com\); operator@localhost is not one of them/);
    const byKey = await cli('approve', runId, 'signoff');
    assert.equal(byKey.code, 5);
    assert.match(byKey.out, /refused \(HTTP 403\): .*a function key is no one of them/);
    await app.host.advance(12 * MINUTE);
    const done = await run(runId);
    assert.equal(done.status, 'failed');
    assert.match(done.error?.message ?? '', /timeout of 10m/);
    const late = await cli('approve', runId, 'signoff');
    assert.equal(late.code, 7);
    assert.match(late.out, /no longer running/);
    assert.doesNotMatch((await cli('approvals')).out, new RegExp(runId));
  });

  test('a file that never lands: the waitFor step fails with its timeout; a step that is not waiting cannot be approved', async () => {
    const runId = await start('never-lands');
    await app.host.advance(7 * MINUTE);
    const done = await run(runId);
    assert.equal(done.status, 'failed');
    assert.match(done.error?.message ?? '', /timeout of 5m/);
    const nothing = await cli('approve', runId, 'landed');
    assert.equal(nothing.code, 4);
    assert.match(nothing.out, /has no step "landed" waiting for approval/);
  });
});
