/**
 * What a caller may see and steer, project by project, as the handlers ask it. A pipeline, schedule
 * or run of a project the caller may not read is answered as if it did not exist (404, and left out
 * of every listing): its name is not the caller's to learn. A project the caller reads but may not
 * operate is answered 403 naming the roles that would allow it. Function keys read and operate
 * every project (src/auth/roles.ts).
 */
import { mayOperate, mayRead, readableProjects, ROLES, type Caller } from '../auth/roles';
import type { Catalog } from '../pipelines/catalog';
import type { PipelineDefinition } from '../pipelines/schema';
import { DEFAULT_PROJECT, projectRoles } from '../projects/schema';
import { ApiProblem, notFound } from './problem';

/** The project of a run: as recorded, else its pipeline's (runs recorded before projects existed), else `default`. */
export function projectOfRun(catalog: Catalog, run: { readonly project?: string | undefined; readonly pipeline?: string | undefined }): string {
  return run.project ?? (run.pipeline === undefined ? undefined : catalog.get(run.pipeline)?.project) ?? DEFAULT_PROJECT;
}

/** Throws the 404 `hidden` unless the caller may read the project. */
export function requireRead(caller: Caller | undefined, project: string, hidden: string): void {
  if (!mayRead(caller, project)) throw notFound(hidden);
}

/** 404 when the caller may not even read the project; 403 naming the roles when it may read but not operate. */
export function requireOperate(catalog: Catalog, caller: Caller | undefined, project: string, hidden: string): void {
  requireRead(caller, project, hidden);
  if (mayOperate(caller, project)) return;
  const definition = catalog.project(project);
  const own = definition ? projectRoles(definition).operate : [];
  throw new ApiProblem(403, 'Forbidden', `${caller?.name ?? 'the caller'} may read project ${project} but not operate it: that needs the app role ${ROLES.operate}${own.length > 0 ? ` or project ${project}'s ${own.join(', ')}` : ''}`);
}

/** The project of what names a pipeline (a backfill, a trigger's history): the pipeline's, else `default`. */
export function projectOfPipeline(catalog: Catalog, pipeline: string): string {
  return catalog.get(pipeline)?.project ?? DEFAULT_PROJECT;
}

/** The pipelines of the projects the caller may read (every pipeline for a key or a global reader). */
export function pipelinesVisibleTo(catalog: Catalog, caller: Caller | undefined): PipelineDefinition[] {
  const readable = readableProjects(caller, catalog.projects.map((p) => p.name));
  return catalog.pipelines.filter((p) => readable === undefined || readable.includes(p.project));
}

/** The pipeline, if the caller may see its project; else the same 404 as an unknown name, listing only what the caller sees. */
export function visiblePipelineOr404(catalog: Catalog, name: string | undefined, caller: Caller | undefined): PipelineDefinition {
  const visible = pipelinesVisibleTo(catalog, caller);
  const pipeline = visible.find((p) => p.name === name);
  if (!pipeline) throw notFound(`no pipeline named "${name ?? ''}" (known: ${visible.map((p) => p.name).join(', ') || 'none you may see'})`);
  return pipeline;
}
