/** `npm start` on a clone where Core Tools was not installed: a hint, not the shell's "func: not found". */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

test('without func, npm start says Core Tools is missing and points to npm run dev (exit 127), building nothing', () => {
  // A folder with no node_modules/.bin/func, and a PATH that holds only node.
  const cwd = mkdtempSync(join(tmpdir(), 'dp-start-'));
  try {
    const result = spawnSync(process.execPath, [resolve('scripts/start.mjs')], { cwd, env: { PATH: dirname(process.execPath) }, encoding: 'utf8' });
    assert.equal(result.status, 127, result.stderr);
    assert.match(result.stderr, /^error: Azure Functions Core Tools \(`func`\) is not installed/);
    assert.match(result.stderr, /`npm run dev`/);
    assert.doesNotMatch(result.stderr, /not found/);
    assert.equal(result.stdout, '', 'no build ran first');
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});
