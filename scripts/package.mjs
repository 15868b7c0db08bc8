#!/usr/bin/env node
// `npm run package`: builds the app and writes a deployable zip with production dependencies only.
//
//   node scripts/package.mjs [--skip-build] [--no-zip]
//
// Output: dist/package/ (the staged app: host.json, package.json, the built dist/*.js and the
// node_modules the build leaves external) and dist/durable-pipelines.zip (its contents at the zip
// root, as Functions expects). Every deploy route uploads that one folder (docs/deploy.md):
//   az functionapp deployment source config-zip -g <rg> -n <app> --src dist/durable-pipelines.zip
//   cd dist/package && FUNCTIONS_WORKER_RUNTIME=node func azure functionapp publish <app>
//   azd deploy (azure.yaml: `dist: dist/package`, a prepackage hook running this script --no-zip)
//
// `npm run build` bundles the app with esbuild; the packages it keeps external are found by
// reading the bundle's require() calls, so this script needs no list of its own. They and their
// dependency closure are copied from the repository's node_modules to the same paths (so they
// resolve as they did for the tests), each checked against package-lock.json. No install runs
// here: `npm ci` first. `@azure/functions-core` is provided by the Node worker.
// The zip is written by the `zip` CLI (Debian package `zip`).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const stage = join(root, 'dist', 'package');
const zipPath = join(root, 'dist', 'durable-pipelines.zip');
const args = new Set(process.argv.slice(2));

function run(command, commandArgs, options = {}) {
  const result = spawnSync(command, commandArgs, { stdio: 'inherit', ...options });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${command} ${commandArgs.join(' ')} exited with ${result.status}`);
  return result;
}

function haveCommand(name) {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/** Files and sizes under a directory, paths relative to it with '/' separators. */
function walk(dir, base = dir, out = []) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const stat = statSync(path);
    if (stat.isDirectory()) walk(path, base, out);
    else out.push({ path: relative(base, path).split(sep).join('/'), bytes: stat.size });
  }
  return out;
}

/** The unit a file is charged to: a package under node_modules, else its top two directories. */
function unitOf(path) {
  const parts = path.split('/');
  const nm = parts.lastIndexOf('node_modules');
  if (nm === -1) return parts.length > 2 ? parts.slice(0, 2).join('/') : parts[0];
  const scoped = parts[nm + 1]?.startsWith('@');
  return parts.slice(0, nm + (scoped ? 3 : 2)).join('/');
}

/** Compressed size per entry, from `unzip -v` (columns: Length Method Size Cmpr Date Time CRC-32 Name). */
function compressedSizes(zip) {
  const listing = spawnSync('unzip', ['-v', zip], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (listing.status !== 0) return undefined;
  const sizes = new Map();
  for (const line of listing.stdout.split('\n')) {
    const m = /^\s*(\d+)\s+\S+\s+(\d+)\s+\S+\s+\S+\s+\S+\s+[0-9a-f]{8}\s+(.+)$/.exec(line);
    if (m && !m[3].endsWith('/')) sizes.set(m[3], Number(m[2]));
  }
  return sizes;
}

const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** Provided by the Functions Node worker at run time, never installed. */
const HOST_PROVIDED = new Set(['@azure/functions-core']);
const BUILTINS = new Set(builtinModules);

/** Bare package names the built files require or import with a literal specifier. */
function requiredPackages(dir) {
  const names = new Set();
  for (const file of walk(dir).filter((f) => f.path.endsWith('.js'))) {
    const code = readFileSync(join(dir, file.path), 'utf8');
    for (const m of code.matchAll(/\b(?:require|import)\(\s*["']([^"'./][^"']*)["']\s*\)/g)) {
      const spec = m[1];
      if (spec.startsWith('node:')) continue;
      const parts = spec.split('/');
      const name = spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
      if (!BUILTINS.has(name)) names.add(name);
    }
  }
  return names;
}

/** The built file and every built file it requires by relative path, transitively. */
function builtClosure(entry) {
  const files = new Set();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop();
    if (files.has(file)) continue;
    files.add(file);
    const code = readFileSync(file, 'utf8');
    for (const m of code.matchAll(/\brequire\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g)) {
      const target = join(dirname(file), m[1]);
      const candidates = [target, `${target}.js`, join(target, 'index.js')];
      const found = candidates.find((c) => existsSync(c) && statSync(c).isFile());
      if (found) queue.push(found);
    }
  }
  return files;
}

function readManifest(dir) {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
}

/** Node's lookup from `fromDir`: <dir>/node_modules/<name>, then each parent's, up to the repository root. */
function resolvePackage(fromDir, name) {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === root || !dir.startsWith(root)) return undefined;
  }
}

/**
 * Package directories reachable from the roots through `dependencies` and installed
 * `peerDependencies`. Optional dependencies stay out, as `npm ci --omit=optional` would leave
 * them: the packages that list them load without them.
 */
function dependencyClosure(roots) {
  const keep = new Set();
  const queue = [...roots];
  while (queue.length > 0) {
    const dir = queue.pop();
    if (keep.has(dir)) continue;
    keep.add(dir);
    const manifest = readManifest(dir);
    const optional = new Set(Object.keys(manifest.optionalDependencies ?? {}));
    const names = [...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})];
    for (const name of names.filter((n) => !optional.has(n))) {
      const found = resolvePackage(dir, name);
      if (found) queue.push(found);
      else if (name in (manifest.dependencies ?? {})) throw new Error(`${relative(root, dir)} needs ${name}, which is not installed: run \`npm ci\``);
    }
  }
  return keep;
}

/**
 * Copies the packages in `keep` from the repository's node_modules to the same relative paths in
 * the stage, so Node resolves each require() there exactly as the tests resolved it here. Each
 * copy must be the version package-lock.json locks at that path: a stale node_modules fails the
 * package instead of shipping what the tests did not run.
 */
function copyPackages(keep) {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')).packages ?? {};
  for (const dir of [...keep].sort()) {
    const path = relative(root, dir).split(sep).join('/');
    const version = readManifest(dir).version;
    const locked = lock[path]?.version;
    if (locked !== version) throw new Error(`${path} is ${version} but package-lock.json locks ${locked ?? 'nothing there'}: run \`npm ci\``);
    // Nested node_modules are packages of their own, copied only if they are in `keep`.
    cpSync(dir, join(stage, path), { recursive: true, filter: (src) => src === dir || !relative(dir, src).split(sep).includes('node_modules') });
  }
}

function stageApp() {
  const builtDir = join(root, 'dist');
  const manifest = readManifest(root);
  if (!existsSync(join(root, manifest.main))) {
    throw new Error(`${manifest.main} is missing: run \`npm run build\` (or drop --skip-build)`);
  }
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(join(stage, 'dist'), { recursive: true });
  cpSync(join(root, 'host.json'), join(stage, 'host.json'));
  // The entry point and the built files it requires, nothing else: other entry points (the CLI)
  // do not run in Azure, and source maps double the upload while Node reads them only with
  // --enable-source-maps.
  const shipped = builtClosure(join(root, manifest.main));
  for (const file of shipped) {
    const target = join(stage, relative(root, file));
    mkdirSync(dirname(target), { recursive: true });
    cpSync(file, target);
  }
  // The web console the app serves at / (src/console/serve.ts looks for it next to dist/index.js).
  const consoleDir = join(builtDir, 'console');
  if (!existsSync(join(consoleDir, 'index.html'))) throw new Error('dist/console is missing: run `npm run build`');
  cpSync(consoleDir, join(stage, 'dist', 'console'), { recursive: true });
  const skipped = walk(builtDir)
    .filter((f) => f.path.endsWith('.js') && !f.path.startsWith('package/') && !f.path.startsWith('console/') && !shipped.has(join(builtDir, f.path)))
    .map((f) => `dist/${f.path}`);
  if (skipped.length > 0) console.log(`not shipped (not required by ${manifest.main}): ${skipped.join(', ')}`);

  const needed = [...requiredPackages(join(stage, 'dist'))].filter((name) => !HOST_PROVIDED.has(name)).sort();
  const declared = manifest.dependencies ?? {};
  const undeclared = needed.filter((name) => !(name in declared));
  if (undeclared.length > 0) throw new Error(`the build requires packages that are not dependencies: ${undeclared.join(', ')}`);

  const roots = needed.map((name) => {
    const dir = resolvePackage(root, name);
    if (!dir) throw new Error(`${name} is not installed: run \`npm ci\``);
    return dir;
  });
  copyPackages(dependencyClosure(roots));

  const deployed = {
    name: manifest.name,
    version: manifest.version,
    private: true,
    description: manifest.description,
    license: manifest.license,
    type: manifest.type,
    main: manifest.main,
    engines: manifest.engines,
    dependencies: Object.fromEntries(needed.map((name) => [name, declared[name]])),
  };
  writeFileSync(join(stage, 'package.json'), `${JSON.stringify(deployed, null, 2)}\n`);
  console.log(`external packages installed: ${needed.length > 0 ? needed.join(', ') : 'none (everything is in the bundle)'}`);
}

function writeZip() {
  if (!haveCommand('zip')) {
    throw new Error('the `zip` command is missing: install it (Debian/Ubuntu: apt-get install zip) or use --no-zip');
  }
  rmSync(zipPath, { force: true });
  // -X: no extra file attributes, so the same tree gives the same bytes; -y: keep symlinks as links.
  run('zip', ['-q', '-r', '-X', '-y', zipPath, '.'], { cwd: stage });
}

function report() {
  const files = walk(stage);
  const compressed = existsSync(zipPath) ? compressedSizes(zipPath) : undefined;
  const units = new Map();
  for (const file of files) {
    const unit = units.get(unitOf(file.path)) ?? { bytes: 0, zipped: 0, files: 0 };
    unit.bytes += file.bytes;
    unit.zipped += compressed?.get(file.path) ?? 0;
    unit.files += 1;
    units.set(unitOf(file.path), unit);
  }
  const total = files.reduce((sum, f) => sum + f.bytes, 0);
  const lines = [];
  if (existsSync(zipPath)) lines.push(`zip: ${relative(root, zipPath)} ${mib(statSync(zipPath).size)} (${files.length} files, ${mib(total)} unpacked)`);
  else lines.push(`staged: ${relative(root, stage)} ${mib(total)} unpacked (${files.length} files)`);
  lines.push('top 10 by size (unpacked | in zip | files):');
  const sortKey = compressed ? 'zipped' : 'bytes';
  for (const [name, unit] of [...units.entries()].sort((a, b) => b[1][sortKey] - a[1][sortKey]).slice(0, 10)) {
    lines.push(`  ${mib(unit.bytes).padStart(10)} | ${compressed ? mib(unit.zipped).padStart(10) : '         -'} | ${String(unit.files).padStart(5)}  ${name}`);
  }
  console.log(lines.join('\n'));
}

if (!args.has('--skip-build')) run('npm', ['run', 'build'], { cwd: root });
stageApp();
if (!args.has('--no-zip')) writeZip();
report();
