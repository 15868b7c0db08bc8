/**
 * `stopSteps`: a cancelled run tells its step sub-orchestrations to stop (event `interrupt`, with
 * the run's instant of the cancel), since durable-js orchestrators cannot raise events themselves.
 * Each step then ends its attempt in progress at that instant and starts none after it
 * (src/engine/runStep.ts). The cancel is recorded first (as the API does before raising `cancel`),
 * so a step that never gets the event still finds it when its next activity is refused.
 */
import type { DurableClient } from 'durable-functions';
import { z } from 'zod';
import type { CancelRequests } from '../api/ports';
import { PermanentError, toActivityError } from '../core/errors';
import { INTERRUPT_EVENT, type InterruptEvent } from '../engine/interrupts';
import { isoAt } from '../engine/clock';
import { instancesOf } from '../engine/runStep';

export const stopStepsInputSchema = z
  .object({
    runId: z.string().min(1),
    // The steps in flight, compact (src/engine/runStep.ts `compactInstances`): always the run's own.
    steps: z.string().max(1_000_000),
    kind: z.enum(['cancelled', 'timedOut']),
    atMs: z.number().finite(),
    reason: z.string().optional(),
  })
  .strict();

export async function stopSteps(input: unknown, client: DurableClient, cancels: Pick<CancelRequests, 'claimCancel'> | undefined, caller?: string): Promise<void> {
  const parsed = stopStepsInputSchema.safeParse(input);
  if (!parsed.success) throw toActivityError(new PermanentError(`stopSteps input: ${z.prettifyError(parsed.error)}`));
  const { runId, kind, atMs, reason } = parsed.data;
  if (caller !== undefined && caller !== runId) throw toActivityError(new PermanentError(`stopSteps: instance "${caller}" is not run "${runId}"`));
  const instanceIds = instancesOf(runId, parsed.data.steps);
  if (kind === 'cancelled') await cancels?.claimCancel(runId, isoAt(atMs));
  const event: InterruptEvent = { kind, atMs, ...(reason === undefined ? {} : { reason }) };
  for (let i = 0; i < instanceIds.length; i += 16) {
    await Promise.all(
      instanceIds.slice(i, i + 16).map(async (instanceId) => {
        try {
          // durable-functions' raiseEvent resolves on 202 and on 410 (the step already ended).
          await client.raiseEvent(instanceId, INTERRUPT_EVENT, event);
        } catch (error) {
          // A step that does not exist (yet) is refused by its first activity instead.
          if (!/No instance with ID|\b404\b/i.test(error instanceof Error ? error.message : String(error))) throw error;
        }
      }),
    );
  }
}
