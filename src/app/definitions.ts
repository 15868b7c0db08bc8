/**
 * The definitions this app's orchestrators can follow, by `definitionVersion` (the content-addressed
 * lookup of src/engine/definitions.ts): every definition of every catalog this process has served,
 * and every version a run of this app was started with (issue 26: pinned in the run store by
 * `startRunOnce`, src/runs/definitionStore.ts). A version names one canonical JSON, so adding
 * versions never changes what an existing one answers — replays stay deterministic.
 *
 * Orchestrator code does no I/O, so the pinned versions are loaded *before* an orchestrator runs:
 * the orchestration's registration reads the version its input names and, if this process does not
 * know it, loads it from the store (`prepareOrchestration`, called by src/app/registry.ts for the
 * Functions host and by the dev host alike). Once loaded a version stays in memory: a replay never
 * sees it vanish.
 */
import type { DefinitionSource } from '../engine/definitions';
import type { PipelineDefinition } from '../pipelines/schema';
import { definitionVersion } from '../pipelines/version';
import type { PinnedDefinitions } from '../activities/deployedStep';
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

/** The store's pinned definitions behind this process's memory: each version read at most once per process. */
export function cachedPinned(store: PinnedDefinitions): PinnedDefinitions {
  return {
    async get(version) {
      const known = appDefinitions.get(version);
      if (known) return known;
      const pinned = await store.get(version);
      // Remembered under its own hash: the store already checked it equals `version`.
      if (pinned) rememberDefinitions([pinned]);
      return pinned;
    },
  };
}

/** How often a failing read of the store is tried before the orchestrator runs without it. */
const LOAD_TRIES = 4;
const LOAD_BACKOFF_MS = 500;

/**
 * Before an orchestrator runs: makes sure the definition version its input names is in memory,
 * reading it from the store when the process does not know it (a run started before this deploy).
 * A store that keeps failing is logged and left: the orchestrator then ends the run saying its
 * definition is not available, which is what it did before definitions were pinned.
 */
export async function prepareOrchestration(
  input: unknown,
  store: PinnedDefinitions | undefined,
  log: (message: string) => void,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
): Promise<void> {
  const version = versionNamedBy(input);
  if (version === undefined || appDefinitions.get(version) || !store) return;
  const pinned = cachedPinned(store);
  for (let attempt = 1; ; attempt++) {
    try {
      await pinned.get(version);
      return;
    } catch (error) {
      if (attempt >= LOAD_TRIES) {
        log(`definition ${version} could not be read from the run store (${(error as Error).message}); the run cannot go on without it`);
        return;
      }
      await sleep(LOAD_BACKOFF_MS * 2 ** (attempt - 1));
    }
  }
}

/** The `definitionVersion` an orchestration input names (runPipeline's and runPipelineStep's inputs). */
function versionNamedBy(input: unknown): string | undefined {
  if (typeof input !== 'object' || input === null) return undefined;
  const version = (input as { definitionVersion?: unknown }).definitionVersion;
  return typeof version === 'string' ? version : undefined;
}
