/**
 * The step activities the app serves, wired to the real adapters and the app's shared services
 * (secrets, run store, notifier). Adapter modules with heavy SDKs are imported on first use so a
 * cold start that runs no step does not pay for them.
 */
import type { AppServices } from '../app/services';
import { cachedPinned } from '../app/definitions';
import { createStepActivities, type StepActivities } from './stepActivities';

export async function createAppStepActivities(services: AppServices): Promise<StepActivities> {
  const { config, credential } = services;
  const [{ createAzureFunctionAdapter }, { createSnowflakeAdapter }, { createDbtAdapter }, { createWaitForAdapter }, { createApprovalAdapter }, { createPipelineAdapter }] = await Promise.all([
    import('../steps/azureFunction'),
    import('../steps/snowflake'),
    import('../steps/dbt'),
    import('../steps/waitFor/adapter'),
    import('../steps/approval/adapter'),
    import('../steps/pipeline/adapter'),
  ]);
  const identity = {
    ...(config.AZURE_CLIENT_ID === undefined ? {} : { managedIdentityClientId: config.AZURE_CLIENT_ID }),
    ...(credential ? { credential } : {}),
  };
  return createStepActivities({
    catalog: services.catalog,
    ...(services.store ? { pinned: cachedPinned(services.store.definitions) } : {}),
    adapters: {
      azureFunction: createAzureFunctionAdapter(),
      snowflake: createSnowflakeAdapter(config.SNOWFLAKE_ACCESS_URL === undefined ? {} : { accessUrl: config.SNOWFLAKE_ACCESS_URL }),
      dbt: createDbtAdapter(identity),
      waitFor: createWaitForAdapter(identity),
      approval: createApprovalAdapter({ approvals: services.store?.approvals(), now: services.now }),
      pipeline: createPipelineAdapter({ catalog: services.catalog, store: services.store, now: services.now }),
    },
    secrets: services.secrets,
    secretsFor: (pipeline) => {
      const project = services.catalog.get(pipeline)?.project;
      return project === undefined ? undefined : services.secretsOf(project);
    },
    settings: services.settings,
    ...(services.store ? { recorder: services.store, records: services.store, alerts: services.store } : {}),
    notifier: services.notifier,
    logger: services.log,
    clock: services.now,
  });
}
