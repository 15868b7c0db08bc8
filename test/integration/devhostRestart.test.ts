/**
 * `npm run dev` survives a restart: a dev host process (wired like scripts/dev.ts, against the
 * stand-ins) is SIGKILLed while a run's export step waits on the export function; a new process on
 * the same data folder finishes the run as if nothing happened.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStandInEnvironment, type StandInEnvironment } from '../../src/standins/environment';
import { TablePoolStore } from '../../src/pools/tableStore';
import { createRunStoreTables } from '../../src/runs/tables';
import { devApi, killDevProcess, startDevProcess, until, type DevProcess } from '../support/devHostProcess';

const KEY = 'restart-test-key';

let world: StandInEnvironment;
let dataFolder: string;
const children = new Set<ChildProcess>();

/** The dev host in its own process (test/support/devHostProcess.ts), on this test's state folder. */
const startDev = (extraEnv: Record<string, string> = {}): Promise<DevProcess> =>
  startDevProcess({ world, stateDirectory: join(dataFolder, 'durable'), key: KEY, env: extraEnv, children });
const kill = killDevProcess;
const api = (dev: DevProcess, method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> => devApi(dev, KEY, method, path, body);

interface RunJson {
  readonly runId: string;
  readonly status: string;
  readonly steps: readonly {
    readonly id: string;
    readonly status: string;
    readonly pool?: { readonly name: string; readonly position: number };
    readonly attempts: readonly { readonly attempt: number; readonly status: string; readonly startedAt: string; readonly endedAt?: string }[];
  }[];
}

async function run(dev: DevProcess, runId: string): Promise<RunJson> {
  const { status, json } = await api(dev, 'GET', `runs/${encodeURIComponent(runId)}`);
  assert.equal(status, 200, JSON.stringify(json));
  return json as RunJson;
}

/** Polls until `check` holds (or fails with what was last seen): the restart tests wait on real work. */

async function startRunMidExport(dev: DevProcess): Promise<string> {
  const started = await api(dev, 'POST', 'pipelines/data-pipeline/runs', {});
  assert.equal(started.status, 202, JSON.stringify(started.json));
  const { runId } = started.json as { runId: string };
  // the attempt is recorded as started before the export is called, which then takes 8 s to answer
  await until('export running', () => run(dev, runId), (r) => r.steps.some((s) => s.id === 'export' && s.status === 'running'));
  return runId;
}

before(async () => {
  dataFolder = mkdtempSync(join(tmpdir(), 'devhost-restart-'));
  // The export function answers after 8 s: the process is killed while the export step waits on it.
  world = await startStandInEnvironment({ exportDelayMs: 8000 });
});

after(async () => {
  for (const child of children) child.kill('SIGKILL');
  await world.stop();
  rmSync(dataFolder, { recursive: true, force: true });
});

describe('npm run dev survives a restart', () => {
  test('a run killed mid-export, then mid-transform, finishes after restarts: same run, every attempt, logs complete, 409 on cancel', async () => {
    const startsBefore = world.dbt.starts.length;
    const first = await startDev();
    const runId = await startRunMidExport(first);
    await kill(first);

    // restarted: the export activity runs again and the run moves on to transform, which polls the
    // dbt job between durable timers (pollInterval 30 s); killed again while such a timer is pending
    const second = await startDev();
    assert.match(second.output(), /1 unfinished instance\(s\) resumed/);
    assert.match(second.output(), /activity startStep \(#\d+\) had not answered before the restart; running it again/);
    await until('transform running', () => run(second, runId), (r) => r.steps.some((s) => s.id === 'transform' && s.status === 'running'));
    await until('transform polling', () => Promise.resolve(world.dbt.starts.length), (n) => n > startsBefore);
    await kill(second);

    const third = await startDev();
    try {
      const done = await until('run status', () => run(third, runId), (r) => r.status !== 'running' && r.status !== 'pending', 150_000);
      assert.equal(done.runId, runId);
      assert.equal(done.status, 'succeeded', JSON.stringify(done));
      assert.deepEqual(
        done.steps.map((s) => [s.id, s.status, s.attempts.map((a) => [a.attempt, a.status])]),
        [['export', 'succeeded', [[1, 'succeeded']]], ['load', 'succeeded', [[1, 'succeeded']]], ['transform', 'succeeded', [[1, 'succeeded']]]],
      );
      // the dbt job was started once: its polling carried on across the second restart
      assert.equal(world.dbt.starts.length - startsBefore, 1);

      const logs = await api(third, 'GET', `runs/${encodeURIComponent(runId)}/logs`);
      assert.equal(logs.status, 200);
      const messages = (logs.json as { lines: readonly { msg: string }[] }).lines.map((line) => line.msg);
      // every step to the end, in order; the export attempt that was killed may have logged its start
      // before the kill, and then its re-run logs it again (consecutive repeats are folded here)
      const expected = [
        'step export attempt 1 started',
        'step export attempt 1 succeeded',
        'step load attempt 1 started',
        'step load attempt 1 succeeded',
        'step transform attempt 1 started',
        'step transform attempt 1 succeeded',
        'run succeeded',
      ];
      // Each step's own result lines (export answer, COPY INTO files, dbt models) sit between its
      // attempt lines; this test checks the attempts and the run's end.
      const attemptLines = messages.filter((m) => /^step \S+ attempt \d+ (started|succeeded|failed)|^run /.test(m));
      assert.deepEqual(attemptLines.filter((m, i) => m !== attemptLines[i + 1]), expected, messages.join('\n'));
      const cancel = await api(third, 'POST', `runs/${encodeURIComponent(runId)}/cancel`, {});
      assert.equal(cancel.status, 409, JSON.stringify(cancel.json));
    } finally {
      await kill(third);
    }
  });

  test('a run cancelled after a restart ends cancelled', async () => {
    const first = await startDev();
    const runId = await startRunMidExport(first);
    await kill(first);

    const second = await startDev();
    try {
      const cancel = await api(second, 'POST', `runs/${encodeURIComponent(runId)}/cancel`, {});
      assert.equal(cancel.status, 202, JSON.stringify(cancel.json));
      const done = await until('run status', () => run(second, runId), (r) => r.status !== 'running' && r.status !== 'pending');
      assert.equal(done.status, 'cancelled', JSON.stringify(done));
      assert.deepEqual(done.steps.map((s) => s.status), ['cancelled', 'skipped', 'skipped']);
    } finally {
      await kill(second);
    }
  });
});

describe('a shared pool survives a killed host', () => {
  test('killed while one run holds the slot and another waits: after the restart the holder finishes, the waiter gets the slot, nothing is left held', async () => {
    const pooled = { DEVHOST_POOLED: '1' };
    const first = await startDev(pooled);
    const start = async (pipeline: string): Promise<string> => {
      const started = await api(first, 'POST', `pipelines/${pipeline}/runs`, {});
      assert.equal(started.status, 202, JSON.stringify(started.json));
      return (started.json as { runId: string }).runId;
    };
    const holder = await start('pool-a');
    await until('pool-a holds the slot (export running)', () => run(first, holder), (r) => r.steps.some((s) => s.id === 'export' && s.status === 'running'));
    const waiter = await start('pool-b');
    const waiting = await until('pool-b waits for the slot', () => run(first, waiter), (r) => r.steps.some((s) => s.id === 'export' && s.pool !== undefined));
    assert.deepEqual(waiting.steps.find((s) => s.id === 'export')?.pool, { name: 'export-slot', position: 1 });
    await kill(first);

    const second = await startDev(pooled);
    try {
      const [a, b] = await Promise.all(
        [holder, waiter].map((id) => until(`${id} ends`, () => run(second, id), (r) => r.status !== 'running' && r.status !== 'pending', 150_000)),
      );
      assert.deepEqual([a?.status, b?.status], ['succeeded', 'succeeded'], JSON.stringify([a, b]));
      const exportOf = (r: RunJson | undefined) => r?.steps.find((s) => s.id === 'export')?.attempts.at(-1);
      assert.ok(Date.parse(exportOf(b)?.startedAt ?? '') >= Date.parse(exportOf(a)?.endedAt ?? ''), 'the waiter exported after the holder: one at a time across the restart');
      const settings = world.settings;
      const ledger = await new TablePoolStore(createRunStoreTables({ connectionString: settings['RUN_STORE_CONNECTION_STRING'] ?? '' }, settings['RUN_STORE_TABLE_PREFIX'] ?? 'dp').pools).read('export-slot');
      assert.deepEqual(ledger, { holders: [], waiters: [] });
    } finally {
      await kill(second);
    }
  });
});
