/**
 * The app's pipeline catalog, validated once per process. An invalid definition stops the app at
 * start-up with every problem listed (the Functions host shows the error and serves nothing).
 */
import { loadCatalog, type Catalog } from '../pipelines/catalog';
import { pipelineInputs } from '../pipelines/definitions';

let catalog: Catalog | undefined;

export function appCatalog(): Catalog {
  catalog ??= loadCatalog(pipelineInputs);
  return catalog;
}
