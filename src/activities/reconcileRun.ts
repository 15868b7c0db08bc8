/**
 * `reconcileRun`: what a run that continued as new (src/engine/runPipeline.ts) cannot hear for
 * itself. A `continueAsNew` drops the external events of its last episode the orchestrator had not
 * consumed — the extension's out-of-process shim continues without `preserveUnprocessedEvents`
 * (azure-functions-durable-extension `OutOfProcOrchestrationShim`, `ContinueAsNew(action.Input)`;
 * `DurableTaskExtension` reschedules buffered events only when that flag is set) and durable-js stops
 * reading history once the orchestrator returns (`TaskOrchestrationExecutor.execute`). Sub-
 * orchestrations started by an earlier execution also report their completion to that execution.
 * So the run asks here, through a Durable client: which of those steps' sub-orchestrations have
 * finished (with their results), and whether a cancel was requested (the API records every cancel
 * before raising its event: `claimCancel`).
 */
import type { DurableClient } from 'durable-functions';
import { z } from 'zod';
import type { CancelRequests } from '../api/ports';
import { PermanentError, toActivityError } from '../core/errors';
import type { ReconcileRunAnswer } from '../steps/protocol';

export const reconcileRunInputSchema = z
  .object({
    runId: z.string().min(1),
    // The `runPipelineStep` instances of the steps the run still counts as running.
    instanceIds: z.array(z.string().min(1)).max(10_000),
  })
  .strict();

export async function reconcileRun(input: unknown, client: DurableClient, cancels?: Pick<CancelRequests, 'findCancel'>): Promise<ReconcileRunAnswer> {
  const parsed = reconcileRunInputSchema.safeParse(input);
  if (!parsed.success) throw toActivityError(new PermanentError(`reconcileRun input: ${z.prettifyError(parsed.error)}`));
  const { runId, instanceIds } = parsed.data;
  // A run asks only after its own steps (their instance ids start with the run id, runStep.ts): a
  // crafted input cannot read other instances through it.
  const foreign = instanceIds.find((id) => !id.startsWith(`${runId}:`));
  if (foreign !== undefined) throw toActivityError(new PermanentError(`reconcileRun input: instance "${foreign}" is not a step of run "${runId}"`));
  const results: { instanceId: string; state: unknown }[] = [];
  const failed: { instanceId: string; message: string }[] = [];
  // One status read per step still running; a few at a time (a wide run may have hundreds).
  for (let i = 0; i < instanceIds.length; i += 16) {
    await Promise.all(
      instanceIds.slice(i, i + 16).map(async (instanceId) => {
        const status = await client.getStatus(instanceId, { showInput: false });
        switch (status.runtimeStatus as string) {
          case 'Completed':
            results.push({ instanceId, state: status.output });
            break;
          case 'Failed':
          case 'Terminated':
            failed.push({ instanceId, message: `step sub-orchestration ${instanceId} ${String(status.runtimeStatus).toLowerCase()}: ${String(status.output)}` });
            break;
          default:
            break; // still running (or not yet started): its notice or a later check-in brings it
        }
      }),
    );
  }
  const cancelRequestedAt = (await cancels?.findCancel(runId)) ?? null;
  return { results, failed, cancelRequestedAt };
}
