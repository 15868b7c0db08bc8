/**
 * A child run that ended wakes its parent's `pipeline` step at once: after `finishRun` recorded
 * the end, the `interrupt` event with the `wake` payload goes to the polling instance of the
 * parent's attempt (src/engine/pollStep.ts), which then polls now instead of at its next timer.
 * The poll reads the stored record, so the wake only changes *when* the parent learns the end,
 * never *what* it learns; a lost wake costs one poll interval (the fallback timer).
 *
 * Best-effort: nothing here fails the child's finish. A parent whose poller already ended (Durable
 * answers 410, which durable-functions' `DurableClient.raiseEvent` resolves) or never existed (404)
 * is logged and left; a duplicate wake only makes one more poll.
 */
import type { DurableClient } from 'durable-functions';
import { finishRunInputSchema } from '../../activities/schemas';
import { parentOf } from '../../core/trigger';
import type { FinishRunInput } from '../../engine/runPipeline';
import { INTERRUPT_EVENT, WAKE_PAYLOAD } from '../../engine/interrupts';
import { pollInstanceId } from '../../engine/stepRoutine';
import type { Logger } from '../../logging/logger';
import type { RunTrigger } from '../protocol';
import { childRunId } from './adapter';

/**
 * Attempts searched for the one that started the child: a step makes at most 100 attempts per
 * pipeline attempt (retryPolicy.ts `attempts` ≤ 100) and a run at most 11 pipeline attempts
 * (`pipelineRetry.retries` ≤ 10). 1,100 digests take about a millisecond, once per child run.
 */
export const MAX_PARENT_ATTEMPTS = 100 * 11;

/**
 * The parent's polling instance that waits for `childId`, or undefined when the run is not a child.
 * The child's trigger names the parent run and step; the attempt is the one whose derived child id
 * (adapter.ts `childRunId`) is this run's: so only a run that really is that attempt's child can
 * wake it, whatever a crafted trigger says.
 */
export function parentPoller(child: { readonly runId: string; readonly pipeline: string }, trigger: RunTrigger | undefined): string | undefined {
  const parent = parentOf(trigger);
  if (!parent) return undefined;
  for (let attempt = 1; attempt <= MAX_PARENT_ATTEMPTS; attempt++) {
    if (childRunId(child.pipeline, parent.runId, parent.stepId, attempt) === child.runId) return pollInstanceId(parent.runId, parent.stepId, attempt);
  }
  return undefined;
}

/** After `finishRun`: tells the parent step's poller to poll now. Never throws. */
export async function wakeParentStep(
  finished: { readonly run: { readonly runId: string; readonly pipeline: string }; readonly trigger?: RunTrigger },
  client: Pick<DurableClient, 'raiseEvent'>,
  log: Pick<Logger, 'info' | 'warn'>,
): Promise<void> {
  const poller = parentPoller(finished.run, finished.trigger);
  if (poller === undefined) return;
  try {
    await client.raiseEvent(poller, INTERRUPT_EVENT, WAKE_PAYLOAD);
  } catch (error) {
    // A 404 (the poller not started yet, or purged) or a host hiccup: the parent's fallback poll reads the end.
    log.warn({ runId: finished.run.runId, poller, err: error instanceof Error ? error.message : String(error) }, 'could not wake the parent step; it learns of the end at its next poll');
  }
}

/** `finishRun`'s raw input (already validated by `finishRun`, which ran first): wakes the parent if the run has one. */
export async function wakeParentAfterFinish(input: unknown, client: Pick<DurableClient, 'raiseEvent'>, log: Pick<Logger, 'info' | 'warn'>): Promise<void> {
  const parsed = finishRunInputSchema.safeParse(input);
  if (!parsed.success) return; // finishRun refused it already
  const { run, trigger } = parsed.data as FinishRunInput;
  await wakeParentStep({ run, trigger }, client, log);
}
