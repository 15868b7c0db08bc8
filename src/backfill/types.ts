/**
 * A backfill: one run per slot a schedule would have fired in a past range (range.ts), started by
 * a driver orchestration a few at a time (`maxParallel`), each slot idempotent through the slot
 * ledger (decide.ts). Its record lives next to the ledger, in the run store's schedules table
 * (store.ts): a header and one row per slot, which are its progress.
 */
import type { JsonObject } from '../core/json';
import type { DstMark } from '../scheduler/slots';

/**
 * - `missing`: only slots with no run (never recorded, missed, skipped, start failed); re-issuing a
 *   backfill adds only what is still missing;
 * - `rerun-failed`: those, and slots whose run failed or was cancelled (a new run; the old stays);
 * - `rerun-all`: every slot, a new run for those that ran.
 */
export const BACKFILL_MODES = ['missing', 'rerun-failed', 'rerun-all'] as const;
export type BackfillMode = (typeof BACKFILL_MODES)[number];

/** `running` until every slot is settled; `cancelling` once asked to stop, then `cancelled`. */
export type BackfillState = 'running' | 'cancelling' | 'cancelled' | 'done';

/**
 * - `queued`: not looked at yet; `starting`: its run id is chosen and the ledger names it, the
 *   start may not have happened (a retried pass starts it again, idempotently);
 * - `running` → `succeeded` | `failed` | `cancelled`: the run's end;
 * - `skipped`: nothing to do (it already ran, the scheduler holds it): `reason` says which;
 * - `cancelled` also for queued slots when the backfill was cancelled.
 */
export type BackfillSlotState = 'queued' | 'starting' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'skipped';

export const SLOT_STATES: readonly BackfillSlotState[] = ['queued', 'starting', 'running', 'succeeded', 'failed', 'cancelled', 'skipped'];

export interface BackfillRecord {
  readonly id: string;
  readonly pipeline: string;
  readonly schedule: string;
  /** The range covered, ISO instants, both included. */
  readonly from: string;
  readonly to: string;
  readonly mode: BackfillMode;
  readonly maxParallel: number;
  /** Parameters given with the backfill, over the schedule's, over the pipeline's defaults. */
  readonly parameters: JsonObject;
  readonly state: BackfillState;
  /** `user:<name>` or `key`. */
  readonly createdBy?: string;
  readonly createdAt: string;
  readonly cancelledBy?: string;
  readonly endedAt?: string;
  readonly slotCount: number;
}

export interface BackfillSlot {
  /** The slot's key, as in the ledger (`2026-03-29T01:00:00Z`). */
  readonly slot: string;
  readonly local: string;
  /** The local time the cron names (differs from `local` in a DST gap), as in the ledger. */
  readonly scheduledLocal: string;
  readonly dst: DstMark;
  readonly state: BackfillSlotState;
  readonly runId?: string;
  /** The run this slot's new run replaces (a rerun). */
  readonly rerunOf?: string;
  readonly reason?: string;
  readonly updatedAt: string;
}

export type BackfillCounts = Record<BackfillSlotState, number>;

export function countSlots(slots: readonly Pick<BackfillSlot, 'state'>[]): BackfillCounts {
  const counts = Object.fromEntries(SLOT_STATES.map((s) => [s, 0])) as BackfillCounts;
  for (const s of slots) counts[s.state] += 1;
  return counts;
}

/** The Durable instance id of a backfill's driver orchestration. */
export const backfillInstanceId = (id: string): string => `backfill:${id}`;

export const BACKFILL_ORCHESTRATOR = 'runBackfill';
export const ADVANCE_BACKFILL_ACTIVITY = 'advanceBackfill';

/** Input and output of the `advanceBackfill` activity. */
export interface AdvanceInput {
  readonly backfillId: string;
}

export interface AdvanceResult {
  readonly state: BackfillState;
  readonly counts: BackfillCounts;
  /** True once nothing is left to start or watch. */
  readonly finished: boolean;
}
