#!/usr/bin/env node
/*
 * `npx durable-pipelines …` from a fresh clone: `npm ci` builds nothing, so the bin cannot point at
 * dist/cli.js (npm links no bin whose target is missing, and npx caches that missing link).
 * This committed file picks what to run:
 *   - the sources (src/cli/main.ts through tsx, a devDependency) when dist/cli.js is missing or older
 *     than any file under src/, and always for `validate` and `schedules preview`, which judge the
 *     definitions as they are now, not the copy bundled into dist/cli.js at the last build;
 *   - dist/cli.js otherwise (no TypeScript compile on each call), or when tsx is not installed
 *     (`npm ci --omit=dev`), saying so if that build is older than the sources.
 * How npx finds this file: npm's libnpmexec installs the project itself into the npx cache when its
 * package.json has a matching `bin` entry and links that entry (npm/cli workspaces/libnpmexec/lib/index.js).
 */
'use strict';
const { existsSync, readdirSync, statSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const built = join(root, 'dist', 'cli.js');
const sources = join(root, 'src');

/** Newest modification time of any file under `dir` (0 when there is none). */
function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** `validate` and `schedules preview`, wherever the global options sit on the command line. */
function readsDefinitions(args) {
  const words = args.filter((a) => !a.startsWith('-'));
  return words[0] === 'validate' || (words[0] === 'schedules' && words[1] === 'preview');
}

function tsxInstalled() {
  try {
    require.resolve('tsx/cjs/api', { paths: [root] });
    return true;
  } catch {
    return false;
  }
}

function load() {
  const haveSources = existsSync(join(sources, 'cli', 'main.ts'));
  const haveBuild = existsSync(built);
  const stale = haveSources && haveBuild && statSync(built).mtimeMs < newestMtime(sources);
  const wantSources = haveSources && (!haveBuild || stale || readsDefinitions(process.argv.slice(2)));
  if (wantSources && tsxInstalled()) {
    require(require.resolve('tsx/cjs/api', { paths: [root] })).register();
    return require(join(sources, 'cli', 'main.ts'));
  }
  if (!haveBuild) {
    process.stderr.write('error: neither dist/cli.js nor tsx is installed: run `npm ci` (or `npm run build`) in the durable-pipelines folder\n');
    process.exit(1);
  }
  if (stale) process.stderr.write('warning: dist/cli.js is older than src/ and tsx is not installed: run `npm run build`\n');
  return require(built);
}

load().runCli();
