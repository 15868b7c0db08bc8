/**
 * What a rerun from failed re-runs and what it reuses: one rule for the API's rerun
 * (src/api/routes.ts) and a pipeline step's child rerun (src/steps/pipeline/adapter.ts).
 */
import type { CarriedStep } from '../engine/types';
import type { Json } from '../core/json';
import { parseItemStepId } from '../pipelines/items';
import type { PipelineDefinition } from '../pipelines/schema';
import type { StepMetrics } from '../steps/protocol';

interface SourceStep {
  readonly id: string;
  readonly status: string;
  readonly output?: Json | undefined;
  readonly metrics?: StepMetrics | undefined;
}

const succeededIn = (steps: readonly SourceStep[]): Set<string> => new Set(steps.filter((s) => s.status === 'succeeded' || s.status === 'reused').map((s) => s.id));

/** The steps (and forEach items) of `pipeline` a rerun from failed runs again: every one that did not succeed. */
export function failedStepIds(pipeline: PipelineDefinition, steps: readonly SourceStep[]): Set<string> {
  const succeeded = succeededIn(steps);
  return withItems(new Set(pipeline.steps.filter((s) => !succeeded.has(s.id)).map((s) => s.id)), steps, succeeded, false);
}

/**
 * Items of forEach steps (`load[3]`) run again when they did not succeed, and all of them when
 * their step reruns from scratch (`from` a step): a rerun from failed reuses the succeeded items.
 */
export function withItems(ids: Set<string>, steps: readonly { id: string }[], succeeded: ReadonlySet<string>, wholeSteps: boolean): Set<string> {
  for (const { id } of steps) {
    const item = parseItemStepId(id);
    if (item && (!succeeded.has(id) || (wholeSteps && ids.has(item.stepId)))) ids.add(id);
  }
  return ids;
}

/** The source run's steps a rerun reuses (every one not in `rerun`), with their results. */
export function carriedSteps(steps: readonly SourceStep[], rerun: ReadonlySet<string>, sourceId: string): Record<string, CarriedStep> {
  const carried: Record<string, CarriedStep> = {};
  for (const step of steps) {
    if (rerun.has(step.id)) continue;
    carried[step.id] = { fromRunId: sourceId, ...(step.output !== undefined ? { output: step.output } : {}), ...(step.metrics ? { metrics: step.metrics } : {}) };
  }
  return carried;
}
