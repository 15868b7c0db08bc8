/**
 * Which secrets a project's pipelines may name. One rule, used twice: when the catalog loads (a
 * pipeline naming another project's secret is refused, naming both) and when a step resolves a
 * secret (the project's resolver refuses a name outside its scope: scopedSecrets below).
 *
 * - A project that lists `names` or a `prefix` may use those and nothing else; it **claims** them.
 * - A project with only its own `keyVault` may use any name: every one is read from its vault.
 * - A project without `secrets` (the `default` project unless declared) may use any name that no
 *   other project claims.
 *
 * This is the app's rule, enforced by the app's code; the app's identity can read every vault it is
 * granted (docs/projects.md, "Scoped secrets", says how to give a project a hard boundary).
 */
import { PermanentError } from '../core/errors';
import type { SecretResolver } from '../secrets/types';
import type { ProjectDefinition } from './schema';

export interface SecretScope {
  readonly project: string;
  /** True when `name` may be used by the project's pipelines. */
  allows(name: string): boolean;
  /** Why `name` may not be used (undefined when it may). */
  refusal(name: string): string | undefined;
}

/** True when the project lists `name` or its prefix matches it. */
function claims(project: ProjectDefinition, name: string): boolean {
  const scope = project.secrets;
  if (!scope) return false;
  return scope.names.includes(name) || (scope.prefix !== undefined && name.startsWith(scope.prefix));
}

function describeClaim(project: ProjectDefinition): string {
  const scope = project.secrets;
  const parts = [...(scope?.names ?? []), ...(scope?.prefix !== undefined ? [`${scope.prefix}*`] : [])];
  return parts.length > 0 ? parts.join(', ') : 'none';
}

/** The scope of `project` among `all` (every declared project, itself included). */
export function secretScope(project: ProjectDefinition, all: readonly ProjectDefinition[]): SecretScope {
  const others = all.filter((p) => p.name !== project.name);
  const lists = project.secrets !== undefined && (project.secrets.names.length > 0 || project.secrets.prefix !== undefined);
  const refusal = (name: string): string | undefined => {
    if (claims(project, name)) return undefined;
    const owner = others.find((p) => claims(p, name));
    if (owner) return `secret "${name}" belongs to project ${owner.name} (its secrets: ${describeClaim(owner)}); project ${project.name} may use ${lists ? describeClaim(project) : 'any secret no other project claims'}`;
    if (lists) return `secret "${name}" is not among project ${project.name}'s secrets (${describeClaim(project)}): add it to the project's secrets.names, or name it with its prefix`;
    return undefined;
  };
  return { project: project.name, allows: (name) => refusal(name) === undefined, refusal };
}

/**
 * Projects whose claims overlap: a name two projects claim would make "another project's secret"
 * ambiguous. Returned as `[project, message]`.
 */
export function overlappingClaims(all: readonly ProjectDefinition[]): [string, string][] {
  const problems: [string, string][] = [];
  for (const [i, a] of all.entries()) {
    for (const b of all.slice(i + 1)) {
      for (const name of a.secrets?.names ?? []) if (claims(b, name)) problems.push([a.name, `secret "${name}" is claimed by projects ${a.name} and ${b.name}: a secret belongs to one project`]);
      for (const name of b.secrets?.names ?? []) if (claims(a, name) && !(a.secrets?.names ?? []).includes(name)) problems.push([b.name, `secret "${name}" is claimed by projects ${b.name} and ${a.name}: a secret belongs to one project`]);
      const pa = a.secrets?.prefix;
      const pb = b.secrets?.prefix;
      if (pa !== undefined && pb !== undefined && (pa.startsWith(pb) || pb.startsWith(pa))) {
        problems.push([a.name, `secret prefixes "${pa}" (project ${a.name}) and "${pb}" (project ${b.name}) overlap: a secret belongs to one project`]);
      }
    }
  }
  return problems;
}

/**
 * A resolver that reads only what the project may use: a step of another project's pipeline (or a
 * user activity given this project's resolver) asking for a name outside the scope fails
 * permanently, before any vault is read.
 */
export function scopedSecrets(resolver: SecretResolver, scope: SecretScope): SecretResolver {
  return {
    get(name) {
      const refusal = scope.refusal(name);
      if (refusal !== undefined) return Promise.reject(new PermanentError(refusal, { code: 'SecretOutOfScope' }));
      return resolver.get(name);
    },
    invalidate: (name) => resolver.invalidate(name),
  };
}
