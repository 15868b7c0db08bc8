/**
 * The links between a parent run and the child runs its `pipeline` steps started (docs/pipelines.md,
 * section 4), for the run JSON: `parent` on the child (from its trigger), `childRun` on each
 * pipeline step of the parent that has started an attempt. The child's id derives from the parent
 * run, the step and the attempt (src/steps/pipeline/adapter.ts), so the link shows from the
 * moment the step starts, not only once its output is written.
 */
import { parentOf } from '../core/trigger';
import type { StepState } from '../engine/types';
import { parseItemStepId } from '../pipelines/items';
import type { PipelineDefinition } from '../pipelines/schema';
import type { RunRecord } from '../runs/recorder';
import { childRunId } from '../steps/pipeline/adapter';

export interface RunLink {
  readonly runId: string;
  readonly link: string;
}

/** `{ parent: { runId, stepId, link } }` for a run a pipeline step started; nothing otherwise. */
export function parentLink(trigger: RunRecord['trigger'] | undefined, base: string): { parent?: RunLink & { stepId: string } } {
  const parent = parentOf(trigger);
  return parent ? { parent: { ...parent, link: `${base}/api/runs/${parent.runId}` } } : {};
}

/** Each step with `childRun: { runId, pipeline, link }` when it is (an item of) a pipeline step that started. */
export function withChildRuns<S extends Pick<StepState, 'id' | 'attempts'>>(runId: string, steps: readonly S[], definition: PipelineDefinition | undefined, base: string): (S & { childRun?: RunLink & { pipeline: string } })[] {
  if (!definition?.steps.some((s) => s.kind === 'pipeline')) return [...steps];
  return steps.map((step) => {
    const own = definition.steps.find((s) => s.id === (parseItemStepId(step.id)?.stepId ?? step.id));
    const attempt = step.attempts.at(-1)?.attempt;
    if (own?.kind !== 'pipeline' || attempt === undefined) return step;
    const child = childRunId(own.pipeline, runId, step.id, attempt);
    return { ...step, childRun: { runId: child, pipeline: own.pipeline, link: `${base}/api/runs/${child}` } };
  });
}
