/**
 * The items of a `forEach` step (docs/pipelines.md, section 3): each item runs as a step of its own
 * whose id is the step's with its index, `load[3]` — brackets cannot occur in step ids, and are
 * allowed in Durable instance ids and Table Storage keys (unlike `#`, `/` or `?`). Pure, no
 * imports: the orchestrator and the activities both map an item id to its step.
 */

/** At most this many items per `forEach` step. */
export const MAX_ITEMS = 10_000;

/** Default `forEach.maxParallel`: ADF ForEach's default batch count is 20, Airflow's mapped tasks follow the pool; ours is the fan-out width. */
export const DEFAULT_ITEM_PARALLELISM = 10;

export const itemStepId = (stepId: string, index: number): string => `${stepId}[${index}]`;

const ITEM_ID = /^(.+)\[(\d+)\]$/;

/** `load[3]` → `{ stepId: 'load', index: 3 }`; a plain step id → undefined. */
export function parseItemStepId(id: string): { readonly stepId: string; readonly index: number } | undefined {
  const m = ITEM_ID.exec(id);
  return m ? { stepId: m[1] ?? '', index: Number(m[2]) } : undefined;
}

/** The concurrency group an item runs in: its step's `forEach.maxParallel`. */
export const itemGroup = (stepId: string): string => `forEach:${stepId}`;

interface ForEachLike {
  readonly id: string;
  readonly forEach?: unknown;
  readonly when?: unknown;
  readonly conditions?: unknown;
}

/**
 * The definition one item runs: its step's, under the item's id, with no dependencies, condition
 * or `when` of its own (the step decided those) and in the step's item group.
 */
export function itemStepOf<S extends ForEachLike>(step: S, index: number): S {
  const { forEach: _forEach, when: _when, conditions: _conditions, ...rest } = step;
  return { ...rest, id: itemStepId(step.id, index), dependsOn: [], group: itemGroup(step.id) } as unknown as S;
}

/** A step of a definition by id, an item id naming its step's item definition. */
export function findStep<S extends ForEachLike>(steps: readonly S[], id: string): S | undefined {
  const direct = steps.find((s) => s.id === id);
  if (direct) return direct;
  const item = parseItemStepId(id);
  if (!item) return undefined;
  const step = steps.find((s) => s.id === item.stepId);
  return step && step.forEach !== undefined ? itemStepOf(step, item.index) : undefined;
}
