/**
 * A pipeline definition's version: the SHA-256 of its canonical JSON (keys sorted at every level,
 * by safe-stable-stringify), so the same validated definition has the same version in every
 * process and on every deploy, and any change to it — a URL, a secret name, an alert — changes it.
 *
 * A run carries the version it started with; activities compare it to the deployed definition's
 * before they act (src/activities/deployedStep.ts). Orchestrators cannot compute it (no crypto in
 * orchestrator code), so it is computed here, once per definition object.
 */
import { createHash } from 'node:crypto';
import { configure } from 'safe-stable-stringify';
import type { PipelineDefinition } from './schema';

// Keys sorted; anything that is not plain JSON (a cycle, a function, a bigint) is an error, not a guess.
export const canonicalJson = configure({ deterministic: true, strict: true, circularValue: Error, bigint: false });

const versions = new WeakMap<PipelineDefinition, string>();

export function definitionVersion(definition: PipelineDefinition): string {
  let version = versions.get(definition);
  if (version === undefined) {
    version = versionOfCanonical(canonicalDefinitionJson(definition));
    versions.set(definition, version);
  }
  return version;
}

/** The JSON a version is the hash of (what the definition store pins, src/runs/definitionStore.ts). */
export function canonicalDefinitionJson(definition: PipelineDefinition): string {
  return canonicalJson(definition);
}

/** The version of a definition's canonical JSON text. */
export function versionOfCanonical(json: string): string {
  return `sha256:${createHash('sha256').update(json, 'utf8').digest('hex')}`;
}
