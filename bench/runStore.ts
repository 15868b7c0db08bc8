/**
 * Run store benchmark, against a real Azurite:
 * 1. What one seed run costs, as the app really does it: the seed pipeline run through the
 *    development host with the real activities (test/support/measureRun.ts), once with every long
 *    job done at its first poll and once at 10 polls; run-store table requests counted by a
 *    pipeline policy on its clients, the rest read from the histories. Written to
 *    src/cost/seed-run.measured.json for `durable-pipelines cost`.
 * 2. "Latest 20 runs of a pipeline" with 100 runs stored vs 100,000, measured alternately; the
 *    ratio should stay near 1 (target ≤ 1.5). Also the next page (cursor), reported as is, and
 *    "latest 20 runs of a project" (one run in 4 is finance's; issue 25), the same way.
 */
import { writeFile } from 'node:fs/promises';
import { TableTransaction } from '@azure/data-tables';
import { startAzurite } from '../src/standins/azurite';
import { createRunStore, type TableRunStore } from '../src/runs/tableStore';
import { createRunStoreTables, ensureTable, type RunStoreTables } from '../src/runs/tables';
import { indexPartition, indexRowKey, monthBucket, projectIndexPartition, RUN_ROW } from '../src/runs/keys';
import { runProps } from '../src/runs/entities';
import type { RunRecord } from '../src/runs/recorder';
import { measureSeedRun } from '../test/support/measureRun';
import { fmt, median } from './stats';

const MEASUREMENT_FILE = 'src/cost/seed-run.measured.json';

const BIG = 100_000;
const SMALL = 100;
const ROUNDS = 41;
export const INTERVAL_MS = 15 * 60_000;

function runAt(i: number, start: number): RunRecord {
  const createdAt = new Date(start + i * INTERVAL_MS).toISOString();
  return {
    runId: `bench-${String(i).padStart(6, '0')}`,
    pipeline: 'data-pipeline',
    // One run in four is the finance project's (the project listing is measured on it).
    project: projectOf(i),
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

const projectOf = (i: number): string => (i % 4 === 0 ? 'finance' : 'default');

async function pool<T>(items: readonly T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/**
 * Stores `count` runs. The oldest and the newest 100 go through `upsertRun` (so the month bounds
 * are the store's own); the rest are written row for row in the store's layout, index rows in
 * batched transactions of 100 per partition, to keep the setup within a couple of minutes.
 */
export async function seed(store: TableRunStore, tables: RunStoreTables, count: number, start: number): Promise<void> {
  const viaStore = new Set([0, ...Array.from({ length: Math.min(100, count) }, (_, k) => count - 1 - k)]);
  const bulk = Array.from({ length: count }, (_, i) => i).filter((i) => !viaStore.has(i));
  await store.upsertRun(runAt(0, start));
  const partitions = new Map<string, { rowKey: string; runId: string; pipeline: string; project: string }[]>();
  for (const i of bulk) {
    const run = runAt(i, start);
    const ms = Date.parse(run.createdAt);
    const row = { rowKey: indexRowKey(ms, run.runId), runId: run.runId, pipeline: run.pipeline, project: projectOf(i) };
    // The all-runs index row (`a~…`) and the project's (`p~…`), in the month's RunIndex<yyyymm>, as the store writes them.
    for (const pk of [indexPartition(monthBucket(ms)), projectIndexPartition(projectOf(i), monthBucket(ms))]) {
      const rows = partitions.get(pk) ?? [];
      rows.push(row);
      partitions.set(pk, rows);
    }
  }
  const batches: { pk: string; rows: { rowKey: string; runId: string; pipeline: string; project: string }[] }[] = [];
  // In key order: Azurite's LokiJS keeps sorted key indexes, and appending at their end is cheap.
  for (const [pk, rows] of [...partitions].sort(([a], [b]) => (a < b ? -1 : 1))) {
    rows.sort((a, b) => (a.rowKey < b.rowKey ? -1 : 1));
    for (let k = 0; k < rows.length; k += 100) batches.push({ pk, rows: rows.slice(k, k + 100) });
  }
  // The month tables, as the store creates them on a month's first run.
  const months = [...new Set(batches.map((b) => b.pk.slice(-6)))];
  await Promise.all(months.map((m) => ensureTable(tables.listing(m))));
  // Run rows (one partition each: no batching possible) and index batches in parallel.
  await Promise.all([
    pool(bulk, 32, async (i) => {
      const run = runAt(i, start);
      await tables.runs.createEntity({ partitionKey: run.runId, rowKey: RUN_ROW, ...runProps(run) });
    }),
    pool(batches, 4, async ({ pk, rows }) => {
      const tx = new TableTransaction();
      for (const r of rows) tx.createEntity({ partitionKey: pk, ...r });
      await tables.listing(pk.slice(-6)).submitTransaction(tx.actions);
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
  const lines: string[] = [];
  // 1. The seed through the real app, at 1 and 10 polls per long job.
  const m = await measureSeedRun();
  await writeFile(MEASUREMENT_FILE, `${JSON.stringify(m, null, 2)}\n`);
  for (const r of m.runs) {
    const byTable = Object.entries(r.tableOperationsByTable).map(([t, n]) => `${t} ${n}`).join(', ');
    lines.push(
      `seed run, ${r.pollsPerJob} poll(s) per long job (polls ${JSON.stringify(r.pollsByStep)}): ${r.tableOperations} run-store table ops (${byTable}; target ≤ ${2 * m.steps + 5 + 3 + 2}: issue 12's + the record and its check, the pinned definition, the project's and one tag's index rows), ` +
        `${r.activityExecutions} activities, ${r.orchestratorExecutions} orchestrator episodes, ${r.timersCreated} timers (${r.timersPendingAtEnd} fire after the end), ` +
        `${r.historyEvents} history events, ${r.keyVaultReads} Key Vault reads (${r.keyVaultReadsColdPolls} when each poll lands on a new instance), ${r.appLogLines} log lines, ${r.runSeconds} s`,
    );
  }
  lines.push(`→ ${MEASUREMENT_FILE}`);

  const azurite = await startAzurite({ blob: false });
  try {
    const connection = { connectionString: azurite.connectionString };

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

    // Issue 25: the latest 20 of one project read that project's own index.
    const expectProject = (store: TableRunStore, count: number) => {
      // Worked out once, outside the timed call: walking `count` indexes here timed the bench, not the store.
      const want = Array.from({ length: count }, (_, k) => count - 1 - k).filter((i) => projectOf(i) === 'finance').slice(0, 20).map((i) => runAt(i, 0).runId).join();
      return async (): Promise<void> => {
        const page = await store.listRuns({ projects: ['finance'], limit: 20 });
        if (page.runs.map((r) => r.runId).join() !== want) throw new Error(`latest 20 finance runs of ${count} came back wrong`);
      };
    };
    await expectProject(small, SMALL)();
    await expectProject(big, BIG)();
    const byProject = await alternateAsync(ROUNDS, expectProject(big, BIG), expectProject(small, SMALL));
    lines.push(`latest 20 runs of a project (1 run in 4): ${fmt(byProject.b, 2)} ms with ${SMALL} runs, ${fmt(byProject.a, 2)} ms with ${BIG.toLocaleString('en')} → ratio ${fmt(byProject.ratio, 2)} (target ≤ 1.5; medians of ${ROUNDS}, alternated)`);

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
