// Type-aware lint. Orchestrator code (src/engine/**) must be deterministic: it replays from history,
// so it may not import I/O, read the clock, draw random numbers or read the environment.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const ioModules = [
  'node:*', 'fs', 'fs/*', 'path', 'os', 'http', 'https', 'net', 'child_process', 'crypto', 'stream', 'url', 'util', 'worker_threads',
  '@azure/*', 'snowflake-sdk', 'pino', 'undici', 'croner', 'commander', 'zod',
  '**/logging/*', '**/secrets/*', '**/runs/*', '**/steps/adapters/*', '**/steps/*/*', '**/notify/*', '**/api/*', '**/devhost/*', '**/config/*', '**/scheduler/*',
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '**/*.mjs', '**/*.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/only-throw-error': 'off',
    },
  },
  {
    files: ['src/engine/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ioModules, message: 'orchestrator code is replayed: no I/O imports (see src/engine/README.md)' }] }],
      'no-restricted-globals': ['error',
        { name: 'process', message: 'orchestrators may not read the environment' },
        { name: 'setTimeout', message: 'use context.df.createTimer' },
        { name: 'setInterval', message: 'use context.df.createTimer' },
        { name: 'fetch', message: 'I/O belongs in activities' },
        { name: 'Date', message: 'use context.df.currentUtcDateTime' },
      ],
      'no-restricted-properties': ['error',
        { object: 'Math', property: 'random', message: 'derive randomness from the run id' },
        { object: 'Date', property: 'now', message: 'use context.df.currentUtcDateTime' },
        { object: 'crypto', property: 'randomUUID', message: 'use context.df.newGuid' },
      ],
      'no-restricted-syntax': ['error', { selector: "NewExpression[callee.name='Date']", message: 'use context.df.currentUtcDateTime' }],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      // node:test's describe/test return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'test', 'it', 'suite'] }] }],
    },
  },
);
