/** How long a `waitFor` step waits between checks: `checkEvery` as a duration, or growing. */
import type { WaitForStep } from './schema';

/** Seconds before check number `checks + 1` (the first check is at the start). */
export function nextCheckSeconds(step: Pick<WaitForStep, 'checkEvery'>, checks: number): number {
  const every = step.checkEvery;
  if (typeof every === 'number') return every;
  const grown = every.initial * every.factor ** Math.max(0, checks - 1);
  return Math.round(Math.min(grown, every.max ?? Number.POSITIVE_INFINITY));
}
