/**
 * What an activity acts on: the definition the run was started with, never one carried by a run's
 * input. Anyone who can start an orchestration (the HTTP API, a raw Durable client, the Durable
 * webhook) can write anything into its input, and Durable hands that input to the activities; if an
 * activity trusted a step definition from it, a crafted `functionKey: { secret: … }` with a URL of
 * the caller's choosing would send the secret there. So the input names the step (pipeline name,
 * step id) and the version of the definition the run started with, and this module finds that
 * version: in the app's catalog when it is the deployed one, else among the definitions pinned when
 * runs started (src/runs/definitionStore.ts, written only by `startRunOnce`, each row checked
 * against its content hash) — so a run started before a deploy finishes on its own definition. The
 * run's record (runGate.ts) says which version the API or the scheduler started it with. The run's
 * parameters are re-validated against that definition's declarations. Every refusal is permanent:
 * retrying cannot make it true.
 */
import { PermanentError } from '../core/errors';
import type { JsonObject } from '../core/json';
import { findStep } from '../pipelines/items';
import { resolveParameters } from '../pipelines/parameters';
import type { AlertDefinition, PipelineDefinition, StepDefinition } from '../pipelines/schema';
import { definitionVersion } from '../pipelines/version';
import type { StepActivityInput } from '../steps/protocol';

/** The deployed pipelines, by name (src/app/catalog.ts in the app; tests pass their own). */
export interface DeployedPipelines {
  get(name: string): PipelineDefinition | undefined;
  /** The alerts a run of the pipeline sends: its own, then its project's (the app's Catalog); its own when absent. */
  alertsOf?(pipeline: PipelineDefinition): readonly AlertDefinition[];
}

/** Definitions pinned at start, by version (the run store's DefinitionStore; none without a store). */
export interface PinnedDefinitions {
  get(version: string): Promise<PipelineDefinition | undefined>;
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

/**
 * The definition of `pipeline` whose version is `version`: the deployed one when it is that
 * version, else the one pinned under it (the deploy changed it after the run started). Undefined
 * when neither has it.
 */
export async function definitionOfRun(catalog: DeployedPipelines, pinned: PinnedDefinitions | undefined, pipeline: string, version: string): Promise<PipelineDefinition | undefined> {
  const deployed = catalog.get(pipeline);
  if (deployed && definitionVersion(deployed) === version) return deployed;
  const stored = await pinned?.get(version);
  return stored?.name === pipeline ? stored : undefined;
}

export async function deployedStep(
  catalog: DeployedPipelines,
  input: Pick<StepActivityInput, 'pipeline' | 'definitionVersion' | 'stepId' | 'parameters'>,
  pinned?: PinnedDefinitions,
): Promise<DeployedStep> {
  const pipeline = await definitionOfRun(catalog, pinned, input.pipeline, input.definitionVersion);
  if (!pipeline) {
    const deployed = catalog.get(input.pipeline);
    if (!deployed && !pinned) deployedPipeline(catalog, input.pipeline);
    throw new PermanentError(
      deployed
        ? `definition of pipeline "${input.pipeline}" changed since the run started (run: ${input.definitionVersion}, deployed: ${definitionVersion(deployed)}) and the run's version is not pinned in the run store: redeployed while running? Start a new run.`
        : `pipeline "${input.pipeline}" is not deployed in this app and definition ${input.definitionVersion} is not pinned in the run store`,
      { code: deployed ? 'definition-changed' : 'unknown-pipeline' },
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
