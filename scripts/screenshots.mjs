#!/usr/bin/env node
// `npm run screenshots`: the README's console screenshots (docs/images/*.png), taken from the pages
// the console test drives in Chromium against the demo. Only this command writes them: `npm test`
// runs the same test and leaves the checkout as it was.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';

const out = process.argv[2] ?? 'docs/images';
mkdirSync(out, { recursive: true });
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', 'test/integration/console.test.ts'], {
  stdio: 'inherit',
  env: { ...process.env, NODE_NO_WARNINGS: '1', DOCS_SCREENSHOTS: out },
});
process.exit(result.status ?? 1);
