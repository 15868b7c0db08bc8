/**
 * Where the orchestrators get a run's definition: a content-addressed lookup by
 * `definitionVersion` (the SHA-256 of the definition's canonical JSON, src/pipelines/version.ts),
 * given to the orchestrators when they are registered (`engineOrchestrators({ definitions })`).
 *
 * Why not the input: an execution's input is part of its history, and every wake-up replays the
 * whole history — a definition of n steps in every execution's input made the bytes replayed per
 * run grow as n^1.5. Why not an activity answer: that answer is history too. A lookup by content
 * hash is deterministic on replay by construction — a version names one canonical JSON, forever —
 * and costs no history at all.
 *
 * The app serves the versions of the definitions it has deployed (src/app/definitions.ts). A store
 * of every version a run was started with (issue 26) slots in behind the same lookup: the app
 * loads the versions its unfinished runs name before the orchestrators replay them.
 */
import type { PipelineDefinition } from '../pipelines/schema';

export interface DefinitionSource {
  /** The definition whose `definitionVersion` is `version`, if this app has it. */
  get(version: string): PipelineDefinition | undefined;
}

/** The run's definition, or undefined when the app does not have that version of that pipeline. */
export function definitionOf(source: DefinitionSource, pipeline: string, version: string): PipelineDefinition | undefined {
  const definition = source.get(version);
  return definition?.name === pipeline ? definition : undefined;
}

/** Why a run cannot go on: its definition is not (or no longer) deployed here. */
export function missingDefinitionMessage(pipeline: string, version: string): string {
  return `definition ${version} of pipeline "${pipeline}" is not deployed in this app: redeployed since the run started? Start a new run.`;
}
