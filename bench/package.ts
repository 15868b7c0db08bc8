/**
 * Cold start of the *packaged* app (dist/package, what `npm run package` zips and Azure runs):
 * a fresh node process loading the staged entry point against one loading only @azure/functions
 * and durable-functions — the floor any Durable app pays. The floor resolves those two packages
 * from the repository's node_modules (same locked versions): the staged app has them inside its
 * bundle, so its own node_modules does not hold them.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { alternate, fmt, timeNodeProcess } from './stats';

interface Manifest {
  main: string;
  dependencies?: Record<string, string>;
}

const root = resolve(__dirname, '..');
const stage = resolve(root, 'dist', 'package');

function readManifest(dir: string): Manifest {
  return JSON.parse(readFileSync(resolve(dir, 'package.json'), 'utf8')) as Manifest;
}

/** Re-stages (without zipping) when the staged app is missing or older than the build. */
function ensureStaged(): void {
  const built = resolve(root, readManifest(root).main);
  if (!existsSync(built)) throw new Error(`${built} is missing: run npm run build first`);
  const staged = resolve(stage, 'package.json');
  if (existsSync(staged) && statSync(staged).mtimeMs >= statSync(built).mtimeMs) return;
  const result = spawnSync(process.execPath, [resolve(root, 'scripts', 'package.mjs'), '--skip-build', '--no-zip'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  if (result.status !== 0) throw new Error(`staging failed: ${result.stderr.toString()}`);
}

export async function run(rounds = 21): Promise<string[]> {
  ensureStaged();
  const manifest = readManifest(stage);
  const main = resolve(stage, manifest.main);
  const app = `require(${JSON.stringify(main)})`;
  const floor = `require('@azure/functions'); require('durable-functions')`;
  await Promise.resolve();
  const r = alternate(rounds, () => timeNodeProcess(app, stage), () => timeNodeProcess(floor, root));
  const zip = resolve(root, 'dist', 'durable-pipelines.zip');
  const external = Object.keys(manifest.dependencies ?? {});
  return [
    `packaged cold start (median of ${rounds}, alternated): dist/package ${fmt(r.a)} ms vs @azure/functions + durable-functions ${fmt(r.b)} ms → ratio ${fmt(r.ratio, 2)}`,
    `staged external packages: ${external.length > 0 ? external.join(', ') : 'none'}` +
      (existsSync(zip) ? `; last zip ${fmt(statSync(zip).size / 1024 / 1024)} MiB` : ''),
  ];
}
