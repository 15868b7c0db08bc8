/**
 * The shipped example of several projects on one app: `marketing` and `finance`, each with its own
 * copy of the nightly pipeline, sharing one warehouse through the pool `load-wh` (one COPY INTO at
 * a time across both projects). Finance keeps its secrets apart (names starting `finance-`), its own
 * roles (default `Pipelines.Read.finance` / `Pipelines.Operate.finance`) and its own Teams alert.
 *
 * To serve it, put these pipelines in src/pipelines/definitions/index.ts and this setup in
 * src/pipelines/definitions/projects.ts (docs/projects.md walks through it);
 * test/orchestration/twoProjectsExample.test.ts runs it.
 */
import { loadCatalog, type Catalog } from '../catalog';
import dataPipeline from '../definitions/data-pipeline';
import { defineProjects } from '../../projects/schema';
import type { PipelineInput } from '../schema';

/** Every `{ secret: name }` in a definition renamed. */
function renameSecrets<T>(value: T, rename: (name: string) => string): T {
  return JSON.parse(JSON.stringify(value), (_key, v: unknown) => {
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const record = v as Record<string, unknown>;
      if (Object.keys(record).length === 1 && typeof record['secret'] === 'string') return { secret: rename(record['secret']) };
    }
    return v;
  }) as T;
}

/** The nightly pipeline for a project, its COPY INTO step holding a slot of `load-wh`. */
function nightly(name: string, project: string, tags: string[]): PipelineInput {
  return {
    ...dataPipeline,
    name,
    title: `${project}: nightly load`,
    project,
    tags: [project, ...tags],
    steps: dataPipeline.steps.map((s) => (s.id === 'load' ? { ...s, pools: ['load-wh'] } : s)),
  };
}

export const twoProjectPipelines: readonly PipelineInput[] = [
  nightly('marketing-daily', 'marketing', ['production']),
  renameSecrets(nightly('finance-daily', 'finance', ['production']), (n) => `finance-${n}`),
];

export const twoProjectSetup = defineProjects({
  projects: {
    marketing: { title: 'Marketing', description: 'campaign data' },
    finance: {
      title: 'Finance',
      description: 'ledger data: its own secrets, roles and alerts',
      secrets: { prefix: 'finance-' },
      alerts: [{ on: ['failed'], channel: 'teams', webhook: { secret: 'finance-teams-webhook' } }],
    },
  },
  pools: {
    'load-wh': { slots: 1, scope: 'step', description: 'COPY INTO on LOAD_WH: one at a time across every project' },
  },
});

export function twoProjectsCatalog(): Catalog {
  return loadCatalog(twoProjectPipelines, twoProjectSetup);
}
