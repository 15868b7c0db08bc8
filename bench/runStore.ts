/**
 * Run store benchmark, against a real Azurite:
 * 1. Table operations (HTTP requests, retries included) a seed-like run costs: 3 steps with one
 *    attempt each and a few log lines, written the way the step activities write them.
 * 2. "Latest 20 runs of a pipeline" with 100 runs stored vs 100,000, measured alternately; the
 *    ratio should stay near 1 (target ≤ 1.5) because the read does not depend on history size.
 *    Also the next page (cursor → index range query), reported as is.
 */
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { TableTransaction, type TableServiceClientOptions } from '@azure/data-tables';
import { startAzurite } from '../src/standins/azurite';
import { createRunStore, type TableRunStore } from '../src/runs/tableStore';
import { createRunStoreTables, type RunStoreTables } from '../src/runs/tables';
import { indexPartition, indexRowKey, monthBucket, RUN_ROW } from '../src/runs/keys';
import { runProps } from '../src/runs/entities';
import type { RunRecord } from '../src/runs/recorder';
import { fmt, median } from './stats';

const BIG = 100_000;
const SMALL = 100;
const ROUNDS = 41;
export const INTERVAL_MS = 15 * 60_000;

function counting(): { options: TableServiceClientOptions; count: () => number } {
  let n = 0;
  const policy: PipelinePolicy = {
    name: 'countRequests',
    sendRequest: (request, next) => {
      n += 1;
      return next(request);
    },
  };
  return { options: { additionalPolicies: [{ policy, position: 'perRetry' }] }, count: () => n };
}

/** What the step activities and finishRun write for one run (src/activities/stepActivities.ts). */
async function seedLikeRun(store: TableRunStore, runId: string, count: () => number): Promise<{ steps: number[]; finish: number }> {
  const trigger = { kind: 'schedule', origin: 'production-daily', scheduledFor: '2026-11-26T01:00:00Z' } as const;
  const parameters = { day: '2026-11-25' };
  const steps: number[] = [];
  const t = (s: number): string => new Date(Date.parse('2026-11-26T01:00:00Z') + s * 1000).toISOString();
  for (const [i, stepId] of ['export', 'load', 'transform'].entries()) {
    const before = count();
    await store.upsertRun({ runId, pipeline: 'data-pipeline', status: 'running', trigger, parameters });
    await store.recordAttempt({ runId, pipeline: 'data-pipeline', stepId, attempt: 1, status: 'running', startedAt: t(i * 60) });
    await store.appendLogs(runId, [
      { time: t(i * 60), level: 'info', msg: 'step attempt started', stepId, attempt: 1 },
      { time: t(i * 60 + 30), level: 'info', msg: 'step attempt succeeded', stepId, attempt: 1, fields: { row_count: 1200 } },
    ]);
    await store.recordAttempt({ runId, pipeline: 'data-pipeline', stepId, attempt: 1, status: 'succeeded', startedAt: t(i * 60), endedAt: t(i * 60 + 30), metrics: { rows: 1200 } });
    steps.push(count() - before);
  }
  const before = count();
  await store.upsertRun({
    runId, pipeline: 'data-pipeline', status: 'succeeded', trigger, parameters, startedAt: t(0), endedAt: t(180), durationSeconds: 180, pipelineAttempt: 1,
    metrics: { export: { files: 3 }, load: { rows_loaded: 1200 }, transform: { models_passed: 12 } },
  });
  await store.appendLogs(runId, [{ time: t(180), level: 'info', msg: 'run finished' }]);
  return { steps, finish: count() - before };
}

export function runAt(i: number, start: number): RunRecord {
  const createdAt = new Date(start + i * INTERVAL_MS).toISOString();
  return {
    runId: `bench-${String(i).padStart(6, '0')}`,
    pipeline: 'data-pipeline',
    status: 'succeeded',
    trigger: { kind: 'schedule', origin: 'test-hourly', scheduledFor: createdAt },
    parameters: {},
    createdAt,
    startedAt: createdAt,
    endedAt: createdAt,
    durationSeconds: 180,
    pipelineAttempt: 1,
    metrics: { load: { rows_loaded: 1200 } },
  };
}

async function pool<T>(items: readonly T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/**
 * Stores `count` runs. The oldest and the newest 100 go through `upsertRun` (so the head row and
 * month bounds are the store's own); the rest are written row for row in the store's layout, index
 * rows in batched transactions of 100 per partition, to keep the setup within a couple of minutes.
 */
export async function seed(store: TableRunStore, tables: RunStoreTables, count: number, start: number): Promise<void> {
  const viaStore = new Set([0, ...Array.from({ length: Math.min(100, count) }, (_, k) => count - 1 - k)]);
  const bulk = Array.from({ length: count }, (_, i) => i).filter((i) => !viaStore.has(i));
  await store.upsertRun(runAt(0, start));
  const partitions = new Map<string, { rowKey: string; runId: string; pipeline: string }[]>();
  for (const i of bulk) {
    const run = runAt(i, start);
    const ms = Date.parse(run.createdAt);
    const row = { rowKey: indexRowKey(ms, run.runId), runId: run.runId, pipeline: run.pipeline };
    for (const pk of [indexPartition('pipeline', run.pipeline, monthBucket(ms)), indexPartition('all', '', monthBucket(ms)), indexPartition('status', run.status, monthBucket(ms))]) {
      const rows = partitions.get(pk) ?? [];
      rows.push(row);
      partitions.set(pk, rows);
    }
  }
  const batches: { pk: string; rows: { rowKey: string; runId: string; pipeline: string }[] }[] = [];
  // In key order: Azurite's LokiJS keeps sorted key indexes, and appending at their end is cheap.
  for (const [pk, rows] of [...partitions].sort(([a], [b]) => (a < b ? -1 : 1))) {
    rows.sort((a, b) => (a.rowKey < b.rowKey ? -1 : 1));
    for (let k = 0; k < rows.length; k += 100) batches.push({ pk, rows: rows.slice(k, k + 100) });
  }
  // Run rows (one partition each: no batching possible) and index batches in parallel.
  await Promise.all([
    pool(bulk, 32, async (i) => {
      const run = runAt(i, start);
      await tables.runs.createEntity({ partitionKey: run.runId, rowKey: RUN_ROW, ...runProps(run) });
    }),
    pool(batches, 4, async ({ pk, rows }) => {
      const tx = new TableTransaction();
      for (const r of rows) tx.createEntity({ partitionKey: pk, ...r });
      await tables.index.submitTransaction(tx.actions);
    }),
  ]);
  for (const i of [...viaStore].filter((i) => i !== 0).sort((a, b) => a - b)) await store.upsertRun(runAt(i, start));
}

async function timeMs(work: () => Promise<unknown>): Promise<number> {
  const s = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - s) / 1e6;
}

export async function alternateAsync(rounds: number, a: () => Promise<unknown>, b: () => Promise<unknown>): Promise<{ a: number; b: number; ratio: number }> {
  const as: number[] = [];
  const bs: number[] = [];
  for (let i = 0; i < rounds; i++) {
    if (i % 2 === 0) {
      as.push(await timeMs(a));
      bs.push(await timeMs(b));
    } else {
      bs.push(await timeMs(b));
      as.push(await timeMs(a));
    }
  }
  return { a: median(as), b: median(bs), ratio: median(as) / median(bs) };
}

export async function run(): Promise<string[]> {
  const azurite = await startAzurite({ blob: false });
  const lines: string[] = [];
  try {
    const connection = { connectionString: azurite.connectionString };

    // 1. Operations per run.
    const counter = counting();
    const countedStore = createRunStore({ tables: createRunStoreTables(connection, 'benchops', counter.options) });
    await seedLikeRun(countedStore, 'warm-up', counter.count); // creates the tables, fills the bounds cache
    const ops = await seedLikeRun(countedStore, 'seed-like-run', counter.count);
    const total = ops.steps.reduce((a, b) => a + b, 0) + ops.finish;
    lines.push(`table operations per seed-like run (3 steps × 1 attempt, 7 log lines): ${total} — per step ${ops.steps.join(' / ')}, finish ${ops.finish}`);

    // 2. Latest 20 with 100 vs 100,000 runs stored.
    const end = Date.now();
    const smallTables = createRunStoreTables(connection, 'benchsmall');
    const bigTables = createRunStoreTables(connection, 'benchbig');
    const small = createRunStore({ tables: smallTables });
    const big = createRunStore({ tables: bigTables });
    await Promise.all([small.ready(), big.ready()]);
    const seedStarted = Date.now();
    await seed(small, smallTables, SMALL, end - SMALL * INTERVAL_MS);
    await seed(big, bigTables, BIG, end - BIG * INTERVAL_MS);
    lines.push(`seeded ${SMALL} + ${BIG.toLocaleString('en')} runs in ${fmt((Date.now() - seedStarted) / 1000)} s`);

    const expectLatest = (store: TableRunStore, count: number) => async (): Promise<string | undefined> => {
      const page = await store.listRuns({ pipeline: 'data-pipeline', limit: 20 });
      const want = Array.from({ length: 20 }, (_, k) => runAt(count - 1 - k, 0).runId);
      if (page.runs.map((r) => r.runId).join() !== want.join()) throw new Error(`latest 20 of ${count} runs came back wrong`);
      return page.nextCursor;
    };
    const cursorSmall = await expectLatest(small, SMALL)();
    const cursorBig = await expectLatest(big, BIG)();
    const latest = await alternateAsync(ROUNDS, expectLatest(big, BIG), expectLatest(small, SMALL));
    lines.push(`latest 20 runs of a pipeline: ${fmt(latest.b, 2)} ms with ${SMALL} runs, ${fmt(latest.a, 2)} ms with ${BIG.toLocaleString('en')} → ratio ${fmt(latest.ratio, 2)} (target ≤ 1.5; medians of ${ROUNDS}, alternated)`);

    const nextPage = (store: TableRunStore, cursor: string | undefined, count: number) => async (): Promise<void> => {
      const page = await store.listRuns({ pipeline: 'data-pipeline', limit: 20, ...(cursor ? { cursor } : {}) });
      if (page.runs[0]?.runId !== runAt(count - 21, 0).runId || page.runs.length !== 20) throw new Error(`page 2 of ${count} runs came back wrong`);
    };
    const second = await alternateAsync(ROUNDS, nextPage(big, cursorBig, BIG), nextPage(small, cursorSmall, SMALL));
    lines.push(
      `next 20 (cursor → index range query): ${fmt(second.b, 2)} ms vs ${fmt(second.a, 2)} ms → ratio ${fmt(second.ratio, 2)} ` +
        '(Azurite filters a query over the whole table; Table Storage reads only the range)',
    );
  } finally {
    await azurite.stop();
  }
  return lines;
}
