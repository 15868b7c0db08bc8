/**
 * Only `runPipeline` may be started from outside; every other orchestrator of the engine runs as a
 * sub-orchestration of a run (or of one of its batch nodes or steps). A Durable client — the API,
 * the raw webhook — can start any orchestrator by name, but never with a parent: the extension
 * passes the parent only to sub-orchestrations (azure-functions-durable-extension
 * `OrchestrationTriggerAttributeBindingProvider`, `parentInstanceId`). So an orchestrator whose
 * parent is not the run its input names (or one of that run's instances) refuses to run: a run is
 * checked against its record once, where it opens (activity `reconcileRun`), and everything under
 * it inherits that check (src/activities/runGate.ts).
 */
import type { OrchestrationContext } from 'durable-functions';

/** Throws (the orchestration fails, having done nothing) unless the parent belongs to run `runId`. */
export function requireLineage(context: OrchestrationContext, runId: string): void {
  const parent = context.df.parentInstanceId;
  if (parent !== undefined && parent !== '' && (parent === runId || parent.startsWith(`${runId}:`))) return;
  throw new Error(`run refused: ${context.df.instanceId} runs only under run "${runId}" (its parent: ${parent ? `"${parent}"` : 'none'}). Runs start through the API or the scheduler.`);
}
