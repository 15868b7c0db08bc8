/**
 * Shared concurrency pools in the orchestrator (docs/projects.md, "Pools"). A run or a step attempt
 * asks activity `acquirePoolSlot` for a slot; when the pool is full it is queued there and waits for
 * the event `pool:<name>` that the releasing side raises when it promotes it, or for its recheck
 * timer (the first holder's lease end, at most an hour) — a durable wait: nothing runs meanwhile.
 * Either way it asks again, so the ledger in Table Storage, not the event, is the truth.
 *
 * No deadlock: run-level pools are taken before the run's first step, in name order, by a run that
 * holds nothing else; step-level pools are taken in name order by one step attempt just before its
 * activity and given back right after it, and a step holding a slot waits for nothing but its own
 * work. A pool is one or the other (`scope`), so every chain of waits ends at a holder that is
 * working: no cycle can form (the classic lock-ordering argument).
 */
import type { Task } from 'durable-functions';
import { POOL_EVENT_PREFIX, type AcquirePoolInput, type AcquirePoolResult, type ReleasePoolsInput } from '../pools/protocol';
import { ACTIVITY_NAMES } from '../steps/protocol';
import { dateAt } from './clock';
import { readTaskFailure } from './failure';
import type { StepEnv, Wait } from './stepRoutine';
import type { PoolWait } from './types';

/** Thrown into a step whose run ended while it queued (`closed`). */
export class PoolClosedError extends Error {
  override readonly name = 'PoolClosedError';
}

/** The claim id of a whole run, or of one step attempt. */
export const runClaimId = (runId: string): string => `${runId}|run`;
export const stepClaimId = (runId: string, stepId: string, attempt: number): string => `${runId}|${stepId}#${attempt}`;

/**
 * Holds a slot of every pool in `pools` (name order) for `claimId`; `onWait` is told each time it
 * queues (the pool and its position). Returns when every slot is held.
 */
export function* acquirePools(env: StepEnv, pools: readonly string[], claimId: string, onWait: (wait: PoolWait) => void, stepId?: string): Generator<Wait, undefined, unknown> {
  const df = env.context.df;
  for (const pool of [...new Set(pools)].sort()) {
    for (;;) {
      const input: AcquirePoolInput = { pool, claim: { id: claimId, runId: env.runId, instanceId: df.instanceId, ...(stepId === undefined ? {} : { stepId }) } };
      const answer = (yield { one: df.callActivity(ACTIVITY_NAMES.acquirePool, input) }) as AcquirePoolResult;
      if (answer.granted) break;
      if ('closed' in answer) throw new PoolClosedError(`run ${env.runId} ended while waiting for pool ${pool}`);
      onWait({ name: pool, position: answer.position });
      env.log(`waiting for pool ${pool} (position ${answer.position})`);
      const woken = df.waitForExternalEvent(`${POOL_EVENT_PREFIX}${pool}`);
      const recheck = df.createTimer(dateAt(answer.recheckAtMs));
      const winner = yield { race: [woken, recheck] };
      if (winner === woken && !recheck.isCompleted) recheck.cancel();
    }
  }
  return undefined;
}

/** Gives back a step attempt's slots (`claimId`) or everything the run holds and waits for. Best effort: a lost release comes back with the lease. */
export function* releasePools(env: StepEnv, pools: readonly string[], claimId?: string): Generator<Task, void, unknown> {
  if (pools.length === 0) return;
  const input: ReleasePoolsInput = { pools: [...new Set(pools)], runId: env.runId, ...(claimId === undefined ? {} : { claimId }) };
  try {
    yield env.context.df.callActivity(ACTIVITY_NAMES.releasePools, input);
  } catch (error) {
    env.log(`releasing pool slots failed (their leases give them back): ${readTaskFailure(error).message}`);
  }
}

/** `releasePools` as a step coroutine wait. */
export function* releaseStepPools(env: StepEnv, pools: readonly string[], claimId: string): Generator<Wait, void, unknown> {
  if (pools.length === 0) return;
  const input: ReleasePoolsInput = { pools: [...new Set(pools)], runId: env.runId, claimId };
  try {
    yield { one: env.context.df.callActivity(ACTIVITY_NAMES.releasePools, input) };
  } catch (error) {
    env.log(`releasing pool slots failed (their leases give them back): ${readTaskFailure(error).message}`);
  }
}
