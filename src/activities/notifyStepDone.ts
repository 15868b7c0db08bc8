/**
 * `notifyStepDone`: a step sub-orchestration's last action, telling its parent run that the step
 * ended. durable-js orchestrators cannot raise events to other instances (no `sendEvent` in
 * durable-functions 3.x), so the signal goes through an activity holding a Durable client. The
 * parent receives it as a fresh `waitForExternalEvent('stepDone')` at every wait — unlike the
 * sub-orchestration task itself, which cannot be re-yielded in a new `Task.any` without being
 * scheduled again (Azure/azure-functions-durable-js#574; src/engine/README.md).
 */
import type { DurableClient } from 'durable-functions';
import { z } from 'zod';
import { PermanentError, toActivityError } from '../core/errors';
import { STEP_DONE_EVENT } from '../steps/protocol';

export { STEP_DONE_EVENT };

// Each state is a step's `StepState` as its sub-orchestration returns it; the parent validates
// what it merges, so only the fields it keys on are checked here.
const stepResultSchema = z
  .object({
    // The step's sub-orchestration: the run ignores a result from one it no longer waits for.
    instanceId: z.string().min(1),
    state: z.looseObject({ id: z.string().min(1), status: z.string().min(1) }),
  })
  .strict();

export const notifyStepDoneInputSchema = z
  .object({
    parentInstanceId: z.string().min(1),
    // One step's result, or every result of a batch node (src/engine/fanOut.ts).
    results: z.array(stepResultSchema).min(1),
  })
  .strict();

/**
 * `caller`: the instance calling (the activity trigger's `instanceId`). Only a step instance of the
 * run (`<runId>:…`) may tell that run, and only about its own steps' instances.
 */
export async function notifyStepDone(input: unknown, client: DurableClient, caller?: string): Promise<void> {
  const parsed = notifyStepDoneInputSchema.safeParse(input);
  if (!parsed.success) throw toActivityError(new PermanentError(`notifyStepDone input: ${z.prettifyError(parsed.error)}`));
  const { parentInstanceId, results } = parsed.data;
  const own = (id: string): boolean => id.startsWith(`${parentInstanceId}:`);
  if (caller !== undefined && !own(caller)) throw toActivityError(new PermanentError(`notifyStepDone: instance "${caller}" is not a step of run "${parentInstanceId}"`));
  const foreign = results.find((r) => !own(r.instanceId));
  if (foreign) throw toActivityError(new PermanentError(`notifyStepDone: instance "${foreign.instanceId}" is not a step of run "${parentInstanceId}"`));
  try {
    // durable-functions' DurableClient.raiseEvent resolves on 202 and on 410 (the parent is no
    // longer running: a cancelled or timed-out run needs no signal) and rejects on 404.
    await client.raiseEvent(parentInstanceId, STEP_DONE_EVENT, { results });
  } catch (error) {
    // A parent that does not exist will not appear later: retrying cannot deliver the signal.
    const message = error instanceof Error ? error.message : String(error);
    throw toActivityError(/No instance with ID/.test(message) ? new PermanentError(`notifyStepDone: ${message}`, { cause: error }) : error);
  }
}
