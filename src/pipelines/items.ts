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

/**
 * `load[3]` → `{ stepId: 'load', index: 3 }`; a plain step id → undefined. Read by hand, not with
 * a regular expression: the engine asks it at every transition of runs with 10,000 items.
 */
export function parseItemStepId(id: string): { readonly stepId: string; readonly index: number } | undefined {
  const end = id.length - 1;
  if (id.charCodeAt(end) !== 93 /* ] */) return undefined;
  const open = id.lastIndexOf('[', end);
  if (open < 1 || open + 1 === end) return undefined;
  for (let i = open + 1; i < end; i++) {
    const c = id.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
  }
  return { stepId: id.slice(0, open), index: Number(id.slice(open + 1, end)) };
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
