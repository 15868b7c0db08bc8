/**
 * Listing by project and tag reads the project's or the tag's own index (docs/run-store.md,
 * "Projects and tags"): with 30 runs of another project interleaved, the latest 5 of one project
 * cost one index query and 5 run reads, not a walk over the other project's runs.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { createRunStore } from '../../src/runs/tableStore';
import { createRunStoreTables, ensureTable } from '../../src/runs/tables';
import { runProps } from '../../src/runs/entities';
import { indexPartition, indexRowKey, monthBucket } from '../../src/runs/keys';
import type { RunRecord } from '../../src/runs/recorder';
import { startAzurite, type AzuriteInstance } from '../../src/standins/azurite';

let azurite: AzuriteInstance;
before(async () => {
  azurite = await startAzurite({ blob: false });
});
after(async () => {
  await azurite?.stop();
});

test('runs ls --project / --tag: only that project’s or tag’s runs, newest first, paged, each hit read once', async () => {
  const reads: string[] = [];
  const counter: PipelinePolicy = {
    name: 'countReads',
    sendRequest(request, next) {
      if (request.method === 'GET') reads.push(new URL(request.url).pathname);
      return next(request);
    },
  };
  let now = Date.parse('2026-11-10T00:00:00Z');
  const store = createRunStore({ tables: createRunStoreTables({ connectionString: azurite.connectionString }, `proj${process.pid}`, { additionalPolicies: [{ policy: counter, position: 'perCall' }] }), now: () => new Date(now) });
  const start = (runId: string, project: string, tags: string[]) =>
    store.record({ runId, pipeline: `${project}-daily`, start: { root: true, trigger: { kind: 'manual' }, parameters: {}, project, tags } });
  for (let i = 0; i < 36; i++) {
    now += 60_000;
    if (i % 6 === 0) await start(`fin-${i}`, 'finance', ['finance', i % 12 === 0 ? 'backfill' : 'production']);
    else await start(`mkt-${i}`, 'marketing', ['marketing', 'production']);
  }
  reads.length = 0;
  const page = await store.listRuns({ projects: ['finance'], limit: 4 });
  assert.deepEqual(page.runs.map((r) => r.runId), ['fin-30', 'fin-24', 'fin-18', 'fin-12']);
  assert.ok(page.runs.every((r) => r.project === 'finance'));
  const runReads = reads.filter((p) => /Runs\(/.test(p)).length;
  assert.equal(runReads, 4, `one read per listed run, none of marketing's 30: ${reads.join(' ')}`);
  const next = await store.listRuns({ projects: ['finance'], limit: 4, ...(page.nextCursor ? { cursor: page.nextCursor } : {}) });
  assert.deepEqual(next.runs.map((r) => r.runId), ['fin-6', 'fin-0']);

  const backfills = await store.listRuns({ tags: ['backfill'], limit: 10 });
  assert.deepEqual(backfills.runs.map((r) => r.runId), ['fin-24', 'fin-12', 'fin-0']);
  const both = await store.listRuns({ projects: ['finance', 'marketing'], tags: ['production'], limit: 3 });
  assert.deepEqual(both.runs.map((r) => r.runId), ['mkt-35', 'mkt-34', 'mkt-33']);
  const merged = await store.listRuns({ projects: ['marketing', 'finance'], limit: 7 });
  assert.deepEqual(merged.runs.map((r) => r.runId), ['mkt-35', 'mkt-34', 'mkt-33', 'mkt-32', 'mkt-31', 'fin-30', 'mkt-29'], 'two projects merged newest first');
  assert.deepEqual((await store.getRun('fin-12'))?.tags, ['finance', 'backfill']);

  // Retention removes a run from every index it is in.
  now += 400 * 86_400_000;
  await store.purgeOlderThan(90);
  assert.deepEqual((await store.listRuns({ projects: ['finance'], limit: 10 })).runs, []);
  assert.deepEqual((await store.listRuns({ tags: ['backfill'], limit: 10 })).runs, []);
});

test('an upgraded store: runs recorded before projects are listed at once, and by project once their index rows are written (one-off, repeatable)', async () => {
  const tables = createRunStoreTables({ connectionString: azurite.connectionString }, `upg${process.pid}`);
  await Promise.all([ensureTable(tables.index), ensureTable(tables.runs)]);
  // What an earlier version left: the months in `meta` (no layout), one all-runs row per run in RunIndex, run rows without project or tags.
  const old = (i: number): RunRecord => {
    const createdAt = new Date(Date.parse('2026-10-30T00:00:00Z') + i * 86_400_000).toISOString();
    return { runId: `old-${i}`, pipeline: i % 2 === 0 ? 'finance-daily' : 'marketing-daily', status: 'succeeded', trigger: { kind: 'schedule', origin: 'nightly', scheduledFor: createdAt }, parameters: {}, createdAt };
  };
  const runs = Array.from({ length: 4 }, (_, i) => old(i));
  await tables.index.createEntity({ partitionKey: 'meta', rowKey: '', oldest: '202610', newest: '202611' });
  for (const run of runs) {
    const ms = Date.parse(run.createdAt);
    await tables.index.createEntity({ partitionKey: indexPartition(monthBucket(ms)), rowKey: indexRowKey(ms, run.runId), runId: run.runId, pipeline: run.pipeline });
    await tables.runs.createEntity({ partitionKey: run.runId, rowKey: 'run', ...runProps(run) });
  }
  let now = Date.parse('2026-11-05T00:00:00Z');
  const store = createRunStore({ tables, now: () => new Date(now) });
  // A run recorded by this version beside them.
  await store.record({ runId: 'new-1', pipeline: 'finance-daily', start: { root: true, trigger: { kind: 'manual' }, parameters: {}, project: 'finance', tags: ['finance'] } });

  const all = ['new-1', 'old-3', 'old-2', 'old-1', 'old-0'];
  assert.deepEqual((await store.listRuns({ limit: 10 })).runs.map((r) => r.runId), all, 'every run listed before the backfill');
  assert.deepEqual((await store.listRuns({ projects: ['finance'], limit: 10 })).runs.map((r) => r.runId), ['new-1'], 'not indexed by project yet');

  const labelsOf = (run: RunRecord) => ({ project: run.pipeline.split('-')[0]!, tags: [run.pipeline.split('-')[0]!, 'nightly'] });
  assert.deepEqual(await store.backfillLabels(labelsOf), { runs: 4, alreadyDone: false });
  assert.deepEqual((await store.listRuns({ projects: ['finance'], limit: 10 })).runs.map((r) => r.runId), ['new-1', 'old-2', 'old-0']);
  assert.deepEqual((await store.listRuns({ tags: ['nightly'], limit: 10 })).runs.map((r) => r.runId), ['old-3', 'old-2', 'old-1', 'old-0']);
  assert.deepEqual((await store.getRun('old-1'))?.project, 'marketing', 'the run row names its project');
  assert.deepEqual((await store.listRuns({ limit: 10 })).runs.map((r) => r.runId), all, 'each run once (copied, the first table still holds it)');
  const paged = await store.listRuns({ limit: 2 });
  assert.deepEqual((await store.listRuns({ limit: 10, ...(paged.nextCursor ? { cursor: paged.nextCursor } : {}) })).runs.map((r) => r.runId), all.slice(2));
  assert.deepEqual(await store.backfillLabels(labelsOf), { runs: 0, alreadyDone: true }, 'once per store');

  // Retention deletes both copies.
  now += 400 * 86_400_000;
  await store.purgeOlderThan(90);
  assert.deepEqual((await store.listRuns({ limit: 10 })).runs, []);
  assert.equal((await tables.index.listEntities({ queryOptions: { filter: "PartitionKey ge 'a~' and PartitionKey lt 'a~~'" } }).next()).done, true, 'the first table keeps no all-runs row');
});
