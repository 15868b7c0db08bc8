#!/usr/bin/env node
// Runs test tiers with node's test runner: `node scripts/run-tests.mjs unit orchestration integration security`.
// Each tier is test/<tier>/**/*.test.ts; a tier with no tests says so and passes.
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const tiers = process.argv.slice(2);
if (tiers.length === 0) tiers.push('unit', 'orchestration', 'integration', 'security');

function findTests(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return findTests(path);
    return name.endsWith('.test.ts') ? [path] : [];
  });
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
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', ...files],
  { stdio: 'inherit', env: { ...process.env, NODE_NO_WARNINGS: '1' } },
);
process.exit(result.status ?? 1);
