#!/usr/bin/env node
// Builds the app as esbuild bundles: one file per entry point, so a cold start reads one file
// instead of resolving hundreds of modules (measured by `npm run bench`, see README).
// Packages listed in EXTERNAL stay in node_modules: the worker provides @azure/functions-core,
// and snowflake-sdk is large, loaded lazily on the first Snowflake step, and requires files dynamically.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';

export const EXTERNAL = ['@azure/functions-core', 'snowflake-sdk'];

export const ENTRIES = {
  index: 'src/index.ts',
  cli: 'src/cli/main.ts',
};

rmSync('dist', { recursive: true, force: true });
await build({
  entryPoints: ENTRIES,
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: EXTERNAL,
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
});
