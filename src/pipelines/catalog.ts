import type { PipelineDefinition, PipelineInput } from './schema';
import { formatPath, validatePipeline, PipelineValidationError, type DefinitionProblem } from './validate';
import { catalogTriggerProblems } from '../triggers/definitionChecks';

/** The validated pipelines the app serves, by name. */
export interface Catalog {
  readonly pipelines: readonly PipelineDefinition[];
  get(name: string): PipelineDefinition | undefined;
}

/** Validates every definition; throws one error listing every problem of every pipeline. */
export function loadCatalog(inputs: readonly PipelineInput[]): Catalog {
  const problems: DefinitionProblem[] = [];
  const pipelines: PipelineDefinition[] = [];
  const byName = new Map<string, PipelineDefinition>();
  inputs.forEach((input, index) => {
    const result = validatePipeline(input);
    if (!result.ok) {
      problems.push(...result.problems);
      return;
    }
    if (byName.has(result.pipeline.name)) {
      problems.push({ path: `pipelines[${index}].name`, message: `duplicate pipeline name "${result.pipeline.name}"` });
      return;
    }
    byName.set(result.pipeline.name, result.pipeline);
    pipelines.push(result.pipeline);
  });
  // Pipeline triggers name other pipelines: checked once every pipeline is known.
  for (const { pipeline, problem } of catalogTriggerProblems(pipelines)) problems.push({ path: formatPath(pipeline, problem.path), message: problem.message });
  if (problems.length > 0) throw new PipelineValidationError(problems);
  return { pipelines, get: (name) => byName.get(name) };
}
