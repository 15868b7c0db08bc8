/** Retention: run records older than RUN_RETENTION_DAYS go, with their Durable history. */
import type { DurableClient } from 'durable-functions';
import type { AppServices } from '../app/services';

export async function purgeExpiredRuns(services: AppServices, client: Pick<DurableClient, 'purgeInstanceHistoryBy'>): Promise<{ runs: number; instances: number }> {
  const days = services.config.RUN_RETENTION_DAYS;
  const cutoff = new Date(services.now().getTime() - days * 86_400_000);
  const schedules = services.catalog.pipelines.flatMap((p) => p.schedules.map((s) => ({ pipeline: p.name, schedule: s.name })));
  const purged = services.store ? await services.store.purgeOlderThan(days, { schedules }) : { runIds: [], slotsDeleted: 0 };
  // By creation time rather than by id: a run's step and polling sub-orchestrations go too.
  const history = await client.purgeInstanceHistoryBy({
    createdTimeFrom: new Date(0),
    createdTimeTo: cutoff,
    runtimeStatus: ['Completed', 'Failed', 'Terminated'] as never,
  });
  services.log.info({ event: 'retention.purged', days, runs: purged.runIds.length, slots: purged.slotsDeleted, instances: history.instancesDeleted }, 'purged expired runs');
  return { runs: purged.runIds.length, instances: history.instancesDeleted };
}
