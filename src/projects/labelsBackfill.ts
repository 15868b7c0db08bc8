/**
 * Upgrading an app whose run store predates projects: its runs have no project or tag index rows,
 * so `--project`, `--tag` and a project reader's listings would not show them. The first scheduler
 * tick and the daily retention timer of each process write those rows once per store
 * (TableRunStore.backfillLabels; docs/run-store.md, "Upgrading"): an old run gets its pipeline's
 * project and tags as the catalog names them now (and its schedule's), as a run started today
 * would — the same project the API already answers it under (src/api/projectScope.ts).
 */
import type { AppServices } from '../app/services';
import type { RunRecord } from '../runs/recorder';
import type { TableRunStore } from '../runs/tableStore';
import type { Catalog } from '../pipelines/catalog';
import { runLabels } from './runLabels';
import { DEFAULT_PROJECT } from './schema';

/** A run recorded without labels: its pipeline's, or the default project's when the pipeline is gone. */
export function labelsOfUnlabelledRun(catalog: Catalog, run: RunRecord): { project: string; tags: string[] } {
  const pipeline = catalog.get(run.pipeline);
  return pipeline ? runLabels(pipeline, run.trigger) : { project: DEFAULT_PROJECT, tags: [] };
}

const done = new WeakMap<TableRunStore, Promise<void>>();

/** Once per store and process (a failure is retried by the next caller); never throws. */
export function backfillRunLabels(services: Pick<AppServices, 'store' | 'catalog' | 'log'>): Promise<void> {
  const store = services.store;
  if (!store) return Promise.resolve();
  let pending = done.get(store);
  if (!pending) {
    pending = store.backfillLabels((run) => labelsOfUnlabelledRun(services.catalog, run)).then(
      ({ runs, alreadyDone }) => {
        if (!alreadyDone) services.log.info({ event: 'runStore.labelsBackfilled', runs }, `project and tag index rows written for ${runs} earlier runs`);
      },
      (error: unknown) => {
        done.delete(store);
        services.log.warn({ event: 'runStore.labelsBackfillFailed', err: error instanceof Error ? error.message : String(error) }, 'project and tag index rows of earlier runs not written yet: the next tick tries again');
      },
    );
    done.set(store, pending);
  }
  return pending;
}
