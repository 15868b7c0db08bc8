/**
 * Red-team pass 2, F8: `npm run dev -- --help` printed nothing and started an open dev host (no key,
 * the scheduler on with local.settings.json); `--as admin` ended in a stack trace. Flags are now
 * parsed before anything starts: help exits 0, a wrong flag or value exits 3 naming it, no host.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDev } from '../support/devProcess';

async function devWith(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const cwd = mkdtempSync(join(tmpdir(), 'dev-flags-'));
  try {
    const dev = startDev(0, cwd, { SCHEDULER_ENABLED: 'true', AZURITE_LOCATION: join(cwd, 'azurite') }, args);
    // A host that starts is a failure: stop it rather than wait forever.
    const started = setInterval(() => {
      if (/dev host on/.test(dev.output())) dev.child.kill('SIGTERM');
    }, 100);
    try {
      return await dev.exited;
    } finally {
      clearInterval(started);
    }
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

describe('npm run dev flags', () => {
  test('--help prints the flags and exits 0 without starting a host', async () => {
    const result = await devWith(['--help']);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /--as <user>[\s\S]*--scheduler[\s\S]*--allow-host <host>/);
    assert.doesNotMatch(result.stdout + result.stderr, /dev host on|Azurite \(data in/);
  });

  test('an unknown flag and --as admin exit 3 with one line naming them, no stack trace, no host', async () => {
    for (const [args, said] of [[['--bogus'], /unknown option '--bogus'/], [['--as', 'admin'], /argument 'admin' is invalid\. use reader, operator, reader:<project> or operator:<project>/]] as const) {
      const result = await devWith(args);
      assert.equal(result.code, 3, result.stdout + result.stderr);
      assert.match(result.stderr, said);
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'a stack trace');
      assert.doesNotMatch(result.stdout + result.stderr, /dev host on/);
    }
  });
});
