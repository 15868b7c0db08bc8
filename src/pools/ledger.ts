/**
 * A shared pool's ledger as pure transitions: who holds its slots and who waits, first come first
 * served. The store (tableStore.ts) keeps one ledger per pool in one Table entity and applies these
 * under its ETag, so two writers never both take the last slot; the activities (activities.ts) tell
 * promoted waiters with a Durable event.
 *
 * Rules, each checked by test/unit/poolLedger.test.ts:
 * - never more holders than slots;
 * - a waiter is promoted only from the head of the queue, and a newcomer queues behind every waiter
 *   even when a slot is free (no barging), so the order of `acquire` calls is the order of grants;
 * - acquiring again with the same holder id is answered from the ledger (activities run at least
 *   once), and releasing what is not there changes nothing;
 * - a holder whose lease ran out is kept while its orchestration is alive (its lease renewed) and
 *   evicted when it is not: the crashed-holder case.
 */

export interface PoolClaim {
  /** `<runId>|run` or `<runId>|<stepId>#<attempt>`: one per run or per step attempt. */
  readonly id: string;
  readonly runId: string;
  /** The orchestration that waits and is woken (the run, or the step's sub-orchestration). */
  readonly instanceId: string;
}

export interface PoolHolder extends PoolClaim {
  readonly since: number;
  readonly leaseUntil: number;
  /** When it joined the queue, if it had to queue (absent: granted on arrival). */
  readonly queuedAt?: number;
}

export interface PoolWaiter extends PoolClaim {
  readonly since: number;
}

export interface PoolLedger {
  readonly holders: readonly PoolHolder[];
  readonly waiters: readonly PoolWaiter[];
}

export const EMPTY_LEDGER: PoolLedger = { holders: [], waiters: [] };

export type AcquireAnswer = { readonly granted: true } | { readonly granted: false; readonly position: number };

export interface Transition<T> {
  readonly ledger: PoolLedger;
  readonly answer: T;
  /** Waiters that became holders (other than the caller): wake them. */
  readonly promoted: readonly PoolHolder[];
}

/** Fills free slots from the head of the queue. */
function promote(ledger: PoolLedger, slots: number, nowMs: number, leaseMs: number): { ledger: PoolLedger; promoted: PoolHolder[] } {
  const holders = [...ledger.holders];
  const waiters = [...ledger.waiters];
  const promoted: PoolHolder[] = [];
  while (holders.length < slots && waiters.length > 0) {
    const next = waiters.shift()!;
    const holder: PoolHolder = { id: next.id, runId: next.runId, instanceId: next.instanceId, since: nowMs, leaseUntil: nowMs + leaseMs, queuedAt: next.since };
    holders.push(holder);
    promoted.push(holder);
  }
  return { ledger: { holders, waiters }, promoted };
}

export function acquire(ledger: PoolLedger, slots: number, claim: PoolClaim, nowMs: number, leaseMs: number): Transition<AcquireAnswer> {
  if (ledger.holders.some((h) => h.id === claim.id)) return { ledger, answer: { granted: true }, promoted: [] };
  const arriving = !ledger.waiters.some((w) => w.id === claim.id);
  const queued = arriving ? { ...ledger, waiters: [...ledger.waiters, { id: claim.id, runId: claim.runId, instanceId: claim.instanceId, since: nowMs }] } : ledger;
  const after = promote(queued, slots, nowMs, leaseMs);
  const mine = after.promoted.some((h) => h.id === claim.id);
  const others = after.promoted.filter((h) => h.id !== claim.id);
  if (mine) {
    // Granted on arrival: it never queued.
    const holders = arriving ? after.ledger.holders.map((h) => (h.id === claim.id ? { id: h.id, runId: h.runId, instanceId: h.instanceId, since: h.since, leaseUntil: h.leaseUntil } : h)) : after.ledger.holders;
    return { ledger: { ...after.ledger, holders }, answer: { granted: true }, promoted: others };
  }
  const position = after.ledger.waiters.findIndex((w) => w.id === claim.id) + 1;
  return { ledger: after.ledger, answer: { granted: false, position }, promoted: others };
}

/** Removes every holder and waiter `gone` picks (a step attempt's, a whole run's), then fills the freed slots. */
export function release(ledger: PoolLedger, slots: number, gone: (entry: PoolClaim) => boolean, nowMs: number, leaseMs: number): Transition<{ released: number }> {
  const kept = { holders: ledger.holders.filter((h) => !gone(h)), waiters: ledger.waiters.filter((w) => !gone(w)) };
  const released = ledger.holders.length - kept.holders.length + (ledger.waiters.length - kept.waiters.length);
  const after = promote(kept, slots, nowMs, leaseMs);
  return { ledger: after.ledger, answer: { released }, promoted: after.promoted };
}

/** Holders whose lease has run out: ask whether their orchestrations still run. */
export function expiredHolders(ledger: PoolLedger, nowMs: number): PoolHolder[] {
  return ledger.holders.filter((h) => h.leaseUntil <= nowMs);
}

/** Renews the leases of the expired holders still alive and evicts the others (then fills their slots). */
export function settleExpired(ledger: PoolLedger, slots: number, alive: ReadonlySet<string>, dead: ReadonlySet<string>, nowMs: number, leaseMs: number): Transition<{ evicted: number }> {
  const renewed = ledger.holders.map((h) => (h.leaseUntil <= nowMs && alive.has(h.id) ? { ...h, leaseUntil: nowMs + leaseMs } : h));
  const after = release({ ...ledger, holders: renewed }, slots, (e) => dead.has(e.id) && renewed.some((h) => h.id === e.id && h.leaseUntil <= nowMs), nowMs, leaseMs);
  return { ledger: after.ledger, answer: { evicted: after.answer.released }, promoted: after.promoted };
}

/** When a waiter looks again without being woken: the first lease to run out, at most `maxWaitMs` away. */
export function recheckAt(ledger: PoolLedger, nowMs: number, maxWaitMs: number): number {
  const first = Math.min(...ledger.holders.map((h) => h.leaseUntil), nowMs + maxWaitMs);
  return Math.max(first, nowMs + 1000);
}
