/**
 * Entry point (package.json `main`). Validates the settings and the pipelines, registers every function, then refuses
 * activity steps that name no registered activity.
 * Keep this file and the registration files light: heavy SDKs (snowflake-sdk, identity, tables)
 * load on first use, not here — cold start is measured by `npm run bench`.
 */
import { configureApp, registrations } from './app/registry';
import { assertValidSettings, ConfigError } from './config/config';
import { refuseUnregisteredActivitySteps } from './app/activitySteps';
import { appCatalog } from './app/catalog';
import { PipelineValidationError } from './pipelines/validate';
import { registerFunctions } from './functions';

configureApp();

try {
  // Settings first: an app that starts on bad settings answers every request 500 and fires schedules
  // it should not; refused here, the host prints every problem once at start-up.
  assertValidSettings();
  const catalog = appCatalog();
  registerFunctions();
  // after every registration (user activities included): a step naming none would hang in Azure
  refuseUnregisteredActivitySteps(catalog, registrations());
} catch (error) {
  if (error instanceof ConfigError) {
    // Listed once on stderr (the host log); what the host reports as the load failure points to it.
    console.error(error.message);
    throw new ConfigError('the app did not start: its app settings are invalid (listed above)');
  }
  if (error instanceof PipelineValidationError) {
    // The host prints this at start-up; the app serves nothing until the definitions are fixed.
    console.error(error.message);
  }
  throw error;
}
