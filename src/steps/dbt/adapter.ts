/**
 * The `dbt` step kind: one adapter, two runners chosen by `step.runner.type` — dbt Cloud's Admin
 * API, or dbt-core in an Azure Container Apps job started through ARM.
 */
import type { JsonObject } from '../../core/json';
import type { Fetch } from '../../azure/http';
import { lazyTokenSource, type TokenCredential } from '../../azure/tokens';
import { maskSecrets } from '../../logging/mask';
import type { AdapterFor, StepContext } from '../adapter';
import { createDbtCloudRunner } from './cloud';
import { createContainerAppsJobRunner } from './containerAppsJob';
import type { DbtStep } from './types';

export interface DbtAdapterDeps {
  /** The app's identity for ARM and Blob Storage; default: DefaultAzureCredential. */
  readonly credential?: TokenCredential;
  /** Client id of the user-assigned managed identity (config AZURE_CLIENT_ID) for the default credential. */
  readonly managedIdentityClientId?: string;
  /** Defaults to the global fetch. */
  readonly fetch?: Fetch;
}

export function createDbtAdapter(deps: DbtAdapterDeps = {}): AdapterFor<'dbt'> {
  const fetchImpl: Fetch = deps.fetch ?? ((input, init) => fetch(input, init));
  // Built on first use: a pipeline with only dbt Cloud steps never needs an Azure identity.
  const lazyTokens = lazyTokenSource(deps);
  const cloud = createDbtCloudRunner({ fetch: fetchImpl });
  const job = createContainerAppsJobRunner({ fetch: fetchImpl, tokens: lazyTokens });

  return {
    start(step: DbtStep, ctx: StepContext) {
      return step.runner.type === 'cloud' ? cloud.start(step, step.runner, ctx) : job.start(step, step.runner, ctx);
    },
    poll(step: DbtStep, handle: JsonObject, ctx: StepContext) {
      return step.runner.type === 'cloud' ? cloud.poll(step, step.runner, handle, ctx) : job.poll(step, step.runner, handle, ctx);
    },
    async cancel(step: DbtStep, handle: JsonObject, ctx: StepContext) {
      try {
        if (step.runner.type === 'cloud') await cloud.cancel(step, step.runner, handle, ctx);
        else await job.cancel(step, step.runner, handle, ctx);
      } catch (error) {
        // Best effort by contract: the step is ending either way.
        ctx.log.warn({ err: maskSecrets(error instanceof Error ? error.message : String(error)) }, 'dbt cancel failed');
      }
    },
  };
}
