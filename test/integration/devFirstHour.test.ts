/**
 * `npm run dev` as a new user meets it, on the real clock: started with no secrets set, the app says
 * which ones are missing on /api/health, and a run fails within seconds (a permanent failure gets no
 * pipeline retry); a port already in use is one clear line and exit code 10.
 * The dev script runs in a temp folder holding only host.json, so no local.settings.json of the
 * developer running the tests can fill the secrets in.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closedPort, runCli, stopChild } from '../support/demoProcess';
import { REPO_ROOT, startDev, waitForUrl, type Dev } from '../support/devProcess';
import { loadCatalog } from '../../src/pipelines/catalog';
import { pipelineInputs } from '../../src/pipelines/definitions';
import { referencedNames } from '../../src/pipelines/references';

// Every secret and app setting the project's pipelines name (the seed's, and any added since).
const catalog = loadCatalog(pipelineInputs).pipelines;
const SECRETS = [...new Set(catalog.flatMap((p) => referencedNames(p, 'secret')))].sort();
const SETTINGS = [...new Set(catalog.flatMap((p) => referencedNames(p, 'setting')))].sort();

const folder = mkdtempSync(join(tmpdir(), 'dp-dev-'));
copyFileSync(join(REPO_ROOT, 'host.json'), join(folder, 'host.json'));
after(() => rmSync(folder, { recursive: true, force: true }));

describe('npm run dev with no secrets set', () => {
  let dev: Dev;
  let baseUrl: string;
  before(async () => {
    dev = startDev(await closedPort(), folder);
    baseUrl = await waitForUrl(dev);
  });
  after(() => stopChild(dev.child));

  test('/api/health answers 503 and names every missing secret and app setting', async () => {
    const response = await fetch(`${baseUrl}/api/health`);
    const body = (await response.json()) as { status: string; checks: { name: string; ok: boolean; detail?: string; missing?: string[] }[] };
    assert.equal(response.status, 503, JSON.stringify(body, null, 2));
    assert.equal(body.status, 'unhealthy');
    const secrets = body.checks.find((c) => c.name === 'secrets');
    assert.deepEqual(secrets?.missing, SECRETS);
    assert.ok(SECRETS.includes('azure-function-key') && SECRETS.includes('snowflake-password'), 'the seed names its secrets');
    assert.match(secrets?.detail ?? '', new RegExp(`^${SECRETS.length} of ${SECRETS.length} secrets missing or unreadable in app settings \\(SECRET_\\*\\): `));
    assert.match(secrets?.detail ?? '', /azure-function-key \(secret "azure-function-key" is not set: add the app setting SECRET_AZURE_FUNCTION_KEY/);
    const settings = body.checks.find((c) => c.name === 'settings');
    assert.deepEqual(settings?.missing, SETTINGS);
    assert.ok(SETTINGS.includes('DBT_JOB_RESOURCE_ID'));
    assert.equal(body.checks.find((c) => c.name === 'storage')?.ok, true);
  });

  test('run --follow: the missing secret fails the run at its first attempt, no pipeline retry, exit 1', async (t) => {
    const started = Date.now();
    const result = await runCli(['run', 'data-pipeline', '--follow', '--interval', '0.5'], { DURABLE_PIPELINES_URL: baseUrl }, 120_000);
    const wallSeconds = (Date.now() - started) / 1000;
    // Measured, not asserted (speed belongs in `npm run bench`): the Done-when figure is < 10 s.
    t.diagnostic(`run --follow to the failed end: ${wallSeconds.toFixed(1)} s wall time, CLI start-up included`);
    assert.equal(result.code, 1, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /^\S+ {2}export +ERROR step export attempt 1 failed \(permanent\): secret "azure-function-url" is not set: add the app setting SECRET_AZURE_FUNCTION_URL/m);
    // Said once in full: the step's state refers to it.
    assert.match(result.stdout, /^\S+ {2}export +failed \(attempt 1\): the error above$/m);
    assert.match(result.stdout.trimEnd().split('\n').at(-1) ?? '', /^\S+ {2}run failed: (?:export: )?secret "azure-function-url" is not set/);
    assert.doesNotMatch(result.stdout, /pipeline retry/);

    const runId = /^started: (\S+)$/m.exec(result.stdout)?.[1] ?? '';
    const run = (await (await fetch(`${baseUrl}/api/runs/${encodeURIComponent(runId)}`)).json()) as { status: string; pipelineAttempt: number; steps: { id: string; status: string; attempts: unknown[] }[] };
    assert.equal(run.status, 'failed');
    assert.equal(run.pipelineAttempt, 1);
    assert.deepEqual(run.steps.map((s) => [s.id, s.status, s.attempts.length]), [['export', 'failed', 1], ['load', 'skipped', 0], ['transform', 'skipped', 0]]);
  });
});

describe('npm run dev on a port already in use', () => {
  test('one line saying so, exit 10, no stack trace', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    assert.ok(address && typeof address === 'object');
    try {
      const result = await startDev(address.port, folder).exited;
      assert.equal(result.code, 10, `${result.stdout}\n${result.stderr}`);
      assert.equal(result.stderr.trim(), `error: port ${address.port} is already in use (another npm run dev, npm run demo or func start?). Stop that process, or pick another port: PORT=7072 (npm run dev) or --port 7072 (npm run demo), then point the CLI at it with --url or DURABLE_PIPELINES_URL.`);
      assert.doesNotMatch(result.stdout + result.stderr, /^\s+at /m);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });
});
