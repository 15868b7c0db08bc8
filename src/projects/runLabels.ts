/**
 * The project and tags a run is recorded (and listed) with: its pipeline's project; its pipeline's
 * tags, then its schedule's (a scheduled run), then those given when it was started, each once.
 * Prefect's runs carry their deployment's tags the same way.
 */
import type { PipelineDefinition } from '../pipelines/schema';
import { tagSchema } from '../pipelines/schema';
import type { RunTrigger } from '../steps/protocol';

/** Tags a run may carry in all: what the index writes one row for each (docs/run-store.md). */
export const MAX_RUN_TAGS = 40;

export function runLabels(pipeline: PipelineDefinition, trigger: RunTrigger): { project: string; tags: string[] } {
  const schedule = trigger.kind === 'schedule' ? pipeline.schedules.find((s) => s.name === trigger.origin) : undefined;
  // The trigger crossed a queue in a loosely parsed shape: only well-formed tags are kept.
  const raw: unknown = trigger.tags;
  const given = Array.isArray(raw) ? raw.filter((t: unknown): t is string => tagSchema.safeParse(t).success) : [];
  const tags = [...new Set([...pipeline.tags, ...(schedule?.tags ?? []), ...given])].slice(0, MAX_RUN_TAGS);
  return { project: pipeline.project, tags };
}
