/**
 * What an activity acts on: the deployed definition, never one carried by a run's input. Anyone
 * who can start an orchestration (the HTTP API, a raw Durable client, the Durable webhook) can
 * write anything into its input, and Durable hands that input to the activities; if an activity
 * trusted a step definition from it, a crafted `functionKey: { secret: … }` with a URL of the
 * caller's choosing would send the secret there. So the input names the step (pipeline name, step
 * id) and the version of the definition the run started with, and this module finds the step in
 * the app's catalog, checks the version, and re-validates the run's parameters against the
 * deployed declarations. Every refusal is permanent: retrying cannot make it true.
 */
import { PermanentError } from '../core/errors';
import type { JsonObject } from '../core/json';
import { findStep } from '../pipelines/items';
import { resolveParameters } from '../pipelines/parameters';
import type { PipelineDefinition, StepDefinition } from '../pipelines/schema';
import { definitionVersion } from '../pipelines/version';
import type { StepActivityInput } from '../steps/protocol';

/** The deployed pipelines, by name (src/app/catalog.ts in the app; tests pass their own). */
export interface DeployedPipelines {
  get(name: string): PipelineDefinition | undefined;
}

export interface DeployedStep {
  readonly pipeline: PipelineDefinition;
  readonly step: StepDefinition;
  /** The run's parameters, valid for the deployed definition. */
  readonly parameters: JsonObject;
}

/** The deployed pipeline named by a run, or a permanent error saying why there is none. */
export function deployedPipeline(catalog: DeployedPipelines, name: string): PipelineDefinition {
  const pipeline = catalog.get(name);
  if (!pipeline) throw new PermanentError(`pipeline "${name}" is not deployed in this app`, { code: 'unknown-pipeline' });
  return pipeline;
}

export function deployedStep(catalog: DeployedPipelines, input: Pick<StepActivityInput, 'pipeline' | 'definitionVersion' | 'stepId' | 'parameters'>): DeployedStep {
  const pipeline = deployedPipeline(catalog, input.pipeline);
  const deployed = definitionVersion(pipeline);
  if (deployed !== input.definitionVersion) {
    throw new PermanentError(
      `definition of pipeline "${pipeline.name}" changed since the run started (run: ${input.definitionVersion}, deployed: ${deployed}): redeployed while running? Start a new run.`,
      { code: 'definition-changed' },
    );
  }
  // An item of a forEach step (`load[3]`) runs its step's definition under its own id.
  const step = findStep(pipeline.steps, input.stepId);
  if (!step) throw new PermanentError(`pipeline "${pipeline.name}" has no step "${input.stepId}"`, { code: 'unknown-step' });
  const parameters = resolveParameters(pipeline, input.parameters);
  if (!parameters.ok) {
    const problems = parameters.problems.map((p) => `${p.path}: ${p.message}`).join('; ');
    throw new PermanentError(`the run's parameters do not fit pipeline "${pipeline.name}": ${problems}`, { code: 'invalid-parameters' });
  }
  return { pipeline, step, parameters: parameters.parameters };
}
