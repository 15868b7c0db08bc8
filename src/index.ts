/**
 * Entry point (package.json `main`). Validates the pipelines, then registers every function.
 * Keep this file and the registration files light: heavy SDKs (snowflake-sdk, identity, tables)
 * load on first use, not here — cold start is measured by `npm run bench`.
 */
import { configureApp } from './app/registry';
import { appCatalog } from './app/catalog';
import { PipelineValidationError } from './pipelines/validate';
import { registerFunctions } from './functions';

configureApp();

try {
  appCatalog();
} catch (error) {
  if (error instanceof PipelineValidationError) {
    // The host prints this at start-up; the app registers nothing until the definitions are fixed.
    console.error(error.message);
  }
  throw error;
}

registerFunctions();
