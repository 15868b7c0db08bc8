/**
 * The run's live state: one StepState per step, updated at each transition and published as the
 * orchestration's custom status (and returned as its output). Pure; times are replayed instants.
 *
 * Across a `continueAsNew` the tracker keeps only what the next execution needs to decide (each
 * step's status, attempt count, whether its failure was permanent: carry.ts); the full state of
 * the steps that changed in an execution — attempts, outputs, errors — goes to that execution's
 * archive (archive.ts). So each StepState held here is a *delta*: the attempts made since the step
 * was last archived, with the step's current status and fields. `mergeStepDeltas` puts the deltas
 * of a step back together, in order, when the run ends.
 */
import type { FailureInfo } from '../core/errors';
import type { Json } from '../core/json';
import type { StepMetrics } from '../steps/protocol';
import { isoAt, secondsBetween } from './clock';
import { extractKept, type Kept, type ReferenceMap } from './referenced';
import { itemStepId } from '../pipelines/items';
import { refKey } from '../pipelines/stepRefs';
import type { CarriedSteps } from './carry';
import { ItemIndex, itemOf } from './itemIndex';
import type { PipelineRetryWait, PoolWait, RunInput, RunState, RunStatus, StepAttemptSummary, StepState, StepStatus } from './types';

/** What the tracker needs of a run: a whole run, or one step of it (the step sub-orchestration). */
export interface TrackedRun {
  readonly runId: string;
  readonly pipeline: { readonly name: string; readonly steps: readonly { readonly id: string }[] };
  readonly resumeFrom?: RunInput['resumeFrom'];
}

/** A step as the previous execution left it (carry.ts). */
export interface CarriedStepState {
  readonly status: StepStatus;
  readonly attempts: number;
  readonly permanent: boolean;
}

/** The reason an interrupted step gives, on its attempt in progress and on itself. */
export function interruptError(kind: 'cancelled' | 'timedOut'): FailureInfo {
  return kind === 'cancelled' ? { class: 'cancelled', message: 'run cancelled', code: 'run-cancelled' } : { class: 'cancelled', message: 'run timed out', code: 'run-timed-out' };
}

/** A later delta of a step over an earlier one: attempts in order, the rest as the later one says. */
export function mergeStepDeltas(earlier: StepState | undefined, later: StepState): StepState {
  if (!earlier || earlier.attempts.length === 0) return later;
  const known = new Set(earlier.attempts.map((a) => a.attempt));
  return { ...later, attempts: [...earlier.attempts, ...later.attempts.filter((a) => !known.has(a.attempt))] };
}

export class RunTracker {
  private readonly steps = new Map<string, StepState>();
  /** Counts, pending queue, items in flight and first failures of the forEach steps' items (itemIndex.ts). */
  private readonly items: ItemIndex;
  /** Attempts archived by earlier executions (not in `steps`). */
  private readonly archivedAttempts = new Map<string, number>();
  /** Failed steps whose failure was permanent, known from the carry (their error is archived). */
  private readonly carriedPermanent = new Set<string>();
  /** Steps changed since the last archive: what the next archive holds. */
  private readonly dirty = new Set<string>();
  private readonly attemptStarts = new Map<string, number>();
  pipelineAttempt = 1;
  /** The pipeline retry the run waits for, while it waits (runPipeline.ts). */
  pipelineRetry: PipelineRetryWait | undefined;
  /** The run-level pool the run waits for, while it waits (pools.ts). */
  poolWait: PoolWait | undefined;
  /** Referenced values of the steps' results (referenced.ts): what `when` reads and activities get. */
  readonly kept: Map<string, Kept>;
  private readonly references: ReferenceMap;

  /** Items a carry holds that no one has asked after yet: their position in it, by forEach step (see `lazyItem`). */
  private readonly carriedItems = new Map<string, { readonly base: number; readonly count: number }>();
  private readonly carriedSteps: CarriedSteps | undefined;

  constructor(
    private readonly input: TrackedRun,
    private readonly startedMs: number,
    carried?: ReadonlyMap<string, CarriedStepState> | CarriedSteps,
    values?: {
      readonly references: ReferenceMap;
      readonly kept?: Map<string, Kept>;
      readonly forEachSteps?: ReadonlySet<string>;
      /** The run's expansions (items.ts): its steps are the plain ones, then these items in order. */
      readonly expanded?: readonly (readonly [string, number])[];
      /** Each forEach step's first failed item, as the previous execution carried it. */
      readonly itemFailures?: Readonly<Record<string, readonly [number, FailureInfo]>>;
    },
  ) {
    this.items = new ItemIndex(values?.itemFailures);
    this.forEachSteps = values?.forEachSteps ?? new Set();
    this.references = values?.references ?? new Map();
    this.kept = values?.kept ?? new Map<string, Kept>();
    const reusable = carried ? {} : (input.resumeFrom?.steps ?? {});
    this.reusable = reusable;
    const expanded = values?.expanded ?? [];
    const itemCount = expanded.reduce((sum, [, count]) => sum + count, 0);
    const own = input.pipeline.steps.length - itemCount;
    // A carry read by position keeps its items unread: only counted here, built when asked after.
    const lazy = carried !== undefined && 'statusAt' in carried && itemCount > 0 ? carried : undefined;
    this.carriedSteps = lazy;
    const steps = lazy ? input.pipeline.steps.slice(0, own) : input.pipeline.steps;
    if (lazy) {
      let base = own;
      for (const [stepId, count] of expanded) {
        this.carriedItems.set(stepId, { base, count });
        for (let i = 0; i < count; i++) this.items.carried(stepId, i, lazy.statusAt(base + i, stepId));
        base += count;
      }
    }
    for (const step of steps) {
      const before = carried?.get(step.id);
      if (before) {
        this.steps.set(step.id, { id: step.id, status: before.status, attempts: [] });
        this.counted(step.id, undefined, before.status);
        if (before.attempts > 0) this.archivedAttempts.set(step.id, before.attempts);
        if (before.permanent) this.carriedPermanent.add(step.id);
        continue;
      }
      // Own properties only: a step id like `constructor` must not find Object.prototype's member.
      const reused = Object.hasOwn(reusable, step.id) ? reusable[step.id] : undefined;
      if (reused) {
        this.put({
          id: step.id,
          status: 'reused',
          attempts: [],
          ...(reused.output === undefined ? {} : { output: reused.output }),
          ...(reused.metrics === undefined ? {} : { metrics: reused.metrics }),
        });
      } else {
        this.steps.set(step.id, { id: step.id, status: 'pending', attempts: [] });
        this.counted(step.id, undefined, 'pending');
      }
    }
  }

  private readonly reusable: NonNullable<RunInput['resumeFrom']>['steps'];
  private readonly forEachSteps: ReadonlySet<string>;

  private addItemMetrics(stepId: string, paths: readonly (readonly string[])[], metrics: StepMetrics | undefined): void {
    for (const path of paths) {
      const [root, name] = path;
      if (root !== 'metrics' || name === undefined || path.length !== 2) continue;
      const key = refKey(stepId, path);
      const before = this.kept.get(key);
      const add = metrics?.[name];
      this.kept.set(key, (typeof before === 'number' ? before : 0) + (typeof add === 'number' ? add : 0));
    }
  }

  /**
   * A step that joined the run (an item of a forEach step, items.ts): pending, or reused when the
   * run being rerun had it succeeded. Its id must already be in the run's steps.
   */
  addStep(id: string): void {
    const reused = Object.hasOwn(this.reusable, id) ? this.reusable[id] : undefined;
    if (reused) this.put({ id, status: 'reused', attempts: [], ...(reused.output === undefined ? {} : { output: reused.output }), ...(reused.metrics === undefined ? {} : { metrics: reused.metrics }) });
    else {
      this.steps.set(id, { id, status: 'pending', attempts: [] });
      this.counted(id, undefined, 'pending');
    }
  }

  /** A forEach step's items counted by status (`total` first), or undefined before it expanded. */
  itemCounts(stepId: string): Record<string, number> | undefined {
    return this.items.counts(stepId);
  }

  /** The items running or waiting (in item order right after a carry was read). */
  activeItemIds(): string[] {
    return this.items.activeIds();
  }

  /** A forEach step's failed item of lowest index, with its error (kept across a continue: the item's state is archived). */
  firstFailedItem(stepId: string): { readonly index: number; readonly error: FailureInfo } | undefined {
    return this.items.firstFailure(stepId);
  }

  /** What the next execution needs to name each forEach step's first failed item (`RunCarry.itemFailures`). */
  carriedItemFailures(): Record<string, [number, FailureInfo]> | undefined {
    return this.items.carriedFailures();
  }

  /** How many items of a forEach step are in `status`. */
  itemsIn(stepId: string, status: StepStatus): number {
    return this.items.count(stepId, status);
  }

  /** The first `limit` pending items of a forEach step, in item order. */
  pendingItems(stepId: string, limit: number): string[] {
    return this.items.pending(stepId, limit, (i) => this.status(itemStepId(stepId, i)) === 'pending');
  }

  /** Keeps the item index in step with an item's status change (plain steps are not indexed). */
  private counted(id: string, before: StepStatus | undefined, after: StepStatus, error?: FailureInfo): void {
    this.items.changed(id, before, after, error);
  }

  /** A forEach step ends (items.ts): its output and metrics from the items this execution knows (all of them once the run ends). */
  forEachEnded(id: string, status: 'succeeded' | 'failed', itemIds: readonly string[], error: FailureInfo | undefined): void {
    // A sum over no succeeded item is 0, not a missing value.
    this.addItemMetrics(id, this.references.get(id) ?? [], undefined);
    this.put({ id, status, attempts: [], ...forEachResult(itemIds.map((i) => this.get(i))), ...(error ? { error } : {}) });
  }

  /** Recomputes an ended forEach step's output and metrics from its items (after the archives are read back). */
  forEachResultFrom(id: string, itemIds: readonly string[]): void {
    const step = this.get(id);
    if (step.status !== 'succeeded' && step.status !== 'failed') return;
    this.steps.set(id, { ...step, ...forEachResult(itemIds.map((i) => this.get(i))) });
  }

  /** Takes the result of a step run by a sub-orchestration: its attempts follow the ones known here. */
  merge(result: StepState): void {
    this.put(mergeStepDeltas(this.get(result.id), result));
  }

  /** Marks a step handed to a sub-orchestration as running (its attempts are tracked there). */
  running(id: string): void {
    const step = this.get(id);
    this.put({ id, status: 'running', attempts: step.attempts });
  }

  status(id: string): StepStatus {
    const known = this.steps.get(id);
    if (known) return known.status;
    const lazy = this.lazyItem(id);
    return lazy ? lazy.carried.statusAt(lazy.position, id) : this.get(id).status;
  }

  /** Where a carried item not yet asked after sits in the carry. */
  private lazyItem(id: string): { readonly carried: CarriedSteps; readonly position: number } | undefined {
    if (!this.carriedSteps) return undefined;
    const item = itemOf(id);
    const where = item === undefined ? undefined : this.carriedItems.get(item.stepId);
    if (!item || !where || item.index >= where.count) return undefined;
    return { carried: this.carriedSteps, position: where.base + item.index };
  }

  /** An item's carried state made a state of this execution (as the constructor does for plain steps). */
  private materialize(id: string): StepState | undefined {
    const lazy = this.lazyItem(id);
    if (!lazy) return undefined;
    const before = lazy.carried.at(lazy.position, id);
    const state: StepState = { id, status: before.status, attempts: [] };
    this.steps.set(id, state);
    if (before.attempts > 0) this.archivedAttempts.set(id, before.attempts);
    if (before.permanent) this.carriedPermanent.add(id);
    return state;
  }

  /** Every carried item built (before walking all steps: a pipeline retry, a continue, the end). */
  private materializeAll(): void {
    if (!this.carriedSteps) return;
    for (const [stepId, { count }] of this.carriedItems) {
      for (let i = 0; i < count; i++) {
        const id = itemStepId(stepId, i);
        if (!this.steps.has(id)) this.materialize(id);
      }
    }
    this.carriedItems.clear();
  }

  /** The step's state in this execution (attempts since its last archive). */
  step(id: string): StepState {
    return this.get(id);
  }

  /** Attempts made of a step so far in this run, every pipeline attempt and execution included. */
  attemptCount(id: string): number {
    const attempts = this.get(id).attempts.length;
    return (this.archivedAttempts.get(id) ?? 0) + attempts;
  }

  /** Whether a failed step failed permanently (pipeline retry does not retry only those). */
  failedPermanently(id: string): boolean {
    const step = this.get(id);
    if (step.status !== 'failed') return false;
    return step.error ? step.error.class === 'permanent' : this.carriedPermanent.has(id);
  }

  attemptStarted(id: string, attempt: number, nowMs: number): void {
    const step = this.get(id);
    const summary: StepAttemptSummary = { attempt, startedAt: isoAt(nowMs), status: 'running' };
    this.attemptStarts.set(`${id}#${attempt}`, nowMs);
    this.put({ id, status: 'running', attempts: [...step.attempts, summary] });
  }

  /** An attempt the run refused to start (the run had ended): it never happened. */
  dropLastAttempt(id: string): void {
    const step = this.get(id);
    this.put({ ...step, attempts: step.attempts.slice(0, -1) });
  }

  attemptSucceeded(id: string, nowMs: number, output: Json | undefined, metrics: StepMetrics | undefined): void {
    const step = this.get(id);
    this.put({
      id,
      status: 'succeeded',
      attempts: this.endLast(id, step.attempts, nowMs, 'succeeded'),
      ...(output === undefined ? {} : { output }),
      ...(metrics === undefined ? {} : { metrics }),
    });
  }

  attemptFailed(id: string, nowMs: number, error: FailureInfo): void {
    const step = this.get(id);
    this.put({ id, status: 'running', attempts: this.endLast(id, step.attempts, nowMs, 'failed', error), error });
  }

  /** Waiting for a slot of a shared pool (the attempt has not started). */
  waitingForPool(id: string, pool: PoolWait): void {
    const { nextAt: _next, ...step } = this.get(id);
    this.put({ ...step, status: 'waiting', pool });
  }

  /** Waiting for a retry delay. */
  waiting(id: string, untilMs: number): void {
    const step = this.get(id);
    this.put({ ...step, status: 'waiting', nextAt: isoAt(untilMs) });
  }

  stepFailed(id: string, error: FailureInfo): void {
    const step = this.get(id);
    this.put({ id, status: 'failed', attempts: step.attempts, error });
  }

  /** A step that will never start: a dependency did not succeed, or the run stopped (`reason`). */
  skip(id: string, reason?: FailureInfo): void {
    const step = this.get(id);
    this.put({ id, status: 'skipped', attempts: step.attempts, ...(reason ? { error: reason } : {}) });
  }

  /**
   * Ends a step because the run was cancelled or timed out at `atMs`: an attempt in progress ends
   * `cancelled` at that instant; a step waiting for its retry makes no new attempt.
   */
  interrupt(id: string, atMs: number, kind: 'cancelled' | 'timedOut'): void {
    const step = this.get(id);
    const error = interruptError(kind);
    const last = step.attempts[step.attempts.length - 1];
    const attempts = last?.status === 'running' ? this.endLast(id, step.attempts, atMs, 'cancelled', error) : step.attempts;
    this.put({ id, status: 'cancelled', attempts, error });
  }

  /** Pipeline retry: steps that did not succeed become pending again; their attempts are kept. */
  resetUnsucceeded(): string[] {
    this.materializeAll();
    // Every failed item runs again: the step's next error names a failure of the next round.
    this.items.clearFailures();
    const reset: string[] = [];
    for (const step of this.steps.values()) {
      if (step.status === 'succeeded' || step.status === 'reused') continue;
      this.put({ id: step.id, status: 'pending', attempts: step.attempts });
      this.carriedPermanent.delete(step.id);
      reset.push(step.id);
    }
    return reset;
  }

  /** What the next execution needs of each step, in definition order (carry.ts encodes it). */
  carried(): { id: string; state: CarriedStepState }[] {
    this.materializeAll();
    return this.input.pipeline.steps.map(({ id }) => ({ id, state: { status: this.status(id), attempts: this.attemptCount(id), permanent: this.failedPermanently(id) } }));
  }

  /** The states of the steps changed since the last archive, for this execution's archive; then starts afresh. */
  takeArchive(): StepState[] {
    const changed = this.input.pipeline.steps.filter((s) => this.dirty.has(s.id)).map((s) => this.get(s.id));
    for (const state of changed) {
      this.archivedAttempts.set(state.id, (this.archivedAttempts.get(state.id) ?? 0) + state.attempts.length);
      if (state.status === 'failed' && state.error?.class === 'permanent') this.carriedPermanent.add(state.id);
      this.steps.set(state.id, { id: state.id, status: state.status, attempts: [] });
    }
    this.dirty.clear();
    return changed;
  }

  /** At the end of a continued run: each step's archived state (folded), then what changed since. */
  restoreArchived(archived: ReadonlyMap<string, StepState>): void {
    this.materializeAll();
    for (const { id } of this.input.pipeline.steps) {
      const before = archived.get(id);
      if (!before) continue;
      const now = this.get(id);
      this.steps.set(id, this.dirty.has(id) ? mergeStepDeltas(before, now) : { ...before, status: now.status });
    }
  }

  snapshot(status: RunStatus, endedMs?: number, error?: RunState['error'], withoutItems = false): RunState {
    return {
      runId: this.input.runId,
      pipeline: this.input.pipeline.name,
      status,
      pipelineAttempt: this.pipelineAttempt,
      // Only a running run waits: an ended one never carries a wait.
      ...(this.pipelineRetry === undefined || status !== 'running' ? {} : { pipelineRetry: this.pipelineRetry }),
      ...(this.poolWait === undefined || status !== 'running' ? {} : { pool: this.poolWait }),
      startedAt: isoAt(this.startedMs),
      ...(endedMs === undefined ? {} : { endedAt: isoAt(endedMs), durationSeconds: secondsBetween(this.startedMs, endedMs) }),
      steps: this.withItemCounts((withoutItems ? this.ownSteps() : this.input.pipeline.steps).map((s) => this.get(s.id))),
      ...(error === undefined ? {} : { error }),
    };
  }

  /**
   * The run's live state for its custom status: like `snapshot`, but of a forEach step's items
   * only those running or waiting, one by one — the others are in the counts on their step and,
   * item by item, in the run store (the API lists them from there) and the run's output. So the
   * status costs the same whatever the number of items, at every transition.
   */
  liveSnapshot(): RunState {
    if (this.forEachSteps.size === 0) return this.snapshot('running');
    const full = this.snapshot('running', undefined, undefined, true);
    return { ...full, steps: [...full.steps, ...this.items.activeIds().map((id) => this.get(id))] };
  }

  /** Each forEach step's state with its items counted by status (views show counts, then items on demand). */
  private withItemCounts(states: StepState[]): StepState[] {
    if (this.forEachSteps.size === 0) return states;
    return states.map((s) => {
      const counts = this.forEachSteps.has(s.id) ? this.itemCounts(s.id) : undefined;
      return counts ? { ...s, items: counts } : s;
    });
  }

  /** The steps before the first item: items are appended after the definition's steps (items.ts). */
  private ownSteps(): readonly { readonly id: string }[] {
    const steps = this.input.pipeline.steps;
    const first = steps.findIndex((s) => itemOf(s.id) !== undefined);
    return first < 0 ? steps : steps.slice(0, first);
  }

  private endLast(
    id: string,
    attempts: readonly StepAttemptSummary[],
    nowMs: number,
    status: 'succeeded' | 'failed' | 'cancelled',
    error?: FailureInfo,
  ): StepAttemptSummary[] {
    const last = attempts[attempts.length - 1];
    if (!last) return [...attempts];
    const startedMs = this.attemptStarts.get(`${id}#${last.attempt}`) ?? nowMs;
    const endedMs = Math.max(startedMs, nowMs);
    const ended: StepAttemptSummary = {
      attempt: last.attempt,
      startedAt: last.startedAt,
      endedAt: isoAt(endedMs),
      durationSeconds: secondsBetween(startedMs, endedMs),
      status,
      ...(error === undefined ? {} : { error }),
    };
    return [...attempts.slice(0, -1), ended];
  }

  private get(id: string): StepState {
    const step = this.steps.get(id) ?? this.materialize(id);
    if (!step) throw new Error(`unknown step "${id}"`);
    return step;
  }

  private put(step: StepState): void {
    const before = this.steps.get(step.id)?.status;
    this.steps.set(step.id, step);
    this.counted(step.id, before, step.status, step.error);
    this.dirty.add(step.id);
    const ran = step.status === 'succeeded' || step.status === 'reused';
    const item = itemOf(step.id);
    if (item) {
      // A forEach step's referenced metrics are its items' sums, added as each item succeeds (once):
      // the items' own states may be archived by the time the step ends.
      const paths = this.references.get(item.stepId);
      if (paths && ran && before !== 'succeeded' && before !== 'reused') this.addItemMetrics(item.stepId, paths, step.metrics);
      return;
    }
    const paths = this.references.get(step.id);
    if (paths && ran && !this.forEachSteps.has(step.id)) for (const [key, value] of extractKept(step.id, paths, step)) this.kept.set(key, value);
  }
}

/** A forEach step's output — its items' outputs in item order, null where an item did not succeed — and their numeric metrics summed. */
export function forEachResult(items: readonly StepState[]): { output: Json[]; metrics: StepMetrics } {
  const metrics: Record<string, number> = {};
  for (const item of items) {
    for (const [name, value] of Object.entries(item.metrics ?? {})) if (typeof value === 'number') metrics[name] = (metrics[name] ?? 0) + value;
  }
  return { output: items.map((i) => ((i.status === 'succeeded' || i.status === 'reused') && i.output !== undefined ? i.output : null)), metrics };
}
