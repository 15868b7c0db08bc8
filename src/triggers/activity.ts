/**
 * Trigger firing with the app's services and a Durable client: the same `startRunOnce` door as
 * every other start, the trigger ledger in the run store.
 */
import type { DurableClient } from 'durable-functions';
import { startRunOnce } from '../app/durableStarter';
import type { AppServices } from '../app/services';
import { finishRunInputSchema } from '../activities/schemas';
import type { FinishRunInput } from '../engine/runPipeline';
import type { FirePorts } from './fire';
import { fireDownstream } from './pipelineSucceeded';

export function firePorts(client: Pick<DurableClient, 'startNew' | 'getStatus' | 'getStatusBy'>, services: AppServices): FirePorts {
  const history = services.store?.triggerHistory();
  const log = services.log.child({ component: 'triggers' });
  return {
    start: (start) => startRunOnce(client, start, services.store),
    async record(event) {
      try {
        await history?.record(event);
      } catch (error) {
        // The run started (or not) either way; the log line above says which.
        log.error({ err: error, trigger: event.trigger }, 'trigger history could not be written');
      }
    },
    now: services.now,
    log,
  };
}

/** After `finishRun`: a succeeded run starts its downstream pipelines' runs. Never fails the upstream run. */
export async function startDownstreamRuns(input: unknown, client: DurableClient, services: AppServices): Promise<void> {
  const parsed = finishRunInputSchema.safeParse(input);
  if (!parsed.success) return; // finishRun refused it already
  const finished = parsed.data as FinishRunInput;
  if (finished.run.status !== 'succeeded') return;
  if (!services.catalog.pipelines.some((p) => p.triggers.some((t) => t.pipelineSucceeded?.pipeline === finished.run.pipeline))) return;
  try {
    await fireDownstream({ run: finished.run, trigger: finished.trigger, parameters: finished.parameters }, services.catalog, firePorts(client, services));
  } catch (error) {
    // A downstream that could not start is an alertable event, not a failure of the upstream run.
    services.log.error({ event: 'trigger.failed', runId: finished.run.runId, pipeline: finished.run.pipeline, err: error }, 'downstream runs could not be started');
  }
}
