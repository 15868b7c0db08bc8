/**
 * Shared concurrency pools under contention, in virtual time, on the real ledger (Table Storage in
 * Azurite) with the real pool activities and the Durable events they raise: never more holders than
 * slots, first come first served, every slot given back after success, failure, timeout and cancel,
 * a terminated ("crashed") holder's slot reclaimed when its lease runs out, and no deadlock between a
 * run-level pool and a step-level one.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunState } from '../../src/engine';
import type { PoolLedger, Transition } from '../../src/pools/ledger';
import { TablePoolStore, type PoolStore } from '../../src/pools/tableStore';
import { poolSchema, type PoolDefinition } from '../../src/projects/schema';
import { createRunStoreTables } from '../../src/runs/tables';
import { startAzurite, type AzuriteInstance } from '../../src/standins/azurite';
import { pipeline, replayMismatches, startEngineHost, type EngineHost } from './engineHarness';

/** Every ledger the store committed, in commit order. */
class RecordingStore implements PoolStore {
  readonly committed: { pool: string; ledger: PoolLedger }[] = [];
  constructor(private readonly inner: PoolStore) {}
  async change<T>(pool: string, change: (ledger: PoolLedger) => Transition<T>): Promise<Transition<T>> {
    const result = await this.inner.change(pool, change);
    this.committed.push({ pool, ledger: result.ledger });
    return result;
  }
  read(pool: string): Promise<PoolLedger> {
    return this.inner.read(pool);
  }
  ledgers(pool: string): PoolLedger[] {
    return this.committed.filter((c) => c.pool === pool).map((c) => c.ledger);
  }
}

const pools: PoolDefinition[] = [
  { name: 'load-wh', ...poolSchema.parse({ slots: 2, scope: 'step' }) },
  { name: 'single', ...poolSchema.parse({ slots: 1, scope: 'step', lease: '5m' }) },
  { name: 'finance-runs', ...poolSchema.parse({ slots: 1, scope: 'run' }) },
];

function onePool(name: string, stepId: string, pool: string, extra: { timeout?: string; runPools?: string[] } = {}) {
  return pipeline({
    name,
    title: name,
    ...(extra.runPools ? { pools: extra.runPools } : {}),
    steps: [{ id: stepId, kind: 'azureFunction', url: `https://fn.example/api/${stepId}`, pollInterval: '1m', retry: { retries: 0 }, pools: [pool], ...(extra.timeout ? { timeout: extra.timeout } : {}) }],
  });
}

/** The most attempts of `stepIds` overlapping at any instant, across runs. */
function peakOverlap(runs: readonly RunState[], stepIds: readonly string[]): number {
  const edges = runs
    .flatMap((r) => r.steps.filter((s) => stepIds.includes(s.id)).flatMap((s) => s.attempts))
    .flatMap((a) => [[Date.parse(a.startedAt), 1] as const, [Date.parse(a.endedAt ?? a.startedAt), -1] as const])
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let peak = 0;
  for (const [, d] of edges) peak = Math.max(peak, (now += d));
  return peak;
}

/** Order in which claims joined the pool, and the order in which they were granted a slot. */
function joinAndGrantOrder(ledgers: readonly PoolLedger[]): { joined: string[]; granted: string[] } {
  const joined: string[] = [];
  const granted: string[] = [];
  for (const l of ledgers) {
    for (const e of [...l.holders, ...l.waiters]) if (!joined.includes(e.id)) joined.push(e.id);
    for (const h of l.holders) if (!granted.includes(h.id)) granted.push(h.id);
  }
  return { joined, granted };
}

async function customStatus(engine: EngineHost, runId: string): Promise<RunState> {
  return (await engine.host.client.getStatus(runId, { showInput: false })).customStatus as RunState;
}

describe('shared pools', () => {
  let azurite: AzuriteInstance;
  let engine: EngineHost;
  let store: RecordingStore;
  const runLog: { runId: string; msg: string }[] = [];

  before(async () => {
    azurite = await startAzurite({ blob: false });
    store = new RecordingStore(new TablePoolStore(createRunStoreTables({ connectionString: azurite.connectionString }, `pools${process.pid}`).pools));
    engine = await startEngineHost({
      pools: {
        store,
        pool: (name) => pools.find((p) => p.name === name),
        log: (runId, line) => {
          runLog.push({ runId, msg: line.msg });
          return Promise.resolve();
        },
      },
    });
  });
  after(async () => {
    // Every execution replays to the same decisions (pool waits included).
    if (engine) assert.deepEqual(await replayMismatches(engine), []);
    await engine?.stop();
    await azurite?.stop();
  });

  test('five runs contend for 2 slots: never more than 2 hold, waiters show their position, slots go first come first served, none is left held', async () => {
    const p = onePool('contend', 'load', 'load-wh');
    engine.fake.script('load', Array.from({ length: 5 }, () => ({ running: { polls: 2, pollAfterSeconds: 60 } })));
    const ids = ['c1', 'c2', 'c3', 'c4', 'c5'];
    for (const id of ids) await engine.start(p, id);
    await engine.host.advance(5_000);
    const waiting = (await Promise.all(ids.map((id) => customStatus(engine, id)))).map((s) => s.steps[0]?.pool).filter((w) => w !== undefined);
    assert.deepEqual(waiting.map((w) => `${w.name}#${w.position}`).sort(), ['load-wh#1', 'load-wh#2', 'load-wh#3'], 'three wait, each at its place in the queue');

    const runs = await Promise.all(ids.map(async (id) => (await engine.host.waitFor(id)).output as RunState));
    assert.deepEqual(runs.map((r) => r.status), ids.map(() => 'succeeded'));
    assert.equal(peakOverlap(runs, ['load']), 2, 'two attempts at once, never three');
    const ledgers = store.ledgers('load-wh');
    assert.ok(ledgers.every((l) => l.holders.length <= 2), 'no committed ledger has more holders than slots');
    const { joined, granted } = joinAndGrantOrder(ledgers);
    assert.equal(joined.length, 5);
    assert.deepEqual(granted, joined, 'granted in the order they queued');
    assert.deepEqual(await store.read('load-wh'), { holders: [], waiters: [] });
    // The run log says who waited, at which place, and for how long (what logs --follow and the console show).
    const said = runLog.filter((l) => ids.includes(l.runId)).map((l) => l.msg.replace(/after \d+s/, 'after Ns'));
    assert.deepEqual(said.filter((m) => m.includes('waiting')).sort(), ['load waiting for pool load-wh (position 1)', 'load waiting for pool load-wh (position 2)', 'load waiting for pool load-wh (position 3)']);
    assert.deepEqual(said.filter((m) => m.includes('got a slot')), Array.from({ length: 3 }, () => 'load got a slot of pool load-wh after Ns in its queue'));
  });

  test('a timed-out holder, a failed one and a cancelled waiter all give their place back; the last waiter runs', async () => {
    engine.fake.script('slowhold', [{ running: { polls: 100, pollAfterSeconds: 60 } }]);
    engine.fake.script('failhold', [{ fail: 'permanent', message: 'COPY INTO refused' }]);
    const slow = onePool('slow', 'slowhold', 'single', { timeout: '3m' });
    const failing = onePool('failing', 'failhold', 'single');
    const cancelled = onePool('cancelled', 'cancelhold', 'single');
    const fine = onePool('fine', 'finehold', 'single');
    await engine.start(slow, 't1');
    await engine.host.advance(1_000);
    await engine.start(failing, 'f1');
    await engine.host.advance(1_000);
    await engine.start(cancelled, 'x1');
    await engine.host.advance(1_000);
    await engine.start(fine, 'ok1');
    await engine.host.advance(1_000);
    assert.deepEqual((await customStatus(engine, 'x1')).steps[0]?.pool, { name: 'single', position: 2 });
    await engine.host.client.raiseEvent('x1', 'cancel', { reason: 'not needed today' });

    const [t1, f1, x1, ok1] = await Promise.all(['t1', 'f1', 'x1', 'ok1'].map(async (id) => (await engine.host.waitFor(id)).output as RunState));
    assert.equal(t1?.status, 'failed');
    assert.equal(t1?.error?.class, 'timeout');
    assert.equal(f1?.status, 'failed');
    assert.equal(x1?.status, 'cancelled');
    assert.equal(x1?.steps[0]?.attempts.length, 0, 'the cancelled run never started its step');
    assert.equal(ok1?.status, 'succeeded');
    assert.ok(store.ledgers('single').every((l) => l.holders.length <= 1));
    assert.deepEqual(await store.read('single'), { holders: [], waiters: [] });
  });

  test('a holder cancelled while it works, and a terminated ("crashed") holder: their slots come back, the second within one lease', async () => {
    engine.fake.script('longhold', [{ running: { polls: 1000, pollAfterSeconds: 60 } }, { running: { polls: 1000, pollAfterSeconds: 60 } }]);
    const long = onePool('long', 'longhold', 'single');
    const after1 = onePool('after-cancel', 'aftercancel', 'single');
    await engine.start(long, 'h1');
    await engine.host.advance(1_000);
    await engine.start(after1, 'w1');
    await engine.host.advance(60_000);
    await engine.host.client.raiseEvent('h1', 'cancel', { reason: 'stop' });
    assert.equal(((await engine.host.waitFor('h1')).output as RunState).status, 'cancelled');
    assert.equal(((await engine.host.waitFor('w1')).output as RunState).status, 'succeeded');

    // The holder's orchestration is terminated: it never releases. The waiter is woken by its
    // recheck at the holder's lease end, finds the holder's instance Terminated and takes its slot.
    const after2 = onePool('after-crash', 'aftercrash', 'single');
    await engine.start(long, 'k1');
    await engine.host.advance(1_000);
    const crashedAt = engine.host.now().getTime();
    await engine.start(after2, 'w2');
    await engine.host.advance(1_000);
    await engine.host.client.terminate('k1', 'host killed');
    const w2 = (await engine.host.waitFor('w2')).output as RunState;
    assert.equal(w2.status, 'succeeded');
    const startedAfter = (Date.parse(w2.steps[0]!.attempts[0]!.startedAt) - crashedAt) / 1000;
    assert.ok(startedAfter >= 299 && startedAfter <= 301 + 60, `the waiter started ${startedAfter}s after the holder took the slot (lease 300 s)`);
    assert.deepEqual(await store.read('single'), { holders: [], waiters: [] });
  });

  test('no deadlock: a run holding a run-level slot waits for a step-level slot held by another pipeline, a second run of its project waits for the run slot', async () => {
    engine.fake.script('xload', [{ running: { polls: 3, pollAfterSeconds: 60 } }]);
    const other = onePool('other-project', 'xload', 'single');
    const finance = onePool('finance-daily', 'fload', 'single', { runPools: ['finance-runs'] });
    await engine.start(other, 'o1');
    await engine.host.advance(1_000);
    await engine.start(finance, 'fa');
    await engine.host.advance(1_000);
    await engine.start(finance, 'fb');
    await engine.host.advance(1_000);
    assert.deepEqual((await customStatus(engine, 'fa')).steps[0]?.pool, { name: 'single', position: 1 }, 'fa holds the run slot and waits for the step slot');
    assert.deepEqual((await customStatus(engine, 'fb')).pool, { name: 'finance-runs', position: 1 }, 'fb waits for the run slot');
    const [o1, fa, fb] = await Promise.all(['o1', 'fa', 'fb'].map(async (id) => (await engine.host.waitFor(id)).output as RunState));
    assert.deepEqual([o1?.status, fa?.status, fb?.status], ['succeeded', 'succeeded', 'succeeded']);
    assert.ok(Date.parse(fb!.steps[0]!.attempts[0]!.startedAt) >= Date.parse(fa!.endedAt!), 'one finance run at a time');
    for (const pool of ['single', 'finance-runs']) assert.deepEqual(await store.read(pool), { holders: [], waiters: [] });
  });
});
