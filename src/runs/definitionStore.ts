/**
 * Pinned definitions (issue 26): the canonical JSON of every definition a run was started with,
 * content-addressed by its `definitionVersion` (SHA-256 of that JSON, src/pipelines/version.ts),
 * in a table of the run store's account. `startRunOnce` writes it before the run's record; nothing
 * a run sends can write here (a run's input names a version, never a definition).
 *
 * A row is read back only if its content hashes to its key: a row written by anything else — a
 * bug, a hand edit, anyone with write access to the table — cannot pass for another version, so
 * what a run follows is exactly what the API or the scheduler started it with.
 *
 * One entity per version (PartitionKey = version, RowKey `definition`). Table Storage caps a string
 * property at 64 KiB (32 K UTF-16 characters) and an entity at 1 MiB, so the JSON is split into
 * chunks `c0`, `c1`, … of 30,000 characters: definitions up to ~450,000 characters, far above the
 * 800-step pipelines the engine is measured with (about 150 KB).
 */
import type { TableClient } from '@azure/data-tables';
import type { PipelineDefinition } from '../pipelines/schema';
import { canonicalDefinitionJson, definitionVersion, versionOfCanonical } from '../pipelines/version';
import { ensureTable, statusOf } from './tables';

const ROW = 'definition';
const CHUNK = 30_000;
/** Chunks one entity can hold next to its keys and metadata (1 MiB, 2 bytes per character). */
const MAX_CHUNKS = 15;

export class DefinitionTooLargeError extends Error {
  override readonly name = 'DefinitionTooLargeError';
}

export class DefinitionStore {
  constructor(private readonly table: TableClient) {}

  /** Stores `definition` under its version unless it is there already; returns the version. */
  async pin(definition: PipelineDefinition): Promise<string> {
    const version = definitionVersion(definition);
    const json = canonicalDefinitionJson(definition);
    const chunks = Math.max(1, Math.ceil(json.length / CHUNK));
    if (chunks > MAX_CHUNKS) {
      throw new DefinitionTooLargeError(`pipeline "${definition.name}": its definition is ${json.length} characters; at most ${CHUNK * MAX_CHUNKS} can be pinned`);
    }
    const entity: Record<string, string | number> = { partitionKey: version, rowKey: ROW, pipeline: definition.name, chunks };
    for (let i = 0; i < chunks; i++) entity[`c${i}`] = json.slice(i * CHUNK, (i + 1) * CHUNK);
    await ensureTable(this.table);
    try {
      await this.table.createEntity(entity as { partitionKey: string; rowKey: string });
    } catch (error) {
      // Same key, same content (the key is the content's hash): another start pinned it first.
      if (statusOf(error) !== 409) throw error;
    }
    return version;
  }

  /** The definition pinned under `version`, or undefined when none is (or the row is not what its key says). */
  async get(version: string): Promise<PipelineDefinition | undefined> {
    await ensureTable(this.table);
    let entity: Record<string, unknown>;
    try {
      entity = await this.table.getEntity<Record<string, unknown>>(version, ROW);
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
    const chunks = typeof entity['chunks'] === 'number' ? entity['chunks'] : 0;
    let json = '';
    for (let i = 0; i < chunks; i++) {
      const part = entity[`c${i}`];
      if (typeof part !== 'string') return undefined;
      json += part;
    }
    if (versionOfCanonical(json) !== version) return undefined;
    const parsed: unknown = JSON.parse(json);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
    return parsed as PipelineDefinition;
  }
}
