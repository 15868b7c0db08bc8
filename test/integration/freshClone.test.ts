/**
 * The first minutes of a new user, in a fresh `git clone` of this repository (its last commit) with
 * an empty npm cache: `npx durable-pipelines` runs before any build, `validate` judges the sources
 * as they are now (before and after `npm run build`), and `npm run demo` lists a broken definition's
 * problem once, without a stack trace. node_modules is linked from this checkout instead of running
 * `npm ci` (minutes, and the registry); the npx lookup itself runs for real with an empty cache.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const REPO_ROOT = join(__dirname, '..', '..');
const folder = mkdtempSync(join(tmpdir(), 'dp-clone-'));
const clone = join(folder, 'durable-pipelines');
const npmCache = join(folder, 'npm-cache');

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(command: string, args: readonly string[], timeoutMs = 180_000): Promise<Result> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) if (value !== undefined && !name.startsWith('DURABLE_PIPELINES_') && !name.startsWith('npm_')) env[name] = value;
  const child = spawn(command, args, { cwd: clone, env: { ...env, npm_config_cache: npmCache, npm_config_update_notifier: 'false', NODE_NO_WARNINGS: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => child.once('close', (code) => (clearTimeout(timer), resolve({ code, stdout, stderr }))));
}

const npx = (...args: string[]) => run('npx', ['durable-pipelines', ...args]);
const show = (r: Result) => `exit ${String(r.code)}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

before(() => {
  execFileSync('git', ['clone', '--quiet', REPO_ROOT, clone]);
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(clone, 'node_modules'), 'dir');
});
after(() => rmSync(folder, { recursive: true, force: true }));

describe('a fresh clone, empty npm cache, no build', () => {
  test('npx durable-pipelines --version and validate work before any build', async () => {
    const { version } = JSON.parse(readFileSync(join(clone, 'package.json'), 'utf8')) as { version: string };
    const v = await npx('--version');
    assert.equal(v.code, 0, show(v));
    assert.equal(v.stdout, `${version}\n`);
    const ok = await npx('validate');
    assert.equal(ok.code, 0, show(ok));
    assert.match(ok.stdout, /^ok: .*data-pipeline \(3 steps, 2 schedules\)/);
  });

  test('a mistake in the sources: validate reports it without a rebuild, and still after npm run build', async () => {
    const path = join(clone, 'src', 'pipelines', 'definitions', 'data-pipeline.ts');
    const source = readFileSync(path, 'utf8');
    assert.ok(source.includes("pipelineRetry: { retries: 1, delay: '300s' }"), 'the seed pipeline changed: update this test');
    writeFileSync(path, source.replace("delay: '300s' }", "delay: '300 parsecs' }"));
    const expected = /data-pipeline\.pipelineRetry\.delay: not a duration: "300 parsecs"/;

    const before = await npx('validate');
    assert.equal(before.code, 3, show(before));
    assert.match(before.stdout, expected);

    const build = await run('npm', ['run', 'build']);
    assert.equal(build.code, 0, show(build));
    const afterBuild = await npx('validate');
    assert.equal(afterBuild.code, 3, show(afterBuild));
    assert.match(afterBuild.stdout, expected);

    // The demo checks the definitions before starting anything: the problem once, no stack trace.
    const demo = await run(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', '--port', '0']);
    assert.equal(demo.code, 3, show(demo));
    assert.equal(demo.stdout, '');
    assert.equal(demo.stderr.match(/300 parsecs/g)?.length, 1, show(demo));
    assert.doesNotMatch(demo.stderr, /^\s+at /m);
    assert.match(demo.stderr, /Fix the definition under src\/pipelines\/definitions\//);

    writeFileSync(path, source);
    const fixed = await npx('validate');
    assert.equal(fixed.code, 0, show(fixed));
  });
});
