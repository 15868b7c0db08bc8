/** Registers the engine's orchestrators: runPipeline, its polling and parallel-step sub-orchestrations. */
import { registerOrchestration } from '../app/registry';
import { engineOrchestrators } from '../engine';

export function registerOrchestrators(): void {
  for (const { name, handler } of engineOrchestrators()) registerOrchestration(name, handler);
}
