/**
 * The secret resolver each project's steps get: its own Key Vault's when it names one
 * (`secrets.keyVault`, a URL or the app setting holding it), else the app's; either way limited to
 * what the project may use (secretScope.ts), so a user activity asking for another project's secret
 * fails permanently before any vault is read. Built once per project.
 */
import { PermanentError } from '../core/errors';
import type { Catalog } from '../pipelines/catalog';
import type { SecretResolver, SettingsReader } from '../secrets/types';
import { DEFAULT_PROJECT } from './schema';
import { scopedSecrets, secretScope } from './secretScope';

export type ProjectSecrets = (project: string) => SecretResolver;

export function projectSecretResolvers(catalog: Pick<Catalog, 'project' | 'projects'>, appSecrets: SecretResolver, vault: (url: string) => SecretResolver, settings: SettingsReader): ProjectSecrets {
  const built = new Map<string, SecretResolver>();
  return (name) => {
    const known = built.get(name);
    if (known) return known;
    const project = catalog.project(name) ?? catalog.project(DEFAULT_PROJECT);
    if (!project) return appSecrets;
    const own = project.secrets?.keyVault;
    const url = own === undefined ? undefined : typeof own === 'string' ? own : settings(own.setting);
    let base = appSecrets;
    if (own !== undefined && (url === undefined || url === '')) {
      // Never fall back to the app's vault: the project asked for a boundary.
      const setting = typeof own === 'string' ? '' : own.setting;
      const missing = (): Promise<string> => Promise.reject(new PermanentError(`project ${project.name}'s Key Vault setting ${setting} is not set: its secrets are read from its own vault only`, { code: 'ProjectVaultMissing' }));
      base = { get: missing, invalidate: () => undefined };
    } else if (url !== undefined) {
      base = vault(url);
    }
    const resolver = scopedSecrets(base, secretScope(project, catalog.projects));
    built.set(name, resolver);
    return resolver;
  };
}
