/**
 * `forEach` in the run (docs/pipelines.md, section 3). When a forEach step may start, its items
 * are **expanded** into steps of the run — `load[0]`, `load[1]`… (items.ts in src/pipelines) —
 * appended to the run's shape, each in the step's item group (its `forEach.maxParallel`). From
 * then on an item is a step like any other: started the moment a slot frees, alone inline or in a
 * `runPipelineStep` (batched beyond `FAN_OUT`), with its own attempts and retries, its end heard
 * through a notice, its state carried in one letter across `continueAsNew` and archived. The
 * forEach step itself has no attempts: it is `running` while its items run and ends by the rule
 * of `onItemFailure`.
 *
 * The expansions are carried in order (`RunCarry.expanded`), so a continued execution rebuilds
 * the same shape before it decodes the carried letters.
 */
import type { FailureInfo } from '../core/errors';
import type { Json, JsonObject } from '../core/json';
import { findStep, itemGroup, itemStepId, itemStepOf, MAX_ITEMS, parseItemStepId } from '../pipelines/items';
import type { StepDefinition } from '../pipelines/schema';
import { refKey } from '../pipelines/stepRefs';
import type { Kept } from './referenced';
import { pendingIndex, type PendingIndex } from './dag';
import type { RunShape } from './scope';
import type { RunTracker } from './state';

/** The run's shape as it grows: the definition's steps, then each expanded step's items. */
export interface LiveShape extends RunShape {
  readonly steps: StepDefinition[];
  /** The definition's own steps (no items): what the dataflow walks at each round. */
  readonly defined: readonly StepDefinition[];
  readonly concurrencyGroups: Record<string, { readonly maxParallel: number }>;
  /** Expanded forEach steps in the order they expanded, with their item count. */
  readonly expanded: [string, number][];
}

/** The definition's shape with the expansions a previous execution carried. */
export function liveShape(definition: RunShape, expanded: readonly (readonly [string, number])[] = []): LiveShape {
  const shape: LiveShape = { ...definition, steps: [...definition.steps], defined: definition.steps, concurrencyGroups: { ...definition.concurrencyGroups }, expanded: [] };
  for (const [stepId, count] of expanded) {
    const step = definition.steps.find((s) => s.id === stepId);
    if (step) addItems(shape, step, count);
  }
  return shape;
}

function addItems(shape: LiveShape, step: StepDefinition, count: number): readonly StepDefinition[] {
  shape.concurrencyGroups[itemGroup(step.id)] = { maxParallel: step.forEach?.maxParallel ?? 1 };
  shape.expanded.push([step.id, count]);
  const items = itemDefinitions(step, count);
  for (const item of items) shape.steps.push(item);
  return items;
}

/**
 * The item definitions of a forEach step, built once per definition object: every wake-up of a
 * run rebuilds its shape, and a definition (from the content-addressed lookup) is the same object
 * at each. A pure function's results, so replays decide the same.
 */
const itemCache = new WeakMap<StepDefinition, StepDefinition[]>();

function itemDefinitions(step: StepDefinition, count: number): readonly StepDefinition[] {
  const known = itemCache.get(step) ?? [];
  for (let i = known.length; i < count; i++) known.push(itemStepOf(step, i));
  itemCache.set(step, known);
  return known.length === count ? known : known.slice(0, count);
}

export const isExpanded = (shape: LiveShape, stepId: string): boolean => shape.expanded.some(([id]) => id === stepId);

export interface ItemSource {
  readonly parameters: JsonObject;
  readonly kept: ReadonlyMap<string, Kept>;
}

/** The items of a forEach step, or why it cannot run (not a list, too many, a value not kept). */
export function itemsOf(step: StepDefinition, source: ItemSource): { readonly items: readonly Json[] } | { readonly error: FailureInfo } {
  const spec = step.forEach;
  if (!spec) return { items: [] };
  const where = 'param' in spec.items ? `parameter "${spec.items.param}"` : `steps.${spec.items.step}.${spec.items.path}`;
  const value: unknown =
    'param' in spec.items
      ? Object.hasOwn(source.parameters, spec.items.param)
        ? source.parameters[spec.items.param]
        : undefined
      : source.kept.get(refKey(spec.items.step, spec.items.path.split('.')));
  const fail = (message: string) => ({ error: { class: 'permanent' as const, code: 'for-each-items', message: `forEach over ${where}: ${message}` } });
  if (!Array.isArray(value)) return fail(value === undefined ? 'the run has no such value' : typeof value === 'object' && value !== null && 'tooLarge' in value ? 'the list is too large to keep' : 'not a list');
  if (value.length > MAX_ITEMS) return fail(`${value.length} items, over the ${MAX_ITEMS.toLocaleString('en-US')} a step may run`);
  return { items: value as Json[] };
}

/**
 * Expands a forEach step that may start: its items join the run (reused from the run being rerun
 * when they succeeded there) and the step is running; with no items it succeeds at once. Expanded
 * before (a pipeline retry), it runs again over the same items: the failed ones become pending.
 */
export function expand(shape: LiveShape, tracker: RunTracker, step: StepDefinition, items: readonly Json[]): void {
  if (!isExpanded(shape, step.id)) {
    for (const item of addItems(shape, step, items.length)) tracker.addStep(item.id);
  }
  tracker.running(step.id);
  if (items.length === 0) tracker.forEachEnded(step.id, 'succeeded', [], undefined);
}

function itemIdsOf(shape: LiveShape, stepId: string): string[] {
  const count = shape.expanded.find(([id]) => id === stepId)?.[1] ?? 0;
  return Array.from({ length: count }, (_, i) => itemStepId(stepId, i));
}

/**
 * Ends the running forEach steps whose items say so: every item ended (`finishOthers`), or one
 * failed (`failFast`: the items not started are then skipped, those in flight finish). Returns
 * whether any ended. Asked at every round, so it reads the tracker's item counts; only a step that
 * ends walks its items.
 */
export function settleForEach(shape: LiveShape, tracker: RunTracker): boolean {
  let ended = false;
  for (const [stepId, count] of shape.expanded) {
    if (tracker.status(stepId) !== 'running') continue;
    const step = shape.defined.find((s) => s.id === stepId);
    const failFast = step?.forEach?.onItemFailure === 'failFast';
    const failed = tracker.itemsIn(stepId, 'failed');
    const open = tracker.itemsIn(stepId, 'pending') + tracker.itemsIn(stepId, 'running') + tracker.itemsIn(stepId, 'waiting');
    if (open > 0 && !(failFast && failed > 0)) continue;
    // An item is cancelled only by an interrupt of the run: the step was in progress then, and ends
    // `cancelled` with the run's reason (stopping.ts), not `failed` for items that never failed.
    if (tracker.itemsIn(stepId, 'cancelled') > 0 && !(failFast && failed > 0)) continue;
    const ids = itemIdsOf(shape, stepId);
    const unsuccessful = count - tracker.itemsIn(stepId, 'succeeded') - tracker.itemsIn(stepId, 'reused');
    if (unsuccessful === 0) {
      tracker.forEachEnded(stepId, 'succeeded', ids, undefined);
    } else {
      // Kept as items fail (and across a continue, where the item's own state is archived).
      const known = tracker.firstFailedItem(stepId);
      const firstFailed = known || failed === 0 ? undefined : ids.find((id) => tracker.status(id) === 'failed');
      const cause = known?.error ?? (firstFailed === undefined ? undefined : tracker.step(firstFailed).error);
      const index = known?.index ?? (firstFailed === undefined ? undefined : parseItemStepId(firstFailed)?.index);
      const error: FailureInfo = {
        class: cause?.class ?? 'permanent',
        ...(cause?.code === undefined ? {} : { code: cause.code }),
        message: `${unsuccessful} of ${ids.length} items did not succeed${index === undefined ? '' : `; item ${index}: ${cause?.message ?? 'failed'}`}`,
      };
      tracker.forEachEnded(stepId, 'failed', ids, error);
    }
    ended = true;
  }
  return ended;
}

/**
 * The pending items of the running forEach steps that could start now, in item order: at most
 * their group's `maxParallel` each (more could never be admitted together). Read from the
 * tracker's queue of pending items, not by walking them.
 */
export function readyItems(shape: LiveShape, tracker: RunTracker): { readonly stepId: string; readonly ids: readonly string[] }[] {
  return shape.expanded.flatMap(([stepId]) => {
    if (tracker.status(stepId) !== 'running') return [];
    const limit = shape.concurrencyGroups[itemGroup(stepId)]?.maxParallel ?? 1;
    const ids = tracker.pendingItems(stepId, limit);
    return ids.length > 0 ? [{ stepId, ids }] : [];
  });
}

/** Every pending item of a forEach step (when they all fail or are skipped together). */
export const allPendingItems = (tracker: RunTracker, stepId: string): string[] => tracker.pendingItems(stepId, Number.POSITIVE_INFINITY);

/**
 * Items that can never start because their step ended without them (`failFast`, a stop, a
 * failure before they ran): skipped, in item order — the rule of `unreachableSteps` for items,
 * asked only of the steps that still have pending items.
 */
export function strandedItems(shape: LiveShape, tracker: RunTracker): { readonly id: string; readonly reason: FailureInfo }[] {
  return shape.expanded.flatMap(([stepId]) => {
    const status = tracker.status(stepId);
    if (status === 'pending' || status === 'running' || status === 'waiting' || tracker.itemsIn(stepId, 'pending') === 0) return [];
    const reason: FailureInfo = { class: 'permanent', code: 'condition-unmet', message: `forEach step "${stepId}" ${status}` };
    return allPendingItems(tracker, stepId).map((id) => ({ id, reason }));
  });
}

/**
 * The pending steps as `endAwaited` needs them (dag.ts `pendingIndex`), from the definition's
 * steps and the items' counts: items depend on nothing, so they only count, in their group.
 */
export function pendingWithItems(shape: LiveShape, tracker: RunTracker): PendingIndex<StepDefinition> {
  const own = pendingIndex(shape.defined, (id) => tracker.status(id));
  let count = own.count;
  const perGroup = new Map(own.perGroup);
  for (const [stepId] of shape.expanded) {
    const pending = tracker.itemsIn(stepId, 'pending');
    if (pending === 0) continue;
    count += pending;
    perGroup.set(itemGroup(stepId), (perGroup.get(itemGroup(stepId)) ?? 0) + pending);
  }
  return { dependents: own.dependents, count, perGroup };
}

/** A step of the run's shape by id, an item's built from its step on demand (and kept). */
export function stepLookup(shape: LiveShape): (id: string) => StepDefinition | undefined {
  const defined = new Map(shape.defined.map((s) => [s.id, s]));
  const items = new Map<string, StepDefinition>();
  return (id) => {
    const own = defined.get(id);
    if (own) return own;
    const known = items.get(id);
    if (known) return known;
    const item = parseItemStepId(id);
    const step = item === undefined ? undefined : defined.get(item.stepId);
    const count = step === undefined ? undefined : shape.expanded.find(([expanded]) => expanded === step.id)?.[1];
    if (!item || !step || count === undefined || item.index >= count) return undefined;
    const made = itemStepOf(step, item.index);
    items.set(id, made);
    return made;
  };
}

/** When the run ends (archives read back): each forEach step's output and metrics from all its items. */
export function finalizeForEach(shape: LiveShape, tracker: RunTracker): void {
  for (const [stepId] of shape.expanded) tracker.forEachResultFrom(stepId, itemIdsOf(shape, stepId));
}

/** The item value a step's activity gets (`item`), for an item id; undefined for a plain step. */
export function itemValueFor(shape: LiveShape, stepId: string, source: ItemSource): Json | undefined {
  const item = parseItemStepId(stepId);
  if (!item) return undefined;
  const step = shape.defined.find((s) => s.id === item.stepId);
  if (!step) return undefined;
  const found = itemsOf(step, source);
  return 'items' in found ? found.items[item.index] : undefined;
}

export { findStep };
