/**
 * Registers the step activities (startStep, pollStep, cancelStep, finishRun, notifyStepDone,
 * reconcileRun, acquirePoolSlot, releasePoolSlots) and offers
 * `registerStepActivity` for pipelines' `kind: 'activity'` steps. The activities are built on the
 * first call, from the app's shared services (again if those are replaced).
 */
import type { InvocationContext } from '@azure/functions';
import type { DurableClient } from 'durable-functions';
import { INTERRUPT_EVENT } from '../engine/interrupts';
import { registerActivity, registerClientActivity } from '../app/registry';
import { collectRunState } from '../activities/collectRunState';
import { notifyStepDone } from '../activities/notifyStepDone';
import { reconcileRun } from '../activities/reconcileRun';
import { stopSteps } from '../activities/stopSteps';
import { advanceBackfillActivity } from '../backfill/activity';
import { startDownstreamRuns } from '../triggers/activity';
import { wakeParentAfterFinish } from '../steps/pipeline/wakeParent';
import { ADVANCE_BACKFILL_ACTIVITY } from '../backfill/types';
import type { StepActivities, UserStepHandler } from '../activities';
import { createAppStepActivities } from '../activities/fromConfig';
import { appServices, type AppServices } from '../app/services';
import { PermanentError, toActivityError } from '../core/errors';
import { ACTIVITY_NAMES } from '../steps/protocol';
import { acquirePoolSlot, releasePoolSlots, type PoolActivityDeps } from '../pools/activities';

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

/**
 * The instance calling an activity: the activity trigger's `instanceId` binding data
 * (azure-functions-durable-extension `ActivityTriggerAttributeBindingProvider`), which the Node
 * worker hands over as trigger metadata. Activities check it against the run their input names.
 */
export function callerOf(context: InvocationContext): string | undefined {
  const id = context.triggerMetadata?.['instanceId'];
  return typeof id === 'string' && id !== '' ? id : undefined;
}

/** `cancelStep`'s way to stop a polling sub-orchestration: the `interrupt` event, through the activity's client. */
export function stopPollingWith(client: DurableClient): (instanceId: string) => Promise<void> {
  return (instanceId) => client.raiseEvent(instanceId, INTERRUPT_EVENT, { kind: 'cancelled', atMs: 0 });
}

export function registerStepActivities(): void {
  // With a Durable client: a `pipeline` step starts, reads and cancels its child run through it (src/steps/pipeline).
  registerClientActivity(ACTIVITY_NAMES.startStep, async (input, client, context) => (await activities()).startStep(input, callerOf(context), client));
  registerClientActivity(ACTIVITY_NAMES.pollStep, async (input, client, context) => (await activities()).pollStep(input, callerOf(context), client));
  registerClientActivity(ACTIVITY_NAMES.cancelStep, async (input, client, context) => (await activities()).cancelStep(input, callerOf(context), stopPollingWith(client), client));
  // With a Durable client: once the end is recorded, a child run wakes its parent's pipeline step
  // (src/steps/pipeline/wakeParent.ts) and a succeeded run starts the runs its "pipeline succeeded"
  // triggers owe (src/triggers).
  registerClientActivity(ACTIVITY_NAMES.finishRun, async (input, client, context) => {
    await (await activities()).finishRun(input, callerOf(context));
    const services = await appServices();
    await wakeParentAfterFinish(input, client, services.log);
    await startDownstreamRuns(input, client, services);
  });
  registerClientActivity(ACTIVITY_NAMES.notifyStepDone, (input, client, context) => notifyStepDone(input, client, callerOf(context)));
  registerClientActivity(ACTIVITY_NAMES.reconcileRun, async (input, client, context) => reconcileRun(input, client, (await appServices()).store, callerOf(context)));
  registerClientActivity(ACTIVITY_NAMES.stopSteps, async (input, client, context) => stopSteps(input, client, (await appServices()).store, callerOf(context)));
  registerClientActivity(ACTIVITY_NAMES.collectRunState, (input, client, context) => collectRunState(input, client, callerOf(context)));
  registerClientActivity(ADVANCE_BACKFILL_ACTIVITY, async (input, client) => advanceBackfillActivity(input, client, await appServices()));
  registerClientActivity(ACTIVITY_NAMES.acquirePool, async (input, client, context) => acquirePoolSlot(input, client, poolDeps(await appServices()), callerOf(context)));
  registerClientActivity(ACTIVITY_NAMES.releasePools, async (input, client, context) => releasePoolSlots(input, client, poolDeps(await appServices()), callerOf(context)));
}

/** The pools' ledgers live in the run store's account: without one, a pipeline naming a pool cannot run. */
function poolDeps(services: AppServices): PoolActivityDeps {
  const store = services.store;
  if (!store) throw toActivityError(new PermanentError('shared pools need the run store (RUN_STORE_TABLE_URL or RUN_STORE_CONNECTION_STRING): their slots are kept in Table Storage'));
  return { store: store.pools(), pool: (name) => services.catalog.pool(name), now: () => store.clock(), log: (runId, line) => store.appendLogs(runId, [line]) };
}

/** Registers a user activity that a pipeline step `{ kind: 'activity', activity: name }` calls. */
export function registerStepActivity(name: string, handler: UserStepHandler): void {
  registerActivity(name, async (input: unknown, context) => (await activities()).wrapUserActivity(name, handler)(input, callerOf(context)));
}
