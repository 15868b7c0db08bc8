/**
 * Every deploy route uploads an app that loads in Azure: the upload each tool would make is rebuilt
 * the way the tool builds it (test/support/deployUploads.ts cites their sources), copied to a temp
 * folder outside the repository, and a fresh `node` whose working directory is that folder loads
 * the app's `main` and requires every production dependency its package.json declares.
 *
 * Routes: (a) the zip `npm run package` writes (`az functionapp deployment source config-zip`);
 * (b) `azd deploy` with azure.yaml as committed; (c) `func azure functionapp publish` from the
 * staged folder; (d) the repository root under .funcignore with azd's gitignore rules — the route
 * an azure.yaml without `dist` takes, where an unanchored `src` once dropped node_modules/**∕src.
 *
 * @test-exclusive: it rebuilds dist/ (npm run package, then npm run build), which the CLI and demo tests load.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { azdRemoteBuild, azdUpload, coreToolsUpload, materialize, walk, type AzdService } from '../support/deployUploads';

const root = resolve(__dirname, '../..');
const stage = join(root, 'dist', 'package');
const zip = join(root, 'dist', 'durable-pipelines.zip');

const azureYaml = z.object({
  services: z.object({
    api: z.object({
      project: z.string(),
      language: z.string(),
      host: z.string(),
      dist: z.string().optional(),
      remoteBuild: z.boolean().optional(),
      hooks: z.object({ prepackage: z.object({ run: z.string() }).optional() }).optional(),
    }),
  }),
});

/** Loads main and each declared dependency from `dir` alone; reports what failed or resolved elsewhere. */
const LOADER = `
const { createRequire } = require('node:module');
const path = require('node:path');
const dir = process.cwd();
const load = createRequire(path.join(dir, 'package.json'));
const manifest = load('./package.json');
const failed = [];
const attempt = (what, fn) => { try { fn(); } catch (e) { failed.push(what + ': ' + String(e && e.message).split('\\n')[0]); } };
attempt('main ' + manifest.main, () => load(path.resolve(dir, manifest.main)));
const dependencies = Object.keys(manifest.dependencies || {});
for (const name of dependencies) attempt(name, () => load(name));
const outside = Object.keys(require.cache).filter((file) => !file.startsWith(dir + path.sep));
process.stdout.write(JSON.stringify({ main: manifest.main, dependencies, failed, outside }));
`;

interface LoadReport {
  main: string;
  dependencies: string[];
  failed: string[];
  outside: string[];
}

const temps: string[] = [];

/** Copies `files` of `from` into a fresh temp folder and loads the app there in a new process. */
function loadUpload(route: string, from: string, files: readonly string[]): LoadReport {
  const dir = mkdtempSync(join(tmpdir(), `dp-upload-${route}-`));
  temps.push(dir);
  materialize(from, files, dir);
  return loadIn(dir);
}

function loadIn(dir: string): LoadReport {
  const { NODE_OPTIONS: _options, NODE_PATH: _path, ...env } = process.env;
  const result = spawnSync(process.execPath, ['-e', LOADER], { cwd: dir, env, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  assert.equal(result.status, 0, `loader exited with ${result.status}: ${result.stderr}`);
  return JSON.parse(result.stdout) as LoadReport;
}

function assertLoads(report: LoadReport, expectedDependencies: readonly string[]): void {
  assert.deepEqual(report.failed, [], 'main and every production dependency load from the upload');
  assert.deepEqual(report.outside, [], 'nothing is loaded from outside the upload');
  assert.deepEqual([...report.dependencies].sort(), [...expectedDependencies].sort());
}

function manifestDependencies(dir: string): string[] {
  const manifest = z.object({ dependencies: z.record(z.string(), z.string()).default({}) }).parse(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')));
  return Object.keys(manifest.dependencies);
}

function run(command: string, args: string[]): void {
  const result = spawnSync(command, args, { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.equal(result.status, 0, `${command} ${args.join(' ')} failed:\n${result.stdout}\n${result.stderr}`);
}

describe('deploy artifact: every route uploads an app that loads', () => {
  const service: AzdService & { hooks?: { prepackage?: { run: string } } } = azureYaml.parse(parse(readFileSync(join(root, 'azure.yaml'), 'utf8'))).services.api;
  // What the staged app must declare: the packages the build keeps external (package.mjs derives them).
  let stagedDependencies: string[] = [];

  before(() => {
    run(process.execPath, [join(root, 'scripts', 'package.mjs')]);
    // azd runs the project's build after its prepackage hook staged the upload
    // (framework_service_node.go Package): the staged folder must survive it.
    run('npm', ['run', 'build', '--if-present']);
    stagedDependencies = manifestDependencies(stage);
  });

  after(() => {
    for (const dir of temps) rmSync(dir, { recursive: true, force: true });
  });

  test('(a) the zip from npm run package, unzipped, loads main and its production dependencies', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dp-upload-zip-'));
    temps.push(dir);
    run('unzip', ['-q', zip, '-d', dir]);
    assert.ok(stagedDependencies.includes('@azure/identity') && stagedDependencies.includes('snowflake-sdk'));
    assertLoads(loadIn(dir), stagedDependencies);
  });

  test('(b) azd deploy uploads the staged folder, complete, with no remote build', () => {
    assert.ok(service.dist, 'azure.yaml gives the api service a dist folder');
    const projectDir = resolve(root, service.project);
    const uploadRoot = resolve(projectDir, service.dist);
    assert.equal(uploadRoot, stage, 'azd zips the folder npm run package stages');
    assert.match(service.hooks?.prepackage?.run ?? '', /scripts\/package\.mjs/, 'a prepackage hook stages it before azd zips');
    assert.equal(azdRemoteBuild(projectDir, service), false, 'nothing is left for a remote build to install');
    const files = azdUpload(uploadRoot, service);
    assert.ok(files.some((f) => f.startsWith('node_modules/')), 'the upload carries the installed packages');
    assertLoads(loadUpload('azd', uploadRoot, files), stagedDependencies);
  });

  test('(c) func azure functionapp publish from the staged folder loads main and its production dependencies', () => {
    assertLoads(loadUpload('func', stage, coreToolsUpload(stage)), stagedDependencies);
  });

  test('(d) the repository root filtered by .funcignore under gitignore rules still loads', () => {
    const files = azdUpload(root, { ...service, dist: undefined });
    assert.ok(!files.some((f) => f.startsWith('src/') || f.startsWith('dist/package/')), 'sources and the staged copy stay out');
    assertLoads(loadUpload('root', root, files), manifestDependencies(root));
    // Where the `ignore` package (git's rules, used above) and azd's denormal/go-gitignore agree:
    // go-gitignore matches an unanchored `a/b` at any depth and mishandles a trailing `/`
    // (pattern.go NewPattern/path.Match), and neither escapes nor negation are needed here.
    const lines = readFileSync(join(root, '.funcignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
    assert.deepEqual(lines.filter((l) => !l.startsWith('/')), [], 'every .funcignore pattern is anchored at the root');
    assert.deepEqual(lines.filter((l) => /[!\\[]|\/$/.test(l)), [], 'no negation, escape, character class or trailing slash');
  });

  test('the staged folder holds the app and no development-only package', () => {
    // A package is development-only when every copy the lock file installs is marked `dev`.
    const lock = z.object({ packages: z.record(z.string(), z.object({ dev: z.boolean().optional() })) }).parse(JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')));
    const kinds = new Map<string, boolean>();
    for (const [path, entry] of Object.entries(lock.packages)) {
      const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
      if (path !== '') kinds.set(name, (kinds.get(name) ?? true) && entry.dev === true);
    }
    const staged = new Set(walk(stage).flatMap((f) => {
      const m = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\/package\.json$/.exec(f);
      return m?.[1] ? [m[1]] : [];
    }));
    assert.ok(existsSync(join(stage, 'host.json')));
    // The web console the app serves at / ships next to the bundle.
    assert.ok(existsSync(join(stage, 'dist', 'console', 'index.html')), 'dist/console/index.html is staged');
    assert.ok(staged.size > 0);
    assert.deepEqual([...staged].filter((name) => kinds.get(name) === true), []);
  });
});
