/**
 * The `advanceBackfill` activity with the app's services and a Durable client: the run store for
 * the backfill and the slot ledger, the client to start runs (the same `startRunOnce` door as the
 * API and the scheduler), read their status and raise their cancel event.
 */
import type { DurableClient } from 'durable-functions';
import { z } from 'zod';
import { findInstance, startRunOnce } from '../app/durableStarter';
import type { AppServices } from '../app/services';
import { statusFromDurable } from '../api/runView';
import { PermanentError, toActivityError } from '../core/errors';
import { advanceBackfill } from './advance';
import type { AdvanceResult } from './types';

const inputSchema = z.object({ backfillId: z.string().regex(/^bf-[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$/) }).strict();

export async function advanceBackfillActivity(input: unknown, client: DurableClient, services: AppServices): Promise<AdvanceResult> {
  const parsed = inputSchema.safeParse(input);
  if (!parsed.success) throw toActivityError(new PermanentError(`advanceBackfill input: ${z.prettifyError(parsed.error)}`));
  const store = services.store;
  if (!store) throw toActivityError(new PermanentError('backfills need the run store (RUN_STORE_TABLE_URL or RUN_STORE_CONNECTION_STRING)'));
  const log = services.log.child({ component: 'backfill', backfill: parsed.data.backfillId });
  return advanceBackfill(parsed.data.backfillId, {
    backfills: store.backfills(),
    ledger: store,
    catalog: services.catalog,
    now: services.now,
    log,
    async runStatus(runId) {
      const status = await findInstance(client, runId);
      if (status) return statusFromDurable(status);
      return (await store.getRun(runId))?.status;
    },
    async startRun(start) {
      const pipeline = services.catalog.get(start.pipeline);
      if (!pipeline) throw toActivityError(new PermanentError(`pipeline ${start.pipeline} is not deployed`));
      await startRunOnce(client, { pipeline, runId: start.runId, trigger: start.trigger, parameters: start.parameters }, store);
    },
    async cancelRun(runId, reason) {
      const status = await findInstance(client, runId);
      if (!status || ['succeeded', 'failed', 'cancelled'].includes(statusFromDurable(status))) return;
      // Recorded first, like the API's cancel, so a run that continued as new still hears it (reconcileRun).
      const claim = await store.claimCancel(runId, services.now().toISOString());
      if (claim.first) await client.raiseEvent(runId, 'cancel', { reason, requestedAt: claim.requestedAt });
    },
  });
}
