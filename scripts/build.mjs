#!/usr/bin/env node
// Builds the app as esbuild bundles: one file per entry point, so a cold start reads one file
// instead of resolving hundreds of modules (measured by `npm run bench`, see README).
// Packages listed in EXTERNAL stay in node_modules: the worker provides @azure/functions-core;
// snowflake-sdk and the Azure SDK clients are large and loaded only on first use (a step, a secret,
// a run record), so keeping them out of the bundle keeps them out of every cold start's parse
// (measured: cold-start ratio 1.35 with them bundled, 1.18 without; `npm run bench -- coldStart`).
import { build } from 'esbuild';
import { existsSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildConsole } from './buildConsole.mjs';

// @azure/core-rest-pipeline and @azure/core-util are the Key Vault client's own pipeline packages
// (src/secrets/keyVault.ts adds a retry policy to it): external, so the app and the SDK share one copy.
export const EXTERNAL = ['@azure/functions-core', 'snowflake-sdk', '@azure/identity', '@azure/keyvault-secrets', '@azure/data-tables', '@azure/core-rest-pipeline', '@azure/core-util'];

export const ENTRIES = {
  index: 'src/index.ts',
  cli: 'src/cli/main.ts',
};

/** How every app bundle is built (bench/memory.ts bundles its measured process the same way). */
export const BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: EXTERNAL,
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
};

/** `npm run build`: clears earlier builds, bundles the entries, builds the console. */
async function main() {
  // Clears earlier builds but not what `npm run package` staged in dist/package and
  // dist/durable-pipelines.zip: azd runs `npm run build` after its prepackage hook has staged the
  // upload (Azure/azure-dev cli/azd/pkg/project/framework_service_node.go, Package), then zips it.
  const PACKAGED = new Set(['package', 'durable-pipelines.zip']);
  if (existsSync('dist')) {
    for (const name of readdirSync('dist')) {
      if (!PACKAGED.has(name)) rmSync(`dist/${name}`, { recursive: true, force: true });
    }
  }
  await build({ ...BUNDLE_OPTIONS, entryPoints: ENTRIES, outdir: 'dist' });

  // The web console the app serves at / (src/console/serve.ts finds it next to dist/index.js).
  await buildConsole();
}

// Run as a script, not when a bench imports it for its options.
if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))) {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
