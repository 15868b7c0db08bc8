/**
 * How views show a forEach step (docs/pipelines.md, section 3): the step with its items counted by
 * status, then the items (`load[0]`, `load[1]`…) on demand. Shared by the CLI, the demo and the
 * console; no imports, so the browser bundle takes it too.
 */

/** `load[3]` → `load`; a plain step id → undefined. */
export function itemOwner(id: string): string | undefined {
  const m = /^(.+)\[\d+\]$/.exec(id);
  return m ? m[1] : undefined;
}

const ORDER = ['succeeded', 'reused', 'failed', 'running', 'waiting', 'pending', 'skipped', 'cancelled'];

/** `{ total: 5, succeeded: 4, failed: 1 }` → `5 items: 4 succeeded, 1 failed`. */
export function itemCountsText(counts: Readonly<Record<string, number>>): string {
  const total = counts['total'] ?? 0;
  const parts = Object.entries(counts)
    .filter(([status, n]) => status !== 'total' && n > 0)
    .sort(([a], [b]) => ORDER.indexOf(a) - ORDER.indexOf(b))
    .map(([status, n]) => `${n.toLocaleString('en-US')} ${status}`);
  return `${total.toLocaleString('en-US')} item${total === 1 ? '' : 's'}${parts.length > 0 ? `: ${parts.join(', ')}` : ''}`;
}

/** The steps without their items, and each forEach step's items, in order. */
export function splitItems<S extends { readonly id: string }>(steps: readonly S[]): { readonly steps: S[]; readonly items: ReadonlyMap<string, S[]> } {
  const top: S[] = [];
  const items = new Map<string, S[]>();
  for (const step of steps) {
    const owner = itemOwner(step.id);
    if (owner === undefined) top.push(step);
    else items.set(owner, [...(items.get(owner) ?? []), step]);
  }
  return { steps: top, items };
}
