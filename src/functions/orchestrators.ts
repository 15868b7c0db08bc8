/** Registers the engine's orchestrators: runPipeline, its polling and parallel-step sub-orchestrations. */
import { registerOrchestration } from '../app/registry';
import { engineOrchestrators } from '../engine';
import { runBackfill } from '../engine/backfill';
import { BACKFILL_ORCHESTRATOR } from '../backfill/types';

export function registerOrchestrators(): void {
  for (const { name, handler } of engineOrchestrators()) registerOrchestration(name, handler);
  registerOrchestration(BACKFILL_ORCHESTRATOR, runBackfill);
}
