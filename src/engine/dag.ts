/**
 * Which steps may start and which can never run, given each step's status. Pure: the orchestrator
 * asks after every transition, so independent steps start as soon as their dependencies succeed.
 */
import type { FailureInfo } from '../core/errors';
import type { DependencyCondition } from '../pipelines/conditions';
import { parseItemStepId } from '../pipelines/items';
import type { StepStatus } from './types';

export interface DagStep {
  readonly id: string;
  readonly dependsOn: readonly string[];
  /** What each dependency waits for; absent ones wait for `succeeded` (docs/pipelines.md, section 2). */
  readonly conditions?: Readonly<Record<string, DependencyCondition>> | undefined;
}

/** Whether a dependency in `status` meets `condition`: yes, not yet, or never. */
export function dependencyVerdict(status: StepStatus, condition: DependencyCondition): 'met' | 'wait' | 'never' {
  if (status === 'pending' || status === 'running' || status === 'waiting') return 'wait';
  const ran = status === 'succeeded' || status === 'reused';
  switch (condition) {
    case 'succeeded':
      return ran ? 'met' : 'never';
    case 'failed':
      return status === 'failed' ? 'met' : 'never';
    case 'completed':
      return ran || status === 'failed' ? 'met' : 'never';
    case 'skipped':
      return status === 'skipped' ? 'met' : 'never';
  }
}

const conditionOf = (step: DagStep, dependency: string): DependencyCondition =>
  step.conditions !== undefined && Object.hasOwn(step.conditions, dependency) ? (step.conditions[dependency] ?? 'succeeded') : 'succeeded';

/** The forEach step an item belongs to (`load` for `load[3]`), if `id` is an item. */
const forEachOf = (id: string): string | undefined => parseItemStepId(id)?.stepId;

/**
 * Pending steps whose dependencies all ended meeting their conditions, in definition order. An
 * item of a forEach step is ready while its step runs (the step met its conditions when it began).
 */
export function readySteps(steps: readonly DagStep[], status: (id: string) => StepStatus): string[] {
  return steps
    .filter((s) => {
      if (status(s.id) !== 'pending') return false;
      const owner = forEachOf(s.id);
      if (owner !== undefined) return status(owner) === 'running';
      return s.dependsOn.every((d) => dependencyVerdict(status(d), conditionOf(s, d)) === 'met');
    })
    .map((s) => s.id);
}

/** A pending step that can never run, and why. */
export interface Unreachable {
  readonly id: string;
  readonly reason: FailureInfo;
}

/**
 * Pending steps that can never run because a dependency ended without meeting its condition
 * (by default: failed, was skipped or was cancelled), transitively — a step skipped here counts as
 * skipped for its own dependents, so one waiting for `skipped` of it is not among them — in
 * definition order.
 */
export function unreachableSteps(steps: readonly DagStep[], status: (id: string) => StepStatus): Unreachable[] {
  const skipped = new Map<string, FailureInfo>();
  const now = (id: string): StepStatus => (skipped.has(id) ? 'skipped' : status(id));
  let grew = true;
  while (grew) {
    grew = false;
    for (const s of steps) {
      if (skipped.has(s.id) || status(s.id) !== 'pending') continue;
      const owner = forEachOf(s.id);
      if (owner !== undefined) {
        // Its step ended without it (failFast, or a stop): the item never starts.
        const ownerStatus = now(owner);
        if (ownerStatus === 'pending' || ownerStatus === 'running' || ownerStatus === 'waiting') continue;
        skipped.set(s.id, { class: 'permanent', code: 'condition-unmet', message: `forEach step "${owner}" ${ownerStatus}` });
        grew = true;
        continue;
      }
      const blocking = s.dependsOn.find((d) => dependencyVerdict(now(d), conditionOf(s, d)) === 'never');
      if (blocking === undefined) continue;
      skipped.set(s.id, { class: 'permanent', code: 'condition-unmet', message: `dependency "${blocking}" ${now(blocking)} (waits for ${conditionOf(s, blocking)})` });
      grew = true;
    }
  }
  return steps.flatMap((s) => {
    const reason = skipped.get(s.id);
    return reason ? [{ id: s.id, reason }] : [];
  });
}

/** The concurrency limits of a pipeline (`maxParallel`, `concurrencyGroups`), and each step's group. */
export interface ConcurrencyLimits {
  readonly maxParallel?: number;
  /** Optional: inputs of runs started before groups existed have none. */
  readonly concurrencyGroups?: Readonly<Record<string, { readonly maxParallel: number }>>;
}

/**
 * Of the ready steps (in definition order), those that may start together: at most `maxParallel`
 * steps of the run and at most each group's `maxParallel` of that group. Earlier steps in the
 * definition go first, so the choice is the same on every replay.
 */
export function admitWithinLimits<S extends { readonly id: string; readonly group?: string | undefined }>(ready: readonly S[], limits: ConcurrencyLimits): S[] {
  const perGroup = new Map<string, number>();
  let total = 0;
  const admitted: S[] = [];
  for (const step of ready) {
    if (limits.maxParallel !== undefined && total >= limits.maxParallel) break;
    const group = step.group === undefined ? undefined : limits.concurrencyGroups?.[step.group];
    const inGroup = step.group === undefined ? 0 : (perGroup.get(step.group) ?? 0);
    if (group && step.group !== undefined) {
      if (inGroup >= group.maxParallel) continue;
      perGroup.set(step.group, inGroup + 1);
    }
    admitted.push(step);
    total++;
  }
  return admitted;
}

/** The pending steps, indexed for `endAwaited`: by the step they depend on, and by group. */
export interface PendingIndex<S> {
  readonly dependents: ReadonlyMap<string, readonly S[]>;
  readonly count: number;
  readonly perGroup: ReadonlyMap<string, number>;
}

export function pendingIndex<S extends DagStep & { readonly group?: string | undefined }>(steps: readonly S[], status: (id: string) => StepStatus): PendingIndex<S> {
  const dependents = new Map<string, S[]>();
  const perGroup = new Map<string, number>();
  let count = 0;
  for (const step of steps) {
    if (status(step.id) !== 'pending') continue;
    count++;
    if (step.group !== undefined) perGroup.set(step.group, (perGroup.get(step.group) ?? 0) + 1);
    for (const dependency of step.dependsOn) dependents.set(dependency, [...(dependents.get(dependency) ?? []), step]);
  }
  return { dependents, count, perGroup };
}

/**
 * Whether the run must hear of `step`'s end the moment it happens, rather than when all of
 * `reportedWith` (the steps whose results reach the run together with it: its batch node) have
 * ended. Yes when a pending step needs a slot `step` holds (the run's `maxParallel`, or its
 * group's), or depends on `step` but not on every step reported with it — a join over the whole
 * batch cannot start before the batch's last step ends anyway. Asked when `step` starts (it is no
 * longer pending); pending steps only ever leave that state, so the answer never turns from no to
 * yes later.
 */
export function endAwaited<S extends DagStep & { readonly group?: string | undefined }>(
  step: S,
  pending: PendingIndex<S>,
  limits: ConcurrencyLimits,
  reportedWith: readonly string[] = [step.id],
): boolean {
  if (limits.maxParallel !== undefined && pending.count > 0) return true;
  if (step.group !== undefined && limits.concurrencyGroups?.[step.group] !== undefined && (pending.perGroup.get(step.group) ?? 0) > 0) return true;
  return (pending.dependents.get(step.id) ?? []).some((other) => reportedWith.some((id) => !other.dependsOn.includes(id)));
}

/**
 * A failed step is handled when a step that depends on it with condition `failed` succeeded: the
 * user said what to do when it fails, and it was done. A handled failure does not fail the run
 * (docs/pipelines.md, "The run's final status when a failure was handled"); `completed` (clean-up)
 * does not handle it. A failed item is handled when its forEach step is.
 */
export function isHandled(steps: readonly DagStep[], status: (id: string) => StepStatus, failedId: string): boolean {
  // Nothing depends on an item (`load[3]`): its failure is its forEach step's, handled with it.
  const item = parseItemStepId(failedId);
  if (item) return isHandled(steps, status, item.stepId);
  return steps.some((s) => s.dependsOn.includes(failedId) && conditionOf(s, failedId) === 'failed' && (status(s.id) === 'succeeded' || status(s.id) === 'reused'));
}
