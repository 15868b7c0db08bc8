#!/usr/bin/env node
// `npm start`: build, then `func start`, as Azure Functions Core Tools runs the app. Core Tools is
// an optional dependency whose install downloads a binary (it fails behind a proxy or offline and
// npm then skips it), so a fresh clone may not have `func`: say so, and what to do, instead of
// the shell's "func: not found".
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** `func` from node_modules/.bin (where npm puts the optional dependency) or the PATH. */
function findFunc() {
  const names = process.platform === 'win32' ? ['func.cmd', 'func.exe', 'func'] : ['func'];
  const dirs = [join(process.cwd(), 'node_modules', '.bin'), ...(process.env.PATH ?? '').split(delimiter)];
  for (const dir of dirs) for (const name of names) if (dir && existsSync(join(dir, name))) return join(dir, name);
  return undefined;
}

const func = findFunc();
if (!func) {
  console.error(
    [
      'error: Azure Functions Core Tools (`func`) is not installed, so `npm start` cannot run `func start`.',
      '  It is an optional dependency whose install downloads a binary; npm skips it when that download fails.',
      '  Run the app without it: `npm run dev` (the same functions in the development host, no Core Tools needed).',
      '  Or install Core Tools v4: `npm install --global azure-functions-core-tools@4`',
      '  (https://learn.microsoft.com/azure/azure-functions/functions-run-local), then `npm start` again.',
    ].join('\n'),
  );
  process.exit(127);
}
const probe = spawnSync(func, ['--version'], { encoding: 'utf8' });
if (probe.status !== 0) {
  console.error(`error: ${func} is there but does not run (${(probe.stderr || probe.error?.message || '').trim() || `exit ${probe.status}`}): reinstall Core Tools v4, or use \`npm run dev\`.`);
  process.exit(127);
}
// Checked first, built second: no 15 s build before saying Core Tools is missing.
const build = spawnSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
const child = spawn(func, ['start', ...process.argv.slice(2)], { stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
