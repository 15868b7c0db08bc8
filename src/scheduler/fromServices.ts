/**
 * One scheduler tick with the app's services: the Table store as checkpoint and slot ledger, the
 * invocation's Durable client as starter, the notifier for late slots.
 */
import type { DurableClient } from 'durable-functions';
import { durableRunStarter } from '../app/durableStarter';
import type { AppServices } from '../app/services';
import type { LateSlotsEvent, StartFailedSlotsEvent } from './ports';
import { runSchedulerTick, type SchedulerTickSummary } from './tick';

export async function tickWithServices(services: AppServices, client: Pick<DurableClient, 'startNew' | 'getStatus' | 'getStatusBy'>, now: Date): Promise<SchedulerTickSummary | undefined> {
  if (!services.config.SCHEDULER_ENABLED) return undefined;
  if (!services.store) {
    // Without a ledger the tick cannot guarantee once per slot: better no scheduled run than two.
    services.log.error({ event: 'scheduler.disabled' }, 'the scheduler needs the run store (slot ledger); no schedule fires');
    return undefined;
  }
  const log = services.log.child({ component: 'scheduler' });
  return runSchedulerTick({
    now,
    catalog: services.catalog,
    store: services.store,
    starter: durableRunStarter(client, services.store),
    log,
    notifyLate: (event) => notifyLate(services, event),
    notifyStartFailed: (event) => notifyStartFailed(services, event),
  });
}

/** A slot that could not start its run is a failed run nobody will see otherwise: the `failed` alerts hear of it. */
async function notifyStartFailed(services: AppServices, event: StartFailedSlotsEvent): Promise<void> {
  const pipeline = services.catalog.get(event.pipeline);
  const alerts = (pipeline?.alerts ?? []).filter((a) => a.on.includes('failed'));
  const latest = event.slots[event.slots.length - 1];
  if (alerts.length === 0 || !latest) return;
  const more = event.slots.length > 1 ? ` (${event.slots.length} slots of this schedule could not start in this tick)` : '';
  const results = await services.notifier.notify(
    {
      kind: 'failed',
      notStarted: true,
      pipeline: event.pipeline,
      ...(pipeline ? { title: pipeline.title } : {}),
      schedule: event.schedule,
      scheduledFor: latest.slot,
      error: `${latest.reason ?? 'the run could not be started'}${more}`,
    },
    alerts,
  );
  if (results.some((r) => !r.ok)) throw new Error(results.filter((r) => !r.ok).map((r) => `${r.channel} (${r.webhook}): ${r.error ?? 'not delivered'}`).join('; '));
}

async function notifyLate(services: AppServices, event: LateSlotsEvent): Promise<void> {
  const pipeline = services.catalog.get(event.pipeline);
  // The `slot.late` event the Portal alert reads is logged by the tick itself (emitSlotLate), notifier or not.
  const alerts = (pipeline?.alerts ?? []).filter((a) => a.on.includes('late'));
  if (alerts.length === 0) return;
  const latest = event.slots[event.slots.length - 1];
  await services.notifier.notify(
    {
      kind: 'late',
      pipeline: event.pipeline,
      ...(pipeline ? { title: pipeline.title } : {}),
      schedule: event.schedule,
      ...(latest ? { scheduledFor: latest.slot, ...(latest.lateBySeconds === undefined ? {} : { lateBySeconds: latest.lateBySeconds }), ...(latest.instanceId ? { runId: latest.instanceId } : {}) } : {}),
    },
    alerts,
  );
}
