#!/usr/bin/env node
// Runs test tiers with node's test runner: `node scripts/run-tests.mjs unit orchestration integration`.
// Each tier is test/<tier>/**/*.test.ts; a tier with no tests says so and passes.
//
// Files run concurrently, each in its own process (node's runner defaults to one at a time on a
// 2-core machine, and most of our files wait on sockets, child processes and Azurite rather than
// on the CPU). A file whose first lines carry `@test-exclusive: <why>` runs alone, before the
// others: it rewrites something other files read (dist/, for instance).
// TEST_CONCURRENCY overrides the number of files at once (default: 2 per core, at least 2).
import { readdirSync, statSync, existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const tiers = process.argv.slice(2);
if (tiers.length === 0) tiers.push('unit', 'orchestration', 'integration');

function findTests(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return findTests(path);
    return name.endsWith('.test.ts') ? [path] : [];
  });
}

/** Whether the file asks to run alone (the marker must sit in its leading comment). */
function isExclusive(file) {
  const head = readFileSync(file, 'utf8').slice(0, 4000);
  return /@test-exclusive:\s*\S/.test(head);
}

const files = [];
for (const tier of tiers) {
  const found = findTests(join('test', tier)).sort();
  if (found.length === 0) console.log(`# tier ${tier}: no tests yet`);
  files.push(...found);
}
if (files.length === 0) {
  console.log('0 passed, 0 failed');
  process.exit(0);
}

const concurrency = Number.parseInt(process.env.TEST_CONCURRENCY ?? '', 10) || Math.max(2, availableParallelism() * 2);
const exclusive = files.filter(isExclusive);
const shared = files.filter((f) => !exclusive.includes(f));

function runFiles(list, filesAtOnce) {
  if (list.length === 0) return 0;
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', `--test-concurrency=${filesAtOnce}`, '--test-reporter=spec', ...list],
    { stdio: 'inherit', env: { ...process.env, NODE_NO_WARNINGS: '1' } },
  );
  return result.status ?? 1;
}

const exclusiveStatus = runFiles(exclusive, 1);
const sharedStatus = runFiles(shared, concurrency);
process.exit(exclusiveStatus !== 0 ? exclusiveStatus : sharedStatus);
