/**
 * The run store against real Azurite: what the API, the scheduler and activities rely on.
 * Each test gets its own table prefix, so tests do not see each other's rows.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startAzurite, type AzuriteInstance } from '../../src/standins/azurite';
import { createRunStore, InvalidCursorError, type TableRunStore } from '../../src/runs/tableStore';
import { createRunStoreTables } from '../../src/runs/tables';
import type { RunRecord } from '../../src/runs/recorder';
import type { SlotEntry, SchedulerStore } from '../../src/scheduler/ports';
import type { HealthCheck, IdempotencyKeys, RunQueries, ScheduleControl } from '../../src/api/ports';

// The store is what the API and the scheduler are wired to: a compile-time check of the contracts.
type Implements<T extends RunQueries & ScheduleControl & IdempotencyKeys & HealthCheck & SchedulerStore> = T;
export type StoreFitsPorts = Implements<TableRunStore>;

let azurite: AzuriteInstance;
let counter = 0;

before(async () => {
  azurite = await startAzurite({ blob: false });
});
after(async () => {
  await azurite.stop();
});

function freshStore(options: { maxLogLinesPerRun?: number; now?: () => Date } = {}): TableRunStore {
  counter += 1;
  const tables = createRunStoreTables({ connectionString: azurite.connectionString }, `t${counter}x${process.pid}`);
  return createRunStore({ tables, ...options });
}

const iso = (ms: number): string => new Date(ms).toISOString();
const T0 = Date.parse('2026-10-01T00:00:00Z');

async function seedRuns(store: TableRunStore, pipeline: string, count: number, opts: { stepMs?: number; start?: number; status?: RunRecord['status'] } = {}): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const runId = `${pipeline}-run-${String(i).padStart(3, '0')}`;
    ids.push(runId);
    await store.upsertRun({ runId, pipeline, status: opts.status ?? 'succeeded', createdAt: iso((opts.start ?? T0) + i * (opts.stepMs ?? 3_600_000)), trigger: { kind: 'manual' }, parameters: {} });
  }
  return ids;
}

describe('run recorder semantics', () => {
  test('a terminal status wins even when an older "running" write arrives later', async () => {
    const store = freshStore();
    await store.upsertRun({ runId: 'r1', pipeline: 'sales', status: 'pending', createdAt: iso(T0) });
    await store.upsertRun({ runId: 'r1', pipeline: 'sales', status: 'succeeded', endedAt: iso(T0 + 60_000), durationSeconds: 60 });
    await store.upsertRun({ runId: 'r1', pipeline: 'sales', status: 'running', startedAt: iso(T0 + 1_000) });
    const run = await store.getRun('r1');
    assert.equal(run?.status, 'succeeded');
    assert.equal(run?.endedAt, iso(T0 + 60_000));
    // The stale write may fill what was missing, never overwrite.
    assert.equal(run?.startedAt, iso(T0 + 1_000));
    assert.deepEqual((await store.listRuns({ status: 'running', limit: 10 })).runs, []);
    assert.deepEqual((await store.listRuns({ status: 'succeeded', limit: 10 })).runs.map((r) => r.runId), ['r1']);
  });

  test('concurrent status writes end terminal, listed under one status only', async () => {
    const store = freshStore();
    await store.upsertRun({ runId: 'r2', pipeline: 'sales', status: 'pending', createdAt: iso(T0) });
    await Promise.all([
      store.upsertRun({ runId: 'r2', pipeline: 'sales', status: 'running' }),
      store.upsertRun({ runId: 'r2', pipeline: 'sales', status: 'failed', error: { class: 'permanent', message: 'boom', stepId: 'load' } }),
      store.upsertRun({ runId: 'r2', pipeline: 'sales', status: 'running' }),
    ]);
    const run = await store.getRun('r2');
    assert.equal(run?.status, 'failed');
    assert.equal(run?.error?.stepId, 'load');
    for (const status of ['pending', 'running', 'failed'] as const) {
      const ids = (await store.listRuns({ status, limit: 10 })).runs.map((r) => r.runId);
      assert.deepEqual(ids, status === 'failed' ? ['r2'] : []);
    }
  });

  test('two first writes racing with different clocks leave one run, listed once', async () => {
    const store = freshStore();
    await Promise.all([
      store.upsertRun({ runId: 'r-race', pipeline: 'dag', status: 'running', createdAt: iso(T0) }),
      store.upsertRun({ runId: 'r-race', pipeline: 'dag', status: 'running', createdAt: iso(T0 + 7) }),
      store.upsertRun({ runId: 'r-race', pipeline: 'dag', status: 'running', createdAt: iso(T0 + 9) }),
    ]);
    const run = await store.getRun('r-race');
    assert.equal(run?.status, 'running');
    assert.deepEqual((await store.listRuns({ pipeline: 'dag', limit: 10 })).runs.map((r) => [r.runId, r.createdAt]), [['r-race', run?.createdAt]]);
    assert.deepEqual((await store.listRuns({ pipeline: 'dag', limit: 10, since: iso(T0 - 1) })).runs.map((r) => r.runId), ['r-race']);
    assert.deepEqual((await store.listRuns({ status: 'running', limit: 10 })).runs.map((r) => r.runId), ['r-race']);
    assert.deepEqual((await store.listRuns({ limit: 10 })).runs.map((r) => r.runId), ['r-race']);
  });

  test('metrics merge per step; parameters and trigger survive later writes', async () => {
    const store = freshStore();
    await store.upsertRun({ runId: 'r3', pipeline: 'sales', status: 'running', createdAt: iso(T0), parameters: { day: '2026-10-01' }, trigger: { kind: 'schedule', origin: 'daily', scheduledFor: iso(T0) } });
    await store.upsertRun({ runId: 'r3', pipeline: 'sales', metrics: { load: { rows_loaded: 10 } } });
    await store.upsertRun({ runId: 'r3', pipeline: 'sales', metrics: { transform: { models_passed: 4 } } });
    const run = await store.getRun('r3');
    assert.deepEqual(run?.metrics, { load: { rows_loaded: 10 }, transform: { models_passed: 4 } });
    assert.deepEqual(run?.parameters, { day: '2026-10-01' });
    assert.deepEqual(run?.trigger, { kind: 'schedule', origin: 'daily', scheduledFor: iso(T0) });
  });

  test('the same attempt recorded twice is one row; a late "running" does not undo "succeeded"', async () => {
    const store = freshStore();
    const base = { runId: 'r4', pipeline: 'sales', stepId: 'export', attempt: 1, startedAt: iso(T0) } as const;
    await store.recordAttempt({ ...base, status: 'running' });
    await store.recordAttempt({ ...base, status: 'running' });
    await store.recordAttempt({ ...base, status: 'succeeded', endedAt: iso(T0 + 5_000), metrics: { files: 3 } });
    await store.recordAttempt({ ...base, status: 'running' });
    await store.recordAttempt({ ...base, stepId: 'load', status: 'failed', error: { class: 'transient', message: 'warehouse resuming' } });
    await store.recordAttempt({ ...base, stepId: 'load', attempt: 2, status: 'succeeded' });
    const attempts = await store.getAttempts('r4');
    assert.deepEqual(attempts.map((a) => [a.stepId, a.attempt, a.status]), [['export', 1, 'succeeded'], ['load', 1, 'failed'], ['load', 2, 'succeeded']]);
    assert.deepEqual(attempts[0]?.metrics, { files: 3 });
    assert.equal(attempts[1]?.error?.message, 'warehouse resuming');
  });

  test('a huge error message or output is stored truncated, not refused', async () => {
    const store = freshStore();
    const big = 'x'.repeat(200_000);
    await store.upsertRun({ runId: 'r5', pipeline: 'sales', status: 'failed', createdAt: iso(T0), error: { class: 'permanent', message: big } });
    await store.recordAttempt({ runId: 'r5', pipeline: 'sales', stepId: 's', attempt: 1, status: 'failed', startedAt: iso(T0), output: { blob: big } });
    const run = await store.getRun('r5');
    assert.ok(run?.error?.message.includes('[truncated]'));
    assert.ok((run?.error?.message.length ?? 0) < 10_000);
    const [attempt] = await store.getAttempts('r5');
    assert.equal((attempt?.output as { $truncated?: boolean } | undefined)?.$truncated, true);
  });
});

describe('listing runs', () => {
  test('by pipeline, newest first, paged with a cursor across months', async () => {
    const store = freshStore();
    // 30 runs, 2 days apart: two months of index partitions.
    const ids = await seedRuns(store, 'sales', 30, { stepMs: 2 * 86_400_000 });
    await seedRuns(store, 'other', 3);
    const expected = [...ids].reverse();
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await store.listRuns({ pipeline: 'sales', limit: 4, ...(cursor ? { cursor } : {}) });
      seen.push(...page.runs.map((r) => r.runId));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor && pages < 20);
    assert.deepEqual(seen, expected);
    const latest = await store.listRuns({ pipeline: 'sales', limit: 3 });
    assert.deepEqual(latest.runs.map((r) => r.runId), expected.slice(0, 3));
    assert.equal(latest.runs[0]?.pipeline, 'sales');
  });

  test('a small pipeline lists completely, without a cursor', async () => {
    const store = freshStore();
    const ids = await seedRuns(store, 'tiny', 3);
    const page = await store.listRuns({ pipeline: 'tiny', limit: 10 });
    assert.deepEqual(page.runs.map((r) => r.runId), [...ids].reverse());
    assert.equal(page.nextCursor, undefined);
    assert.deepEqual((await store.listRuns({ pipeline: 'nothing-here', limit: 10 })).runs, []);
  });

  test('by status, narrowed to a pipeline, and across all pipelines by time', async () => {
    const store = freshStore();
    await seedRuns(store, 'a', 4, { start: T0 });
    await seedRuns(store, 'b', 4, { start: T0 + 1_800_000 });
    await store.upsertRun({ runId: 'a-run-001', pipeline: 'a', status: 'running' }); // ignored: terminal
    await store.upsertRun({ runId: 'live', pipeline: 'b', status: 'running', createdAt: iso(T0 + 10 * 3_600_000) });
    assert.deepEqual((await store.listRuns({ status: 'running', limit: 10 })).runs.map((r) => r.runId), ['live']);
    assert.deepEqual((await store.listRuns({ status: 'running', pipeline: 'a', limit: 10 })).runs, []);
    const succeededB = await store.listRuns({ status: 'succeeded', pipeline: 'b', limit: 10 });
    assert.deepEqual(succeededB.runs.map((r) => r.runId), ['b-run-003', 'b-run-002', 'b-run-001', 'b-run-000']);

    // since inclusive (a-run-001 at exactly +1 h), until exclusive (a-run-003 at +3 h), newest first.
    const window = await store.listRuns({ since: iso(T0 + 3_600_000), until: iso(T0 + 3 * 3_600_000), limit: 10 });
    assert.deepEqual(window.runs.map((r) => r.runId), ['b-run-002', 'a-run-002', 'b-run-001', 'a-run-001']);
    const all: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.listRuns({ limit: 3, ...(cursor ? { cursor } : {}) });
      all.push(...page.runs.map((r) => r.runId));
      cursor = page.nextCursor;
    } while (cursor);
    assert.equal(all.length, 9);
    assert.equal(all[0], 'live');
    assert.equal(new Set(all).size, 9);
  });

  test('a cursor the store did not issue is refused', async () => {
    const store = freshStore();
    await assert.rejects(store.listRuns({ limit: 5, cursor: 'not-a-cursor' }), InvalidCursorError);
    await assert.rejects(store.getLogs('r', { after: 'x', limit: 5 }), InvalidCursorError);
  });

  test('the health check reaches storage, and says so when it cannot', async () => {
    assert.deepEqual(await freshStore().check(), { ok: true });
    const down = createRunStore({
      tables: createRunStoreTables({ connectionString: azurite.connectionString.replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:9') }, 'down', { retryOptions: { maxRetries: 0 } }),
    });
    const health = await down.check();
    assert.equal(health.ok, false);
    assert.ok(health.detail);
  });
});

describe('one write per activity execution (record)', () => {
  const trigger = { kind: 'schedule' as const, origin: 'daily', scheduledFor: iso(T0) };
  const start = (root: boolean) => ({ root, trigger, parameters: { day: '2026-10-01' } });
  const attempt = (stepId: string, status: 'running' | 'succeeded' | 'failed') => ({ runId: 'w1', pipeline: 'sales', stepId, attempt: 1, status, startedAt: iso(T0) });
  const line = (msg: string) => ({ time: iso(T0), level: 'info' as const, msg });

  test('a run started, stepped and finished through record reads like one written field by field', async () => {
    const store = freshStore();
    await store.record({ runId: 'w1', pipeline: 'sales', start: start(true), attempts: [attempt('export', 'running')], lines: [line('export started')] });
    const running = await store.getRun('w1');
    assert.equal(running?.status, 'running');
    assert.deepEqual(running?.trigger, trigger);
    assert.deepEqual((await store.listRuns({ status: 'running', limit: 5 })).runs.map((r) => r.runId), ['w1']);
    await store.record({ runId: 'w1', pipeline: 'sales', attempts: [attempt('export', 'succeeded')], lines: [line('export succeeded')] });
    await store.record({ runId: 'w1', pipeline: 'sales', start: start(false), attempts: [attempt('load', 'succeeded')], lines: [line('load started'), line('load succeeded')] });
    await store.record({ runId: 'w1', pipeline: 'sales', finish: { status: 'succeeded', endedAt: iso(T0 + 60_000), metrics: { load: { rows_loaded: 5 } } }, lines: [line('run succeeded')] });
    const run = await store.getRun('w1');
    assert.equal(run?.status, 'succeeded');
    assert.deepEqual(run?.metrics, { load: { rows_loaded: 5 } });
    assert.deepEqual(run?.parameters, { day: '2026-10-01' });
    assert.deepEqual((await store.getAttempts('w1')).map((a) => [a.stepId, a.status]), [['export', 'succeeded'], ['load', 'succeeded']]);
    assert.deepEqual((await store.getLogs('w1', { limit: 10 })).lines.map((l) => l.msg), ['export started', 'export succeeded', 'load started', 'load succeeded', 'run succeeded']);
    assert.deepEqual((await store.listRuns({ pipeline: 'sales', status: 'succeeded', limit: 5 })).runs.map((r) => r.runId), ['w1']);
    assert.deepEqual((await store.listRuns({ status: 'running', limit: 5 })).runs, []);
  });

  test('a retried start after the end, or a late "running" attempt, undoes nothing and lists the run once', async () => {
    const store = freshStore();
    await store.record({ runId: 'w1', pipeline: 'sales', start: start(true), attempts: [attempt('export', 'succeeded')] });
    const createdAt = (await store.getRun('w1'))?.createdAt;
    await store.record({ runId: 'w1', pipeline: 'sales', finish: { status: 'failed', error: { class: 'permanent', message: 'boom' } } });
    await store.record({ runId: 'w1', pipeline: 'sales', start: start(true), attempts: [attempt('export', 'running')], lines: [line('retried')] });
    const run = await store.getRun('w1');
    assert.equal(run?.status, 'failed');
    assert.equal(run?.createdAt, createdAt);
    assert.deepEqual((await store.getAttempts('w1')).map((a) => a.status), ['succeeded']);
    assert.deepEqual((await store.listRuns({ limit: 5 })).runs.map((r) => r.runId), ['w1']);
    assert.deepEqual((await store.getLogs('w1', { limit: 5 })).lines.map((l) => l.msg), ['retried'], 'the retried execution\'s line is kept');
  });

  test('the first end wins: a second finish with another status keeps the first', async () => {
    const store = freshStore();
    await store.record({ runId: 'w1', pipeline: 'sales', start: start(true) });
    await store.record({ runId: 'w1', pipeline: 'sales', finish: { status: 'cancelled' } });
    await store.record({ runId: 'w1', pipeline: 'sales', finish: { status: 'succeeded' } });
    assert.equal((await store.getRun('w1'))?.status, 'cancelled');
  });

  test('a run whose first started step is not a root (rerun from a failed step) is still created and listed', async () => {
    const store = freshStore();
    await store.record({ runId: 'w1', pipeline: 'sales', start: start(false), attempts: [attempt('load', 'running')] });
    assert.equal((await store.getRun('w1'))?.status, 'running');
    assert.deepEqual((await store.listRuns({ pipeline: 'sales', limit: 5 })).runs.map((r) => r.runId), ['w1']);
  });

  test('parallel root steps starting together leave one run, listed once', async () => {
    const store = freshStore();
    await Promise.all(['a', 'b', 'c'].map((stepId) => store.record({ runId: 'w1', pipeline: 'dag', start: start(true), attempts: [attempt(stepId, 'running')] })));
    assert.deepEqual((await store.listRuns({ pipeline: 'dag', limit: 5 })).runs.map((r) => r.runId), ['w1']);
    assert.deepEqual((await store.listRuns({ limit: 5 })).runs.map((r) => r.runId), ['w1']);
    assert.equal((await store.getAttempts('w1')).length, 3);
  });
});

describe('logs', () => {
  test('appended in order, read after a cursor, bounded per run with a drop count', async () => {
    const store = freshStore({ maxLogLinesPerRun: 150 });
    const line = (i: number) => ({ time: iso(T0 + i), level: 'info' as const, msg: `line ${i}`, stepId: 'load', fields: { row_count: i } });
    await store.appendLogs('r-logs', Array.from({ length: 120 }, (_, i) => line(i + 1)));
    await Promise.all([
      store.appendLogs('r-logs', [line(121), line(122)]),
      store.appendLogs('r-logs', [line(123)]),
    ]);
    const first = await store.getLogs('r-logs', { limit: 100 });
    assert.equal(first.lines.length, 100);
    assert.equal(first.lines[0]?.msg, 'line 1');
    assert.deepEqual(first.lines[0]?.fields, { row_count: 1 });
    const second = await store.getLogs('r-logs', { after: first.nextCursor, limit: 100 });
    assert.equal(second.lines.length, 23);
    assert.deepEqual(second.lines.slice(0, 20).map((l) => l.msg), Array.from({ length: 20 }, (_, i) => `line ${i + 101}`));
    assert.deepEqual(new Set(second.lines.slice(20).map((l) => l.msg)), new Set(['line 121', 'line 122', 'line 123']));
    // Cursors are opaque, unique and in read order: follow resumes exactly after the last line.
    const cursors = [...first.lines, ...second.lines].map((l) => l.cursor);
    assert.equal(new Set(cursors).size, 123);
    assert.deepEqual(cursors, [...cursors].sort());

    const tail = await store.getLogs('r-logs', { after: second.nextCursor, limit: 100 });
    assert.deepEqual(tail.lines, []);
    assert.equal(tail.nextCursor, second.nextCursor, 'follow keeps its place when nothing is new');

    await store.appendLogs('r-logs', Array.from({ length: 40 }, (_, i) => line(200 + i)));
    const rest = await store.getLogs('r-logs', { after: second.nextCursor, limit: 100 });
    assert.equal(rest.lines.length, 27);
    assert.equal(rest.dropped, 13);
  });
});

describe('schedules', () => {
  const entry = (slot: string, outcome: SlotEntry['outcome'] = 'starting'): SlotEntry => ({
    pipeline: 'sales', schedule: 'daily', slot, local: slot, scheduledLocal: slot.slice(0, 19), dst: null, outcome,
    lateBySeconds: 0, attempts: 0, recordedAt: slot, updatedAt: slot,
  });

  test('a slot is claimed once; of two concurrent claims exactly one wins', async () => {
    const store = freshStore();
    assert.equal(await store.claimSlot(entry('2026-11-26T02:00:00Z')), true);
    assert.equal(await store.claimSlot(entry('2026-11-26T02:00:00Z', 'fired')), false);
    const results = await Promise.all(Array.from({ length: 5 }, () => store.claimSlot(entry('2026-11-27T02:00:00Z'))));
    assert.equal(results.filter(Boolean).length, 1);
    const ledger = await store.listSlots('sales', 'daily');
    assert.deepEqual(ledger.map((s) => [s.slot, s.outcome]), [['2026-11-26T02:00:00Z', 'starting'], ['2026-11-27T02:00:00Z', 'starting']]);
  });

  test('transitions are compare-and-set and keep the pending list in step', async () => {
    const store = freshStore();
    await store.claimSlot(entry('2026-11-26T02:00:00Z'));
    await store.claimSlot(entry('2026-11-26T03:00:00Z', 'queued'));
    await store.claimSlot(entry('2026-11-26T04:00:00Z', 'skipped-paused'));
    assert.deepEqual((await store.listPendingSlots('sales', 'daily')).map((s) => s.slot), ['2026-11-26T02:00:00Z', '2026-11-26T03:00:00Z']);
    const race = await Promise.all([
      store.transitionSlot('sales', 'daily', '2026-11-26T02:00:00Z', 'starting', { outcome: 'fired', instanceId: 'run-a' }),
      store.transitionSlot('sales', 'daily', '2026-11-26T02:00:00Z', 'starting', { outcome: 'fired', instanceId: 'run-b' }),
    ]);
    assert.equal(race.filter(Boolean).length, 1);
    assert.equal(await store.transitionSlot('sales', 'daily', '2026-11-26T03:00:00Z', 'starting', { outcome: 'fired' }), false);
    assert.equal(await store.transitionSlot('sales', 'daily', '2026-11-26T03:00:00Z', 'queued', { outcome: 'start-failed', attempts: 1, reason: '503' }), true);
    const pending = await store.listPendingSlots('sales', 'daily');
    assert.deepEqual(pending.map((s) => [s.slot, s.outcome, s.reason]), [['2026-11-26T03:00:00Z', 'start-failed', '503']]);
    const window = await store.listSlots('sales', 'daily', { since: '2026-11-26T03:00:00Z', until: '2026-11-26T04:00:00Z' });
    assert.deepEqual(window.map((s) => s.slot), ['2026-11-26T03:00:00Z']);
  });

  test('pause and resume leave the checkpoint alone; a stale checkpoint write loses', async () => {
    const store = freshStore();
    assert.deepEqual(await store.getScheduleState('sales', 'daily'), { paused: false });
    assert.equal(await store.setCheckpoint('sales', 'daily', '2026-11-26T02:00:00Z', undefined), true);
    assert.equal(await store.setCheckpoint('sales', 'daily', '2026-11-26T02:00:00Z', undefined), false);
    const state = await store.getScheduleState('sales', 'daily');
    await store.setPaused('sales', 'daily', true, 'ops@example.com');
    assert.equal(await store.isPaused('sales', 'daily'), true);
    assert.equal(await store.setCheckpoint('sales', 'daily', '2026-11-27T02:00:00Z', state.etag), false);
    const paused = await store.getScheduleState('sales', 'daily');
    assert.equal(paused.checkpoint, '2026-11-26T02:00:00Z');
    assert.equal(await store.setCheckpoint('sales', 'daily', '2026-11-27T02:00:00Z', paused.etag), true);
    await store.setPaused('sales', 'daily', false);
    const resumed = await store.getScheduleState('sales', 'daily');
    assert.equal(resumed.paused, false);
    assert.equal(resumed.checkpoint, '2026-11-27T02:00:00Z');
  });
});

describe('idempotency keys and retention', () => {
  test('the first claim of a key wins, concurrent claims agree on one run', async () => {
    const store = freshStore();
    assert.equal(await store.claim('sales', 'nightly/2026-11-26', 'run-1'), 'run-1');
    assert.equal(await store.claim('sales', 'nightly/2026-11-26', 'run-2'), 'run-1');
    assert.equal(await store.claim('other', 'nightly/2026-11-26', 'run-3'), 'run-3');
    const winners = await Promise.all(['a', 'b', 'c'].map((id) => store.claimIdempotencyKey('sales', 'k2', id)));
    assert.equal(new Set(winners).size, 1);
  });

  test('purge deletes old runs with their attempts, logs, index rows, keys and slots, and names them', async () => {
    const now = Date.parse('2026-11-26T12:00:00Z');
    const store = freshStore({ now: () => new Date(now) });
    const day = 86_400_000;
    await store.upsertRun({ runId: 'old', pipeline: 'sales', status: 'succeeded', createdAt: iso(now - 100 * day) });
    await store.upsertRun({ runId: 'old-failed', pipeline: 'sales', status: 'running', createdAt: iso(now - 95 * day) });
    await store.upsertRun({ runId: 'old-failed', pipeline: 'sales', status: 'failed' });
    await store.upsertRun({ runId: 'new', pipeline: 'sales', status: 'succeeded', createdAt: iso(now - 10 * day) });
    await store.recordAttempt({ runId: 'old', pipeline: 'sales', stepId: 'export', attempt: 1, status: 'succeeded', startedAt: iso(now - 100 * day) });
    await store.appendLogs('old', [{ time: iso(now - 100 * day), level: 'info', msg: 'hello' }]);
    await store.claim('sales', 'old-key', 'old');
    await store.claimSlot({ pipeline: 'sales', schedule: 'daily', slot: iso(now - 100 * day), local: '', scheduledLocal: '', dst: null, outcome: 'fired', lateBySeconds: 0, attempts: 1, recordedAt: '', updatedAt: '' });
    await store.claimSlot({ pipeline: 'sales', schedule: 'daily', slot: iso(now - 1 * day), local: '', scheduledLocal: '', dst: null, outcome: 'fired', lateBySeconds: 0, attempts: 1, recordedAt: '', updatedAt: '' });

    const result = await store.purgeOlderThan(90, { schedules: [{ pipeline: 'sales', schedule: 'daily' }] });
    assert.deepEqual([...result.runIds].sort(), ['old', 'old-failed']);
    assert.equal(result.slotsDeleted, 1);
    assert.equal(await store.getRun('old'), undefined);
    assert.deepEqual(await store.getAttempts('old'), []);
    assert.deepEqual((await store.getLogs('old', { limit: 10 })).lines, []);
    assert.deepEqual((await store.listRuns({ pipeline: 'sales', limit: 10 })).runs.map((r) => r.runId), ['new']);
    assert.deepEqual((await store.listRuns({ status: 'failed', limit: 10 })).runs, []);
    assert.deepEqual((await store.listRuns({ limit: 10, since: iso(now - 365 * day) })).runs.map((r) => r.runId), ['new']);
    assert.equal(await store.claim('sales', 'old-key', 'fresh'), 'fresh', 'the purged run no longer holds its key');
    assert.equal((await store.listSlots('sales', 'daily')).length, 1);
    assert.deepEqual((await store.purgeOlderThan(90)).runIds, []);
  });
});

describe('run records the API creates, and what activities check against them', () => {
  test('a start records the run once, pending, with its attribution and definition; the gate reads it and the cancel in one query', async () => {
    const store = freshStore();
    const run = { runId: 'gate-1', pipeline: 'sales', trigger: { kind: 'manual' as const, origin: 'api', requestedAt: iso(T0), by: 'user:ada' }, parameters: { day: '2026-10-01' }, definitionVersion: 'sha256:v1' };
    assert.equal(await store.createPendingRun(run), true);
    assert.equal(await store.createPendingRun({ ...run, trigger: { ...run.trigger, by: 'user:mallory' } }), false, 'a second start keeps the first record');
    const gate = await store.findRunGate('gate-1');
    assert.equal(gate.record?.status, 'pending');
    assert.deepEqual(gate.record?.trigger, run.trigger);
    assert.deepEqual(gate.record?.parameters, run.parameters);
    assert.equal(gate.record?.definitionVersion, 'sha256:v1');
    assert.equal(gate.cancelRequestedAt, undefined);
    await store.claimCancel('gate-1', iso(T0 + 1000));
    assert.equal((await store.findRunGate('gate-1')).cancelRequestedAt, iso(T0 + 1000));
    assert.deepEqual(await store.findRunGate('nobody'), {});
    // The first step's attempt marks it running (one transaction over the record the API wrote).
    await store.record({ runId: 'gate-1', pipeline: 'sales', start: { root: true, trigger: run.trigger, parameters: run.parameters }, attempts: [] });
    assert.equal((await store.getRun('gate-1'))?.status, 'running');
    assert.equal((await store.getRun('gate-1'))?.trigger.by, 'user:ada');
  });

  test('an abandoned attempt stands over a running row; over an answer already recorded, the answer stays, marked late', async () => {
    const store = freshStore();
    const base = { runId: 'late-1', pipeline: 'sales', stepId: 'export', startedAt: iso(T0) };
    await store.recordAttempt({ ...base, attempt: 1, status: 'running' });
    await store.record({ runId: 'late-1', pipeline: 'sales', abandoned: [{ ...base, attempt: 1, status: 'cancelled', startedAt: iso(T0 + 500), endedAt: iso(T0 + 9000), error: { class: 'cancelled', message: 'run cancelled', code: 'run-cancelled' } }] });
    await store.recordAttempt({ ...base, attempt: 2, status: 'succeeded', endedAt: iso(T0 + 12_000) });
    await store.record({ runId: 'late-1', pipeline: 'sales', abandoned: [{ ...base, attempt: 2, status: 'cancelled', endedAt: iso(T0 + 9000), error: { class: 'cancelled', message: 'run cancelled', code: 'run-cancelled' } }] });
    const [first, second] = await store.getAttempts('late-1');
    assert.deepEqual([first?.status, first?.startedAt, first?.endedAt, first?.finishedAfterEnd], ['cancelled', iso(T0), iso(T0 + 9000), undefined]);
    assert.deepEqual([second?.status, second?.endedAt, second?.finishedAfterEnd], ['succeeded', iso(T0 + 12_000), true]);
  });
});

describe('a status filter does bounded work per request (red-team pass 2, F4)', () => {
  test('250 runs, one cancelled (the oldest): each page examines at most the scan budget and answers partial with a cursor; following the cursors finds it', async () => {
    const { RUN_SCAN_BUDGET } = await import('../../src/runs/tableStore');
    const store = freshStore();
    await seedRuns(store, 'sales', 1, { status: 'cancelled', start: T0 - 86_400_000 });
    await seedRuns(store, 'sales', 250, { stepMs: 60_000 });
    const first = await store.listRuns({ status: 'cancelled', limit: 1 });
    assert.deepEqual(first.runs, []);
    assert.equal(first.partial, true);
    assert.ok(first.nextCursor);
    let cursor: string | undefined = first.nextCursor;
    let pages = 1;
    let found: string[] = [];
    while (cursor && found.length === 0) {
      const page = await store.listRuns({ status: 'cancelled', limit: 1, cursor });
      found = page.runs.map((r) => r.runId);
      cursor = page.nextCursor;
      pages++;
    }
    assert.deepEqual(found, ['sales-run-000']);
    assert.equal(pages, Math.ceil(251 / RUN_SCAN_BUDGET), 'one page per budget of runs examined');
    // Without a status filter the index answers alone: a full page, never partial.
    const plain = await store.listRuns({ limit: 5 });
    assert.equal(plain.runs.length, 5);
    assert.equal(plain.partial, undefined);
  });
});
