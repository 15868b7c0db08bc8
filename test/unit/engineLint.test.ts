import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ESLint } from 'eslint';

/**
 * The determinism guard: orchestrator files are replayed from history, so the lint config must
 * refuse what would make a replay differ (clock, randomness, environment, I/O). These lint a
 * small file placed under src/engine with the project's own eslint.config.mjs.
 */
async function lintEngineFile(code: string): Promise<string[]> {
  // The file exists only in memory: let typed linting use the default project for it.
  const eslint = new ESLint({
    cwd: process.cwd(),
    overrideConfig: { languageOptions: { parserOptions: { projectService: { allowDefaultProject: ['src/engine/bad.ts'] }, tsconfigRootDir: process.cwd() } } },
  });
  const [result] = await eslint.lintText(code, { filePath: 'src/engine/bad.ts' });
  return (result?.messages ?? []).map((m) => `${m.ruleId ?? 'fatal'}: ${m.message}`);
}

describe('determinism lint rules for src/engine', () => {
  test('reading the clock, drawing random numbers and reading the environment are errors', async () => {
    const messages = await lintEngineFile(
      [
        'export function bad(): number {',
        '  const a = Date.now();',
        '  const b = new Date().getTime();',
        '  const c = Math.random();',
        "  const d = Number(process.env['X'] ?? 0);",
        '  return a + b + c + d;',
        '}',
        '',
      ].join('\n'),
    );
    const rules = messages.map((m) => m.split(':')[0]);
    assert.ok(messages.some((m) => m.includes('use context.df.currentUtcDateTime')), messages.join('\n'));
    assert.ok(messages.some((m) => m.includes('derive randomness from the run id')), messages.join('\n'));
    assert.ok(messages.some((m) => m.includes('orchestrators may not read the environment')), messages.join('\n'));
    assert.ok(rules.includes('no-restricted-properties') && rules.includes('no-restricted-globals') && rules.includes('no-restricted-syntax'), messages.join('\n'));
  });

  test('I/O imports are errors', async () => {
    const messages = await lintEngineFile(
      [
        "import { readFileSync } from 'node:fs';",
        "import { TableClient } from '@azure/data-tables';",
        "import { logger } from '../logging/logger';",
        'export const x = [readFileSync, TableClient, logger];',
        '',
      ].join('\n'),
    );
    const imports = messages.filter((m) => m.startsWith('no-restricted-imports'));
    assert.equal(imports.length, 3, messages.join('\n'));
  });

  test('the engine’s own pure imports pass', async () => {
    const messages = await lintEngineFile(
      [
        "import { readFailure } from '../core/errors';",
        "import { parseDuration } from '../pipelines/duration';",
        "import { topologicalOrder } from '../pipelines/graph';",
        'export const y = [readFailure, parseDuration, topologicalOrder];',
        '',
      ].join('\n'),
    );
    assert.deepEqual(messages, []);
  });
});
