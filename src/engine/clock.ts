/**
 * Instants in orchestrator code are epoch milliseconds taken from `context.df.currentUtcDateTime`
 * (replayed from history). Timers and ISO strings need Date objects built from those numbers: that
 * is deterministic, so this one module may name `Date`; nothing here reads the real clock.
 */

/** A Date for a replayed instant (for `createTimer`). */
export function dateAt(ms: number): Date {
  // eslint-disable-next-line no-restricted-globals, no-restricted-syntax -- built from a replayed instant, never from the wall clock
  return new Date(ms);
}

export function isoAt(ms: number): string {
  return dateAt(ms).toISOString();
}

export function secondsBetween(fromMs: number, toMs: number): number {
  return Math.round(toMs - fromMs) / 1000;
}
