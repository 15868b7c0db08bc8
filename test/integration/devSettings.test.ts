/**
 * Settings a user gets wrong stop `npm run dev` and the app before anything starts, every problem
 * said once (exit 3, as for an invalid definition); and a fresh clone with no local.settings.json
 * does not fire the production schedules from a laptop (issue 22).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closedPort, runCli, stopChild } from '../support/demoProcess';
import { REPO_ROOT, startDev, waitForUrl } from '../support/devProcess';

const folder = mkdtempSync(join(tmpdir(), 'dp-dev-settings-'));
copyFileSync(join(REPO_ROOT, 'host.json'), join(folder, 'host.json'));
after(() => rmSync(folder, { recursive: true, force: true }));

const BAD = { RUN_RETENTION_DAYS: 'ninety', SCHEDULER_ENABLED: 'yes', KEY_VAULT_URL: 'myvault' };
const PROBLEMS = ['KEY_VAULT_URL: must be an absolute URL (https://…)', 'RUN_RETENTION_DAYS: must be a whole number', 'SCHEDULER_ENABLED: must be true or false, not "yes"'];

describe('invalid settings', () => {
  test('npm run dev lists every problem once and exits 3, starting nothing', async () => {
    const result = await startDev(await closedPort(), folder, BAD).exited;
    assert.equal(result.code, 3, `${result.stdout}\n${result.stderr}`);
    assert.ok(result.stderr.startsWith('invalid app settings (3 problems):\n'), result.stderr);
    for (const problem of PROBLEMS) assert.equal(result.stderr.split(problem).length - 1, 1, `once: ${problem}\n${result.stderr}`);
    assert.doesNotMatch(result.stdout, /dev host on|Azurite|scheduler on/);
    assert.doesNotMatch(result.stderr, /^\s+at /m);
  });

  test('the app refuses to load on them too (what the Functions host runs), printing every problem once', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', '-e', "require('./src/index')"], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...BAD, NODE_NO_WARNINGS: '1' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.notEqual(result.status, 0);
    for (const problem of PROBLEMS) assert.equal(result.stderr.split(problem).length - 1, 1, `once on stderr: ${problem}\n${result.stderr}`);
  });
});

describe('npm run dev without local.settings.json', () => {
  test('the scheduler is off unless asked for, and the app says so in the one word the CLI and console show', async () => {
    const dev = startDev(await closedPort(), folder, {});
    try {
      const baseUrl = await waitForUrl(dev);
      assert.match(dev.output(), /scheduler off: no local\.settings\.json \(pass --scheduler, or set SCHEDULER_ENABLED=true, to fire the schedules in real time\)/);
      const listing = (await (await fetch(`${baseUrl}/api/pipelines`)).json()) as { schedulerEnabled: boolean; pipelines: { schedules: { state: string }[] }[] };
      assert.equal(listing.schedulerEnabled, false);
      const schedules = listing.pipelines.flatMap((p) => p.schedules);
      assert.ok(schedules.length > 0);
      assert.deepEqual([...new Set(schedules.map((s) => s.state))], ['scheduler off']);
      // `schedules ls` says the same, with no next run.
      const ls = await runCli(['schedules', 'ls'], { DURABLE_PIPELINES_URL: baseUrl });
      assert.equal(ls.code, 0, ls.stderr);
      assert.match(ls.stdout, /^data-pipeline +production-daily +0 2 \* \* \* +Europe\/Paris +scheduler off +- +-$/m);
    } finally {
      await stopChild(dev.child);
    }
  });
});
