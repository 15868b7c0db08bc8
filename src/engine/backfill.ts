/**
 * `runBackfill`: the driver of one backfill. It decides nothing itself: each pass of the
 * `advanceBackfill` activity (src/backfill/advance.ts) settles ended runs and starts queued slots
 * up to the backfill's `maxParallel`; between passes a durable timer waits, so nothing runs while
 * the slots' runs do. The runs are ordinary top-level runs started through the same door as a
 * scheduled one (not sub-orchestrations): they can be followed, cancelled and rerun alone, and
 * cancelling the backfill is a flag its next pass reads.
 */
import type { OrchestrationContext, Task } from 'durable-functions';
import { ADVANCE_BACKFILL_ACTIVITY, type AdvanceInput, type AdvanceResult } from '../backfill/types';
import { dateAt } from './clock';

/** Seconds between passes: how soon a slot starts after another's run ended, and a cancel is seen. */
export const BACKFILL_PASS_SECONDS = 30;
/** Passes per execution before continuing as new (≈ 4 history events each). */
export const BACKFILL_PASSES_PER_EXECUTION = 100;

export function* runBackfill(context: OrchestrationContext): Generator<Task, AdvanceResult | undefined, unknown> {
  const df = context.df;
  const input = df.getInput<AdvanceInput>();
  for (let pass = 0; pass < BACKFILL_PASSES_PER_EXECUTION; pass += 1) {
    const result = (yield df.callActivity(ADVANCE_BACKFILL_ACTIVITY, { backfillId: input.backfillId })) as AdvanceResult;
    if (result.finished) return result;
    yield df.createTimer(dateAt(df.currentUtcDateTime.getTime() + BACKFILL_PASS_SECONDS * 1000));
  }
  df.continueAsNew(input);
  return undefined;
}
