/** Registers the engine's orchestrators: runPipeline, its polling and parallel-step sub-orchestrations. */
import { appDefinitions, cachedPinned, prepareOrchestration } from '../app/definitions';
import { registerOrchestration } from '../app/registry';
import { appServices } from '../app/services';
import { engineOrchestrators } from '../engine';
import { runBackfill } from '../engine/backfill';
import { BACKFILL_ORCHESTRATOR } from '../backfill/types';

/** Loads the pinned definition a run names before its orchestrator replays (src/app/definitions.ts). */
async function prepare(input: unknown): Promise<void> {
  const services = await appServices();
  const store = services.store;
  await prepareOrchestration(input, store ? cachedPinned(store.definitions) : undefined, (message) => services.log.warn(message));
}

export function registerOrchestrators(): void {
  for (const { name, handler } of engineOrchestrators({ definitions: appDefinitions })) registerOrchestration(name, handler, prepare);
  registerOrchestration(BACKFILL_ORCHESTRATOR, runBackfill);
}
