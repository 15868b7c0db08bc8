/**
 * Rules over the step graph: unique ids, known dependencies, no cycles. They read the raw input
 * leniently so they still report when another field of a step is wrong. No imports: the
 * orchestrator uses `topologicalOrder` too.
 */

export interface GraphIssue {
  readonly path: (string | number)[];
  readonly message: string;
}

interface StepNode {
  readonly index: number;
  readonly id: string;
  readonly dependsOn: { readonly id: string; readonly index: number }[];
}

function readNodes(steps: unknown): StepNode[] {
  if (!Array.isArray(steps)) return [];
  const nodes: StepNode[] = [];
  steps.forEach((raw: unknown, index) => {
    if (typeof raw !== 'object' || raw === null) return;
    const { id, dependsOn } = raw as { id?: unknown; dependsOn?: unknown };
    if (typeof id !== 'string') return;
    const deps = Array.isArray(dependsOn)
      ? dependsOn.flatMap((d: unknown, i) => (typeof d === 'string' ? [{ id: d, index: i }] : []))
      : [];
    nodes.push({ index, id, dependsOn: deps });
  });
  return nodes;
}

export function checkStepGraph(steps: unknown): GraphIssue[] {
  const issues: GraphIssue[] = [];
  const nodes = readNodes(steps);
  const firstIndex = new Map<string, number>();
  for (const node of nodes) {
    const seen = firstIndex.get(node.id);
    if (seen === undefined) firstIndex.set(node.id, node.index);
    else issues.push({ path: ['steps', node.index, 'id'], message: `duplicate step id "${node.id}" (also steps[${seen}])` });
  }
  for (const node of nodes) {
    for (const dep of node.dependsOn) {
      if (!firstIndex.has(dep.id)) {
        issues.push({ path: ['steps', node.index, 'dependsOn', dep.index], message: `unknown step "${dep.id}"` });
      } else if (dep.id === node.id) {
        issues.push({ path: ['steps', node.index, 'dependsOn', dep.index], message: `step "${node.id}" depends on itself` });
      }
    }
  }
  const cycle = findCycle(nodes);
  if (cycle) {
    const start = nodes.find((n) => n.id === cycle[0]);
    issues.push({ path: ['steps', start?.index ?? 0, 'dependsOn'], message: `dependency cycle: ${cycle.join(' → ')}` });
  }
  return issues;
}

/** One cycle (ids, first repeated at the end) if the graph has any; self-loops are reported apart. */
function findCycle(nodes: StepNode[]): string[] | undefined {
  const deps = new Map<string, string[]>();
  for (const n of nodes) if (!deps.has(n.id)) deps.set(n.id, n.dependsOn.map((d) => d.id).filter((d) => d !== n.id));
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (id: string): string[] | undefined => {
    const s = state.get(id);
    if (s === 'done') return undefined;
    if (s === 'visiting') return [...stack.slice(stack.indexOf(id)), id];
    state.set(id, 'visiting');
    stack.push(id);
    for (const dep of deps.get(id) ?? []) {
      if (!deps.has(dep)) continue;
      const found = visit(dep);
      if (found) return found;
    }
    stack.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const id of deps.keys()) {
    const found = visit(id);
    if (found) return found;
  }
  return undefined;
}

/** Step ids in an order where every step comes after its dependencies (input order kept otherwise). */
export function topologicalOrder(steps: readonly { id: string; dependsOn: readonly string[] }[]): string[] {
  const order: string[] = [];
  const placed = new Set<string>();
  let remaining = [...steps];
  while (remaining.length > 0) {
    const ready = remaining.filter((s) => s.dependsOn.every((d) => placed.has(d)));
    if (ready.length === 0) throw new Error('dependency cycle among: ' + remaining.map((s) => s.id).join(', '));
    for (const s of ready) {
      order.push(s.id);
      placed.add(s.id);
    }
    remaining = remaining.filter((s) => !placed.has(s.id));
  }
  return order;
}
