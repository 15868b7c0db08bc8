/**
 * The app's pipeline catalog, validated once per process. An invalid definition stops the app at
 * start-up with every problem listed (the Functions host shows the error and serves nothing).
 */
import type { Catalog } from '../pipelines/catalog';
import { loadDefinitions } from '../pipelines/definitions';

let catalog: Catalog | undefined;

export function appCatalog(): Catalog {
  catalog ??= loadDefinitions();
  return catalog;
}
