/**
 * The definitions this app's orchestrators can follow, by `definitionVersion` (the content-addressed
 * lookup of src/engine/definitions.ts): every definition of every catalog this process has served.
 * A version names one canonical JSON, so adding versions never changes what an existing one
 * answers — replays stay deterministic — and a run started before the catalog was swapped (the dev
 * host, tests) finishes on its own definition. In Azure a deploy is a new process: a run whose
 * definition changed with the deploy fails with a clear message (issue 26 keeps every version in
 * a store instead).
 */
import type { DefinitionSource } from '../engine/definitions';
import type { PipelineDefinition } from '../pipelines/schema';
import { definitionVersion } from '../pipelines/version';
import { appCatalog } from './catalog';

/** Versions kept at most: catalogs come from the app's own code, a few per process; this bounds a bug. */
const MAX_VERSIONS = 1_000;

const byVersion = new Map<string, PipelineDefinition>();

export function rememberDefinitions(definitions: Iterable<PipelineDefinition>): void {
  for (const definition of definitions) {
    const version = definitionVersion(definition);
    if (byVersion.has(version)) continue;
    byVersion.set(version, definition);
    const oldest = byVersion.keys().next();
    if (byVersion.size > MAX_VERSIONS && !oldest.done) byVersion.delete(oldest.value);
  }
}

export const appDefinitions: DefinitionSource = {
  get(version) {
    if (!byVersion.has(version)) rememberDefinitions(appCatalog().pipelines);
    return byVersion.get(version);
  },
};
