/**
 * The two pool activities, each with a Durable client (registerClientActivity):
 *
 * - `acquirePoolSlot`: joins the pool's queue (or finds its place in it) and answers granted, or
 *   the position and when to look again. Before that it settles holders whose lease ran out: kept
 *   (lease renewed) while their orchestration is Running/Pending, evicted otherwise — a holder whose
 *   host was killed keeps its slot until Durable resumes it and it releases; one that was terminated
 *   or purged gives it back within a lease. A step of a run that has ended gets `closed`.
 * - `releasePoolSlots`: removes a step attempt's or a whole run's holders and waiters.
 *
 * Both wake every waiter they promoted with the event `pool:<name>` (`DurableClient.raiseEvent`).
 * The waiter treats the event as a hint and asks again, so a stale or early event is harmless:
 * durable-js keeps an event raised before its wait (TaskOrchestrationExecutor `deferredTasks`).
 */
import type { DurableClient } from 'durable-functions';
import { z } from 'zod';
import { checkCaller, RunRefusedError } from '../activities/runGate';
import { PermanentError, toActivityError } from '../core/errors';
import type { PoolDefinition } from '../projects/schema';
import { acquire, expiredHolders, recheckAt, release, settleExpired, type PoolClaim, type Transition } from './ledger';
import type { PoolStore } from './tableStore';
import type { LogLine } from '../runs/recorder';
import { poolEventName, type AcquirePoolInput, type AcquirePoolResult, type ReleasePoolsInput } from './protocol';

export { poolEventName };

/** Longest a waiter sleeps without an event: a lost wake-up costs at most this. */
export const MAX_POOL_WAIT_MS = 3_600_000;

const ALIVE = new Set(['Running', 'Pending', 'ContinuedAsNew']);

const claimSchema = z.object({ id: z.string().min(1).max(400), runId: z.string().min(1), instanceId: z.string().min(1), stepId: z.string().min(1).optional() }).strict();

export const acquirePoolInputSchema = z.object({ pool: z.string().min(1), claim: claimSchema }).strict() satisfies z.ZodType<AcquirePoolInput>;

export const releasePoolsInputSchema = z
  .object({
    pools: z.array(z.string().min(1)).min(1),
    runId: z.string().min(1),
    /** One claim's id (a step attempt); absent: everything the run holds or waits for. */
    claimId: z.string().min(1).optional(),
  })
  .strict() satisfies z.ZodType<ReleasePoolsInput>;

export interface PoolActivityDeps {
  readonly store: PoolStore;
  pool(name: string): PoolDefinition | undefined;
  now(): Date;
  /** A line in the run's log (what `logs --follow` and the console show); none when absent. */
  log?(runId: string, line: LogLine): Promise<void>;
}

type StatusClient = Pick<DurableClient, 'getStatus' | 'raiseEvent'>;

async function isAlive(client: StatusClient, instanceId: string): Promise<boolean> {
  try {
    const status = await client.getStatus(instanceId, { showInput: false });
    return status?.instanceId !== undefined && status.instanceId !== '' && ALIVE.has(String(status.runtimeStatus));
  } catch (error) {
    if (/\b404\b|not found/i.test((error as Error).message)) return false;
    throw error;
  }
}

async function wake(client: StatusClient, pool: string, promoted: Transition<unknown>['promoted']): Promise<void> {
  // A waiter that is gone cannot be woken (404/410); its slot comes back when its lease runs out.
  await Promise.all(promoted.map((h) => client.raiseEvent(h.instanceId, poolEventName(pool), { pool }).catch(() => undefined)));
}

function definitionOf(deps: PoolActivityDeps, name: string): PoolDefinition {
  const pool = deps.pool(name);
  if (!pool) throw new PermanentError(`pool "${name}" is not declared in this app (src/pipelines/definitions/projects.ts)`, { code: 'unknown-pool' });
  return pool;
}

/**
 * Only a run's own instances act on its claims, and a claim wakes the instance that asks (the
 * same rule as the step activities: src/activities/runGate.ts). `caller` is the calling
 * orchestration's instance id (undefined where no host says who calls).
 */
function checkClaimCaller(runId: string, claimId: string | undefined, instanceId: string | undefined, caller: string | undefined): void {
  checkCaller(runId, caller);
  if (claimId !== undefined && !claimId.startsWith(`${runId}|`)) throw new RunRefusedError(`claim "${claimId}" is not one of run "${runId}"`);
  if (caller !== undefined && instanceId !== undefined && instanceId !== caller) throw new RunRefusedError(`instance "${caller}" cannot queue "${instanceId}"`);
}

export async function acquirePoolSlot(raw: unknown, client: StatusClient, deps: PoolActivityDeps, caller?: string): Promise<AcquirePoolResult> {
  try {
    const parsed = acquirePoolInputSchema.safeParse(raw);
    if (!parsed.success) throw new PermanentError(`acquirePoolSlot input: ${z.prettifyError(parsed.error)}`);
    const { pool: name, claim } = parsed.data;
    checkClaimCaller(claim.runId, claim.id, claim.instanceId, caller);
    const pool = definitionOf(deps, name);
    const leaseMs = pool.lease * 1000;
    // A step sub-orchestration outliving its cancelled run queues for nothing.
    if (!(await isAlive(client, claim.runId))) {
      const gone = await deps.store.change(name, (l) => release(l, pool.slots, (e) => e.id === claim.id, deps.now().getTime(), leaseMs));
      await wake(client, name, gone.promoted);
      return { granted: false, closed: true };
    }
    const before = await deps.store.read(name);
    const expired = expiredHolders(before, deps.now().getTime());
    if (expired.length > 0) {
      const checks = await Promise.all(expired.map(async (h) => [h.id, await isAlive(client, h.instanceId)] as const));
      const alive = new Set(checks.filter(([, a]) => a).map(([id]) => id));
      const dead = new Set(checks.filter(([, a]) => !a).map(([id]) => id));
      const settled = await deps.store.change(name, (l) => settleExpired(l, pool.slots, alive, dead, deps.now().getTime(), leaseMs));
      await wake(client, name, settled.promoted.filter((h) => h.id !== claim.id));
    }
    const queuedBefore = (await deps.store.read(name)).waiters.some((w) => w.id === claim.id);
    const result = await deps.store.change(name, (l) => acquire(l, pool.slots, { id: claim.id, runId: claim.runId, instanceId: claim.instanceId } satisfies PoolClaim, deps.now().getTime(), leaseMs));
    await wake(client, name, result.promoted);
    const who = claim.stepId === undefined ? 'run' : claim.stepId;
    const line = (msg: string, fields: Record<string, string | number>): Promise<void> =>
      // The run's log says what waited and for how long; losing a line must not lose the slot.
      deps.log?.(claim.runId, { time: deps.now().toISOString(), level: 'info', msg, ...(claim.stepId === undefined ? {} : { stepId: claim.stepId }), fields: { pool: name, ...fields } }).catch(() => undefined) ?? Promise.resolve();
    if (result.answer.granted) {
      const holder = result.ledger.holders.find((h) => h.id === claim.id);
      if (holder?.queuedAt !== undefined) {
        const waited = Math.round((holder.since - holder.queuedAt) / 1000);
        await line(`${who} got a slot of pool ${name} after ${waited}s in its queue`, { waitedSeconds: waited });
      }
      return { granted: true };
    }
    if (!queuedBefore) await line(`${who} waiting for pool ${name} (position ${result.answer.position})`, { position: result.answer.position });
    return { granted: false, position: result.answer.position, recheckAtMs: recheckAt(result.ledger, deps.now().getTime(), MAX_POOL_WAIT_MS) };
  } catch (error) {
    throw toActivityError(error);
  }
}

export async function releasePoolSlots(raw: unknown, client: StatusClient, deps: PoolActivityDeps, caller?: string): Promise<{ released: number }> {
  try {
    const parsed = releasePoolsInputSchema.safeParse(raw);
    if (!parsed.success) throw new PermanentError(`releasePoolSlots input: ${z.prettifyError(parsed.error)}`);
    const { pools, runId, claimId } = parsed.data;
    checkClaimCaller(runId, claimId, undefined, caller);
    let released = 0;
    for (const name of new Set(pools)) {
      const pool = deps.pool(name);
      if (!pool) continue;
      const gone = (e: PoolClaim): boolean => (claimId === undefined ? e.runId === runId : e.id === claimId);
      const result = await deps.store.change(name, (l) => (l.holders.some(gone) || l.waiters.some(gone) ? release(l, pool.slots, gone, deps.now().getTime(), pool.lease * 1000) : { ledger: l, answer: { released: 0 }, promoted: [] }));
      released += result.answer.released;
      await wake(client, name, result.promoted);
    }
    return { released };
  } catch (error) {
    throw toActivityError(error);
  }
}
