import type { PipelineDefinition, PipelineInput } from './schema';
import { formatPath, validatePipeline, PipelineValidationError, type DefinitionProblem } from './validate';
import { checkProjects, loadProjectSetup } from '../projects/checks';
import type { PoolDefinition, ProjectDefinition, ProjectSetupInput } from '../projects/schema';
import type { AlertDefinition } from './schema';
import { catalogTriggerProblems } from '../triggers/definitionChecks';
import { pipelineStepProblems } from '../steps/pipeline/checks';

/** The validated pipelines the app serves, by name, with the projects and pools they belong to. */
export interface Catalog {
  readonly pipelines: readonly PipelineDefinition[];
  get(name: string): PipelineDefinition | undefined;
  /** Every project: the declared ones and `default` (declared or not). */
  readonly projects: readonly ProjectDefinition[];
  project(name: string): ProjectDefinition | undefined;
  readonly pools: readonly PoolDefinition[];
  pool(name: string): PoolDefinition | undefined;
  /** The alerts a run of `pipeline` sends: its own, then its project's. */
  alertsOf(pipeline: PipelineDefinition): readonly AlertDefinition[];
}

/**
 * Validates every definition and the projects and pools they name; throws one error listing every
 * problem of every pipeline and project.
 */
export function loadCatalog(inputs: readonly PipelineInput[], setupInput: ProjectSetupInput = {}): Catalog {
  const problems: DefinitionProblem[] = [];
  const pipelines: PipelineDefinition[] = [];
  const byName = new Map<string, PipelineDefinition>();
  const setup = loadProjectSetup(setupInput);
  problems.push(...setup.problems);
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
  problems.push(...checkProjects(pipelines, setup.projects, setup.pools));
  // Pipeline triggers name other pipelines: checked once every pipeline is known.
  for (const { pipeline, problem } of catalogTriggerProblems(pipelines)) problems.push({ path: formatPath(pipeline, problem.path), message: problem.message });
  // Pipeline steps call other pipelines: checked once every pipeline is known (src/steps/pipeline/checks.ts).
  for (const problem of pipelineStepProblems(pipelines)) problems.push({ path: formatPath(problem.pipeline, problem.path), message: problem.message });
  if (problems.length > 0) throw new PipelineValidationError(problems);
  const projects = new Map(setup.projects.map((p) => [p.name, p]));
  const pools = new Map(setup.pools.map((p) => [p.name, p]));
  return {
    pipelines,
    get: (name) => byName.get(name),
    projects: setup.projects,
    project: (name) => projects.get(name),
    pools: setup.pools,
    pool: (name) => pools.get(name),
    alertsOf: (pipeline) => [...pipeline.alerts, ...(projects.get(pipeline.project)?.alerts ?? [])],
  };
}
