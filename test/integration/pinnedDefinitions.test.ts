/**
 * Issue 26, acceptance 1: a run survives a deploy that changes its definition. A dev host process
 * (the app as `npm run dev` wires it) starts a run and is killed while the export waits on the
 * export function; a new process serving a *changed* catalog (the "deploy": another export body,
 * another COPY INTO table) finishes that run on the definition it started with, pinned in the run
 * store, while a run started after the deploy follows the new one. The API shows each run's
 * version, the deployed one, and the diff.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStandInEnvironment, type StandInEnvironment } from '../../src/standins/environment';
import { V2_EXPORT_BODY, V2_TABLE } from '../support/changedCatalog';
import { runCli } from '../support/demoProcess';
import { devApi, getRunJson, killDevProcess, startDevProcess, until, type DevProcess } from '../support/devHostProcess';

const KEY = 'pinned-test-key';

interface RunJson {
  readonly runId: string;
  readonly status: string;
  readonly error?: { message: string };
  readonly steps: readonly { readonly id: string; readonly status: string }[];
  readonly definition: { version: string | null; currentVersion: string | null; current: boolean };
}

interface DefinitionJson {
  readonly version: string;
  readonly currentVersion: string;
  readonly current: boolean;
  readonly definition: { steps: { id: string; body?: unknown; statement?: { copyInto?: { table: string } } }[] };
  readonly changes: readonly { path: string; change: string; before?: unknown; after?: unknown }[];
}

let world: StandInEnvironment;
let dataFolder: string;
const children = new Set<ChildProcess>();

const start = (env: Record<string, string> = {}): Promise<DevProcess> =>
  startDevProcess({ world, stateDirectory: join(dataFolder, 'durable'), key: KEY, env, children });
const run = (dev: DevProcess, runId: string): Promise<RunJson> => getRunJson<RunJson>(dev, KEY, runId);
const ended = (r: RunJson): boolean => r.status !== 'running' && r.status !== 'pending';

before(async () => {
  dataFolder = mkdtempSync(join(tmpdir(), 'pinned-definitions-'));
  world = await startStandInEnvironment({ exportDelayMs: 4000 });
});

after(async () => {
  for (const child of children) child.kill('SIGKILL');
  await world.stop();
  rmSync(dataFolder, { recursive: true, force: true });
});

describe('runs are pinned to the definition they started with', () => {
  test('a deploy that changes the pipeline mid-run: the old run finishes on its definition, a new run uses the new one, the API shows both and the diff', async () => {
    const first = await start({ DEVHOST_CATALOG: 'v1' });
    const started = await devApi(first, KEY, 'POST', 'pipelines/data-pipeline/runs', {});
    assert.equal(started.status, 202, JSON.stringify(started.json));
    const { runId: oldRun } = started.json as { runId: string };
    await until('export running', () => run(first, oldRun), (r) => r.steps.some((s) => s.id === 'export' && s.status === 'running'));
    const oldVersion = (await run(first, oldRun)).definition.version;
    assert.match(oldVersion ?? '', /^sha256:[0-9a-f]{64}$/);
    await killDevProcess(first);

    // "deploy": a new process, a changed catalog, the same task hub and run store
    const second = await start({ DEVHOST_CATALOG: 'v2' });
    try {
      const next = await devApi(second, KEY, 'POST', 'pipelines/data-pipeline/runs', {});
      assert.equal(next.status, 202, JSON.stringify(next.json));
      const { runId: newRun } = next.json as { runId: string };
      const oldDone = await until('old run ends', () => run(second, oldRun), ended, 60_000).catch((error: unknown) => {
        throw new Error(`${String(error)}\n--- dev host output\n${second.output().slice(-6000)}`);
      });
      const newDone = await until('new run ends', () => run(second, newRun), ended, 60_000);
      assert.equal(oldDone.status, 'succeeded', JSON.stringify(oldDone));
      assert.equal(newDone.status, 'succeeded', JSON.stringify(newDone));

      // what each run did at the services: the export body and the COPY INTO table of its own version
      const bodiesOf = (runId: string): unknown[] =>
        world.exportFunction.calls.filter((c) => String(c.headers['idempotency-key'] ?? '').startsWith(`${runId}:`)).map((c) => JSON.parse(c.body) as unknown);
      assert.ok(bodiesOf(oldRun).length > 0);
      for (const body of bodiesOf(oldRun)) assert.deepEqual(body, { action: 'export_to_blob' });
      assert.deepEqual(bodiesOf(newRun), [V2_EXPORT_BODY]);
      const copies = world.snowflake.queries.filter((q) => /^\s*COPY INTO/i.test(q.sql));
      const copyOf = (runId: string): string[] => copies.filter((q) => JSON.stringify(q.parameters).includes(runId) || q.sql.includes(runId)).map((q) => q.sql);
      const tables = copies.map((q) => (/COPY INTO\s+("?[\w.]+"?)/i.exec(q.sql)?.[1] ?? '').replace(/"/g, '').toLowerCase());
      assert.deepEqual(tables.sort(), ['ma_table_destination', V2_TABLE].sort(), `COPY INTO statements: ${JSON.stringify(copies.map((q) => q.sql))} ${String(copyOf(oldRun).length)}`);

      // the API: each run's version, the deployed one, and what changed
      assert.equal(oldDone.definition.version, oldVersion);
      assert.equal(oldDone.definition.current, false);
      assert.equal(newDone.definition.current, true);
      assert.equal(newDone.definition.version, oldDone.definition.currentVersion);
      assert.notEqual(newDone.definition.version, oldVersion);
      const diff = await devApi(second, KEY, 'GET', `runs/${encodeURIComponent(oldRun)}/definition`);
      assert.equal(diff.status, 200, JSON.stringify(diff.json));
      const body = diff.json as DefinitionJson;
      assert.equal(body.version, oldVersion);
      assert.equal(body.current, false);
      assert.equal(body.definition.steps.find((s) => s.id === 'load')?.statement?.copyInto?.table, 'ma_table_destination');
      assert.deepEqual(
        body.changes.map((c) => [c.path, c.change, c.before, c.after]),
        [
          ['steps.export.body.format', 'added', undefined, 'v2'],
          ['steps.load.statement.copyInto.table', 'changed', 'ma_table_destination', V2_TABLE],
        ],
      );
      const same = (await devApi(second, KEY, 'GET', `runs/${encodeURIComponent(newRun)}/definition`)).json as DefinitionJson;
      assert.equal(same.current, true);
      assert.deepEqual(same.changes, []);

      // the CLI says the same: `runs show` names the version, `runs definition` lists the changes
      const env = { DURABLE_PIPELINES_URL: second.baseUrl, DURABLE_PIPELINES_KEY: KEY };
      const shown = await runCli(['runs', 'show', oldRun], env);
      assert.equal(shown.code, 0, shown.stderr);
      assert.match(shown.stdout, new RegExp(`definition: ${(oldVersion ?? '').slice(0, 19)} \\(deployed now: ${(newDone.definition.version ?? '').slice(0, 19)};`));
      const changes = await runCli(['runs', 'definition', oldRun], env);
      assert.equal(changes.code, 0, changes.stderr);
      assert.match(changes.stdout, /changes since the run started \(2\):\n\+ steps\.export\.body\.format: "v2"\n~ steps\.load\.statement\.copyInto\.table: "ma_table_destination" → "ma_table_v2"/);
      assert.match((await runCli(['runs', 'show', newRun], env)).stdout, /definition: sha256:[0-9a-f]{12} \(the deployed one\)/);
    } finally {
      await killDevProcess(second);
    }
  });
});
