/**
 * What a backfill does with one slot, given what the slot ledger says of it — the one rule that
 * makes a backfill idempotent per (pipeline, schedule, slot) and lets it live beside the live
 * scheduler: a slot that has a run keeps it (unless the mode says to rerun it), a slot the
 * scheduler is still starting is the scheduler's, a slot with no run gets one.
 */
import type { RunStatus } from '../engine/types';
import type { SlotEntry } from '../scheduler/ports';
import type { BackfillMode } from './types';

/** Ledger outcomes whose slot has a run. */
const RAN = new Set<SlotEntry['outcome']>(['fired', 'caught-up', 'backfilled']);
/** Outcomes the tick still acts on: the slot is the scheduler's until it settles. */
const SCHEDULER_HOLDS = new Set<SlotEntry['outcome']>(['starting', 'queued']);

export type SlotDecision =
  | { readonly action: 'start'; readonly rerunOf?: string }
  | { readonly action: 'skip'; readonly reason: string }
  /** The ledger names a run whose status must be known first. */
  | { readonly action: 'ask'; readonly runId: string };

export function decideSlot(mode: BackfillMode, row: SlotEntry | undefined, runStatus?: RunStatus | 'unknown'): SlotDecision {
  if (!row) return { action: 'start' };
  if (SCHEDULER_HOLDS.has(row.outcome)) return { action: 'skip', reason: `the scheduler is starting this slot (ledger: ${row.outcome}${row.instanceId ? `, run ${row.instanceId}` : ''})` };
  if (!RAN.has(row.outcome) || row.instanceId === undefined) return { action: 'start' };
  const runId = row.instanceId;
  if (runStatus === undefined) return { action: 'ask', runId };
  if (runStatus === 'pending' || runStatus === 'running') return { action: 'skip', reason: `run ${runId} of this slot is still ${runStatus}` };
  const rerun = mode === 'rerun-all' || (mode === 'rerun-failed' && (runStatus === 'failed' || runStatus === 'cancelled'));
  if (rerun) return { action: 'start', rerunOf: runId };
  return { action: 'skip', reason: `already ran: ${runId} ${runStatus}${mode === 'missing' && (runStatus === 'failed' || runStatus === 'cancelled') ? ' (--rerun-failed runs it again)' : ''}` };
}
