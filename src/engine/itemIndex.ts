/**
 * What a run knows of its forEach steps' items, kept up to date at each item's transition (the
 * tracker tells it, state.ts), so a wake-up asks "how many are still to run", "which start next"
 * or "which are in flight" without walking 10,000 items: every wake-up replays the execution from
 * its start, so a walk per round would cost (rounds × wake-ups × items). Pure.
 */
import type { FailureInfo } from '../core/errors';
import { itemStepId, parseItemStepId } from '../pipelines/items';
import type { StepStatus } from './types';

/** Statuses in the order item counts list them. */
const STATUS_ORDER: readonly StepStatus[] = ['pending', 'running', 'waiting', 'succeeded', 'reused', 'failed', 'skipped', 'cancelled'];

/** An item id's step and index, without parsing plain step ids (they never end in `]`). */
export function itemOf(id: string): { readonly stepId: string; readonly index: number } | undefined {
  return id.charCodeAt(id.length - 1) === 93 ? parseItemStepId(id) : undefined;
}

/**
 * One forEach step's items: the counts by status, and the pending indices in order (a queue whose
 * head only moves forward; entries that left `pending` are dropped as the head passes them).
 */
interface StepItems {
  readonly counts: Map<StepStatus, number>;
  readonly pending: number[];
  head: number;
  /** An index went back to pending below the queue's last entry (a pipeline retry): sort on read. */
  unsorted: boolean;
}

export class ItemIndex {
  private readonly steps = new Map<string, StepItems>();
  /** Items running or waiting (in item order when counted from a carry). */
  private readonly active = new Set<string>();
  /** Per forEach step, its failed item of lowest index and that item's error. */
  private readonly firstFailures = new Map<string, { readonly index: number; readonly error: FailureInfo }>();

  constructor(carriedFailures: Readonly<Record<string, readonly [number, FailureInfo]>> = {}) {
    for (const [stepId, [index, error]] of Object.entries(carriedFailures)) this.firstFailures.set(stepId, { index, error });
  }

  private of(stepId: string): StepItems {
    let entry = this.steps.get(stepId);
    if (!entry) {
      entry = { counts: new Map(), pending: [], head: 0, unsorted: false };
      this.steps.set(stepId, entry);
    }
    return entry;
  }

  /** An item's status changed (`before` undefined: it joined the run). Plain step ids are ignored. */
  changed(id: string, before: StepStatus | undefined, after: StepStatus, error?: FailureInfo): void {
    if (before === after) return;
    const item = itemOf(id);
    if (!item) return;
    if (after === 'running' || after === 'waiting') this.active.add(id);
    else this.active.delete(id);
    const entry = this.of(item.stepId);
    if (before !== undefined) entry.counts.set(before, (entry.counts.get(before) ?? 1) - 1);
    entry.counts.set(after, (entry.counts.get(after) ?? 0) + 1);
    if (after === 'pending') {
      const last = entry.pending[entry.pending.length - 1];
      if (entry.head < entry.pending.length && last !== undefined && last > item.index) entry.unsorted = true;
      entry.pending.push(item.index);
    }
    const first = this.firstFailures.get(item.stepId);
    if (after === 'failed' && error && (!first || item.index <= first.index)) this.firstFailures.set(item.stepId, { index: item.index, error });
  }

  /** An item read from a carry, counted without being built (state.ts builds it when asked after). */
  carried(stepId: string, index: number, status: StepStatus): void {
    const entry = this.of(stepId);
    entry.counts.set(status, (entry.counts.get(status) ?? 0) + 1);
    if (status === 'pending') entry.pending.push(index);
    if (status === 'running' || status === 'waiting') this.active.add(itemStepId(stepId, index));
  }

  /** A forEach step's items counted by status (`total` first), or undefined before it expanded. */
  counts(stepId: string): Record<string, number> | undefined {
    const entry = this.steps.get(stepId);
    if (!entry) return undefined;
    let total = 0;
    for (const n of entry.counts.values()) total += n;
    const counts: Record<string, number> = { total };
    for (const status of STATUS_ORDER) {
      const n = entry.counts.get(status) ?? 0;
      if (n > 0) counts[status] = n;
    }
    return counts;
  }

  /** How many items of a forEach step are in `status`. */
  count(stepId: string, status: StepStatus): number {
    return this.steps.get(stepId)?.counts.get(status) ?? 0;
  }

  /** The items running or waiting. */
  activeIds(): string[] {
    return [...this.active];
  }

  /** The first `limit` pending items of a forEach step, in item order (`isPending` asks the tracker). */
  pending(stepId: string, limit: number, isPending: (index: number) => boolean): string[] {
    const entry = this.steps.get(stepId);
    if (!entry || limit <= 0) return [];
    if (entry.unsorted) {
      const rest = entry.pending.slice(entry.head).sort((a, b) => a - b);
      entry.pending.length = 0;
      entry.pending.push(...rest);
      entry.head = 0;
      entry.unsorted = false;
    }
    while (entry.head < entry.pending.length && !isPending(entry.pending[entry.head] ?? -1)) entry.head++;
    const found: string[] = [];
    // An index that went back to pending (a pipeline retry) may still be in the queue from before.
    const seen = new Set<number>();
    for (let k = entry.head; k < entry.pending.length && found.length < limit; k++) {
      const i = entry.pending[k] ?? -1;
      if (seen.has(i) || !isPending(i)) continue;
      seen.add(i);
      found.push(itemStepId(stepId, i));
    }
    if (entry.head > 1024 && entry.head * 2 > entry.pending.length) {
      entry.pending.splice(0, entry.head);
      entry.head = 0;
    }
    return found;
  }

  /** A forEach step's failed item of lowest index, with its error. */
  firstFailure(stepId: string): { readonly index: number; readonly error: FailureInfo } | undefined {
    return this.firstFailures.get(stepId);
  }

  /** Every failed item runs again (a pipeline retry): the next errors name failures of the next round. */
  clearFailures(): void {
    this.firstFailures.clear();
  }

  /** What the next execution needs to name each forEach step's first failed item (`RunCarry.itemFailures`). */
  carriedFailures(): Record<string, [number, FailureInfo]> | undefined {
    if (this.firstFailures.size === 0) return undefined;
    return Object.fromEntries([...this.firstFailures].map(([stepId, { index, error }]) => [stepId, [index, error]]));
  }
}
