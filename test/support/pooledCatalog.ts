/**
 * Two copies of the seed pipeline whose export steps share a one-slot pool, for the restart test
 * (test/integration/devhostRestart.test.ts): the export stand-in is slow, so the dev host can be
 * killed while one run holds the slot and the other waits for it.
 */
import { loadCatalog, type Catalog } from '../../src/pipelines/catalog';
import seed from '../../src/pipelines/definitions/data-pipeline';

export const POOLED_PIPELINES = ['pool-a', 'pool-b'] as const;

export function pooledCatalog(): Catalog {
  return loadCatalog(
    // Export and load only: the restart is about the export's slot, and dbt's polling would add a minute.
    POOLED_PIPELINES.map((name) => ({ ...seed, name, steps: seed.steps.filter((s) => s.id !== 'transform').map((s) => (s.id === 'export' ? { ...s, pools: ['export-slot'] } : s)) })),
    { pools: { 'export-slot': { slots: 1, scope: 'step', lease: '1m' } } },
  );
}
