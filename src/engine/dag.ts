/**
 * Which steps may start and which can never run, given each step's status. Pure: the orchestrator
 * asks after every transition, so independent steps start as soon as their dependencies succeed.
 */
import type { StepStatus } from './types';

export interface DagStep {
  readonly id: string;
  readonly dependsOn: readonly string[];
}

const DONE: readonly StepStatus[] = ['succeeded', 'reused'];
const DEAD: readonly StepStatus[] = ['failed', 'skipped', 'cancelled'];

/** Pending steps whose dependencies all succeeded (or were reused), in definition order. */
export function readySteps(steps: readonly DagStep[], status: (id: string) => StepStatus): string[] {
  return steps
    .filter((s) => status(s.id) === 'pending' && s.dependsOn.every((d) => DONE.includes(status(d))))
    .map((s) => s.id);
}

/**
 * Pending steps that can never run because a dependency failed, was skipped or was cancelled,
 * transitively, in definition order.
 */
export function unreachableSteps(steps: readonly DagStep[], status: (id: string) => StepStatus): string[] {
  const dead = new Set(steps.filter((s) => DEAD.includes(status(s.id))).map((s) => s.id));
  const found: string[] = [];
  let grew = true;
  while (grew) {
    grew = false;
    for (const s of steps) {
      if (dead.has(s.id) || status(s.id) !== 'pending') continue;
      if (s.dependsOn.some((d) => dead.has(d))) {
        dead.add(s.id);
        found.push(s.id);
        grew = true;
      }
    }
  }
  const order = new Map(steps.map((s, i) => [s.id, i]));
  return found.sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
}
