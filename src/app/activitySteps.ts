/**
 * Start-up refusal of `kind: 'activity'` steps that name an activity nobody registered. In Azure
 * such a step hangs its run forever: the extension's `CallDurableTaskFunctionAsync` throws
 * `ThrowIfFunctionDoesNotExist`'s error inside a task that `OutOfProcOrchestrationShim.
 * ProcessAsyncActionsV2` awaits in a silent `catch (Exception)`, so nothing is scheduled and the
 * orchestrator waits for an answer that never comes (Azure/azure-functions-durable-extension;
 * Azure/azure-functions-durable-js#197). Checked once every function is registered.
 */
import type { Catalog } from '../pipelines/catalog';
import { formatPath, PipelineValidationError, type DefinitionProblem } from '../pipelines/validate';
import type { Registration } from './registry';

/** One problem per activity step whose activity is not among the registered activities. */
export function unregisteredActivitySteps(catalog: Catalog, registered: readonly Registration[]): DefinitionProblem[] {
  const activities = new Set(registered.filter((r) => r.kind === 'activity').map((r) => r.name));
  return catalog.pipelines.flatMap((pipeline) =>
    pipeline.steps.flatMap((step, index) =>
      step.kind === 'activity' && !activities.has(step.activity)
        ? [{ path: formatPath(pipeline.name, ['steps', index, 'activity']), message: `"${step.activity}" is not a registered activity (register it with registerStepActivity)` }]
        : [],
    ),
  );
}

/** Throws one PipelineValidationError listing every activity step nobody can answer. */
export function refuseUnregisteredActivitySteps(catalog: Catalog, registered: readonly Registration[]): void {
  const problems = unregisteredActivitySteps(catalog, registered);
  if (problems.length > 0) throw new PipelineValidationError(problems);
}
