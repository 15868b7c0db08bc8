/** Registers the engine's orchestrators: runPipeline, its polling and parallel-step sub-orchestrations. */
import { appDefinitions } from '../app/definitions';
import { registerOrchestration } from '../app/registry';
import { engineOrchestrators } from '../engine';

export function registerOrchestrators(): void {
  for (const { name, handler } of engineOrchestrators({ definitions: appDefinitions })) registerOrchestration(name, handler);
}
