/**
 * Per-project grants from a signed-in user's claims: each project's `roles.read` / `roles.operate`
 * values (default `Pipelines.Read.<project>` / `Pipelines.Operate.<project>`) are matched against
 * the user's app roles and group object ids. Operate includes read. Keys stay global
 * (src/auth/roles.ts): a function key operates every project.
 */
import type { ProjectGrant } from '../auth/roles';
import { projectRoles, type ProjectDefinition } from './schema';

export function projectGrants(claims: readonly string[], projects: readonly ProjectDefinition[]): Record<string, ProjectGrant> {
  const held = new Set(claims);
  const grants: Record<string, ProjectGrant> = {};
  for (const project of projects) {
    const roles = projectRoles(project);
    if (roles.operate.some((r) => held.has(r))) grants[project.name] = 'operate';
    else if (roles.read.some((r) => held.has(r))) grants[project.name] = 'read';
  }
  return grants;
}
