/**
 * The checks that need every pipeline and the app's projects and pools at once, run when the
 * catalog loads: each pipeline's project and pools exist and fit, and it names no secret outside
 * its project's scope (secretScope.ts). Every problem is listed, with where it is.
 */
import type { DefinitionProblem } from '../pipelines/validate';
import { formatPath } from '../pipelines/validate';
import { nameReferences } from '../pipelines/references';
import type { PipelineDefinition } from '../pipelines/schema';
import { DEFAULT_PROJECT, defaultProject, projectSetupSchema, type PoolDefinition, type ProjectDefinition, type ProjectSetupInput } from './schema';
import { overlappingClaims, secretScope } from './secretScope';

export interface LoadedSetup {
  /** Declared projects, and `default` first when it is not declared. */
  readonly projects: readonly ProjectDefinition[];
  readonly pools: readonly PoolDefinition[];
  readonly problems: readonly DefinitionProblem[];
}

export function loadProjectSetup(input: ProjectSetupInput): LoadedSetup {
  const parsed = projectSetupSchema.safeParse(input);
  if (!parsed.success) {
    return { projects: [defaultProject()], pools: [], problems: parsed.error.issues.map((i) => ({ path: formatPath('setup', i.path), message: i.message })) };
  }
  const declared = Object.entries(parsed.data.projects).map(([name, p]) => ({ ...p, name }));
  const projects = declared.some((p) => p.name === DEFAULT_PROJECT) ? declared : [defaultProject(), ...declared];
  const pools = Object.entries(parsed.data.pools).map(([name, p]) => ({ ...p, name }));
  const problems: DefinitionProblem[] = overlappingClaims(projects).map(([project, message]) => ({ path: `setup.projects.${project}.secrets`, message }));
  for (const project of projects) {
    const scope = secretScope(project, projects);
    for (const ref of nameReferences(project.alerts, 'secret')) {
      const refusal = scope.refusal(ref.name);
      if (refusal !== undefined) problems.push({ path: formatPath(`setup.projects.${project.name}.alerts`, ref.path), message: refusal });
    }
  }
  return { projects, pools, problems };
}

export function checkProjects(pipelines: readonly PipelineDefinition[], projects: readonly ProjectDefinition[], pools: readonly PoolDefinition[]): DefinitionProblem[] {
  const problems: DefinitionProblem[] = [];
  const byName = new Map(projects.map((p) => [p.name, p]));
  const poolByName = new Map(pools.map((p) => [p.name, p]));
  const poolProblems = (names: readonly string[], scope: 'run' | 'step', at: string): void => {
    const seen = new Set<string>();
    names.forEach((name, index) => {
      const path = `${at}.pools[${index}]`;
      const pool = poolByName.get(name);
      if (seen.has(name)) problems.push({ path, message: `pool "${name}" is named twice` });
      seen.add(name);
      if (!pool) {
        problems.push({ path, message: `unknown pool "${name}" (declared: ${pools.map((p) => p.name).join(', ') || 'none'}; declare pools once in src/pipelines/definitions/projects.ts)` });
      } else if (pool.scope !== scope) {
        problems.push({
          path,
          message: scope === 'run'
            ? `pool "${name}" is held by steps (scope: step): name it in a step's pools, not the pipeline's`
            : `pool "${name}" is held by whole runs (scope: run): name it in the pipeline's pools, not a step's`,
        });
      }
    });
  };
  for (const pipeline of pipelines) {
    const project = byName.get(pipeline.project);
    if (!project) {
      problems.push({ path: `${pipeline.name}.project`, message: `unknown project "${pipeline.project}" (declared: ${projects.map((p) => p.name).join(', ')})` });
    } else {
      const scope = secretScope(project, projects);
      for (const ref of nameReferences(pipeline, 'secret')) {
        const refusal = scope.refusal(ref.name);
        if (refusal !== undefined) problems.push({ path: formatPath(pipeline.name, ref.path), message: `pipeline ${pipeline.name} (project ${project.name}): ${refusal}` });
      }
    }
    poolProblems(pipeline.pools, 'run', pipeline.name);
    pipeline.steps.forEach((step, index) => poolProblems(step.pools, 'step', `${pipeline.name}.steps[${index}]`));
  }
  return problems;
}
