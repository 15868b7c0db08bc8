/**
 * Registers the step activities (startStep, pollStep, cancelStep, finishRun, notifyStepDone,
 * reconcileRun) and offers
 * `registerStepActivity` for pipelines' `kind: 'activity'` steps. The activities are built on the
 * first call, from the app's shared services (again if those are replaced).
 */
import { registerActivity, registerClientActivity } from '../app/registry';
import { notifyStepDone } from '../activities/notifyStepDone';
import { reconcileRun } from '../activities/reconcileRun';
import { advanceBackfillActivity } from '../backfill/activity';
import { startDownstreamRuns } from '../triggers/activity';
import { ADVANCE_BACKFILL_ACTIVITY } from '../backfill/types';
import type { StepActivities, UserStepHandler } from '../activities';
import { createAppStepActivities } from '../activities/fromConfig';
import { appServices, type AppServices } from '../app/services';
import { PermanentError, toActivityError } from '../core/errors';
import { ACTIVITY_NAMES } from '../steps/protocol';

/** The activities, built for one services instance (the dev host and tests swap services, e.g. the catalog). */
let built: { readonly services: AppServices; readonly activities: Promise<StepActivities> } | undefined;

async function activities(): Promise<StepActivities> {
  try {
    const services = await appServices();
    // Activities look steps up in the services' catalog: follow the services the app serves now.
    if (built?.services !== services) built = { services, activities: createAppStepActivities(services) };
    return await built.activities;
  } catch (error) {
    built = undefined; // a setting fixed later must not need a restart
    // Retrying the step cannot fix the app's settings.
    throw toActivityError(new PermanentError(error instanceof Error ? error.message : String(error), { cause: error }));
  }
}

export function registerStepActivities(): void {
  registerActivity(ACTIVITY_NAMES.startStep, async (input: unknown) => (await activities()).startStep(input));
  registerActivity(ACTIVITY_NAMES.pollStep, async (input: unknown) => (await activities()).pollStep(input));
  registerActivity(ACTIVITY_NAMES.cancelStep, async (input: unknown) => (await activities()).cancelStep(input));
  // With a Durable client: a succeeded run starts the runs its "pipeline succeeded" triggers owe (src/triggers).
  registerClientActivity(ACTIVITY_NAMES.finishRun, async (input, client) => {
    await (await activities()).finishRun(input);
    await startDownstreamRuns(input, client, await appServices());
  });
  registerClientActivity(ACTIVITY_NAMES.notifyStepDone, (input, client) => notifyStepDone(input, client));
  registerClientActivity(ACTIVITY_NAMES.reconcileRun, async (input, client) => reconcileRun(input, client, (await appServices()).store));
  registerClientActivity(ADVANCE_BACKFILL_ACTIVITY, async (input, client) => advanceBackfillActivity(input, client, await appServices()));
}

/** Registers a user activity that a pipeline step `{ kind: 'activity', activity: name }` calls. */
export function registerStepActivity(name: string, handler: UserStepHandler): void {
  registerActivity(name, async (input: unknown) => (await activities()).wrapUserActivity(name, handler)(input));
}
