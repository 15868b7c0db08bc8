/**
 * `reconcileRun`: what a run (src/engine/runPipeline.ts) asks a Durable client, because it cannot
 * hear it for itself.
 *
 * - Whether it may run at all: the first question of every execution. The run must match the
 *   record the API or the scheduler created before starting it (runGate.ts); a refusal ends the
 *   orchestration, writing nothing. Only the run itself may ask (the calling instance).
 * - The end of its steps whose `stepDone` notice was lost. A `continueAsNew` drops the events of
 *   its last episode the orchestrator had not consumed (the extension's out-of-process shim
 *   continues without `preserveUnprocessedEvents`: azure-functions-durable-extension
 *   `OutOfProcOrchestrationShim`), an event batched with a new execution's first answer can be
 *   discarded (DurableTask.AzureStorage `AzureStorageOrchestrationService.
 *   LockNextTaskOrchestrationWorkItemAsync`, fixed by Azure/durabletask#1399), sub-orchestrations
 *   started by an earlier execution report their completion to that execution, and a notice can
 *   fail for good. A step counts as ended when its `runPipelineStep` completed (its output) or when
 *   its custom status already shows its final state, whole: the step ended and is still telling
 *   the run — what a lost notice would have said.
 * - Whether a cancel was requested (the API records every cancel before raising its event).
 */
import type { DurableClient } from 'durable-functions';
import { z } from 'zod';
import { PermanentError, toActivityError } from '../core/errors';
import type { RunGateReader } from '../runs/recorder';
import type { ReconcileRunAnswer } from '../steps/protocol';
import { instancesOf } from '../engine/runStep';
import { openRun, type Opened } from './runGate';
import { triggerSchema } from './schemas';

export const reconcileRunInputSchema = z
  .object({
    runId: z.string().min(1),
    pipeline: z.string().min(1),
    definitionVersion: z.string().min(1),
    trigger: triggerSchema,
    parameters: z.record(z.string(), z.json()),
    // The `runPipelineStep` instances of the steps the run still counts as running, compact
    // (src/engine/runStep.ts `compactInstances`): always the run's own.
    steps: z.string().max(1_000_000),
  })
  .strict();

/** The run store's part `reconcileRun` reads: the run's record and cancel request, in one query. */
export type ReconcileStore = RunGateReader;

const FINAL: readonly string[] = ['succeeded', 'failed', 'cancelled', 'skipped'];

/** A step's state from its sub-orchestration's custom status, when that shows the step ended, whole. */
function finalState(customStatus: unknown): unknown {
  if (typeof customStatus !== 'object' || customStatus === null) return undefined;
  const s = customStatus as { status?: unknown; partial?: unknown; attempts?: unknown };
  return typeof s.status === 'string' && FINAL.includes(s.status) && s.partial !== true && Array.isArray(s.attempts) ? customStatus : undefined;
}

function isNotFound(error: unknown): boolean {
  return /\b404\b|not found|No instance/i.test(error instanceof Error ? error.message : String(error));
}

export async function reconcileRun(input: unknown, client: DurableClient, store: ReconcileStore | undefined, caller?: string): Promise<ReconcileRunAnswer> {
  const parsed = reconcileRunInputSchema.safeParse(input);
  if (!parsed.success) throw toActivityError(new PermanentError(`reconcileRun input: ${z.prettifyError(parsed.error)}`));
  const { runId } = parsed.data;
  // Only the run itself asks (the caller), and only about its own steps: the question names steps.
  const instanceIds = instancesOf(runId, parsed.data.steps);
  let opened: Opened;
  try {
    opened = await openRun(store, parsed.data, caller);
  } catch (error) {
    throw toActivityError(error);
  }
  const results: { instanceId: string; state: unknown }[] = [];
  const failed: { instanceId: string; message: string }[] = [];
  const missing: string[] = [];
  // One status read per step still running; a few at a time (a wide run may have hundreds).
  for (let i = 0; i < instanceIds.length; i += 16) {
    await Promise.all(
      instanceIds.slice(i, i + 16).map(async (instanceId) => {
        let status;
        try {
          status = await client.getStatus(instanceId, { showInput: false });
        } catch (error) {
          if (isNotFound(error)) return void missing.push(instanceId);
          throw error;
        }
        if (!status?.instanceId) return void missing.push(instanceId);
        switch (status.runtimeStatus as string) {
          case 'Completed':
            results.push({ instanceId, state: status.output });
            break;
          case 'Failed':
          case 'Terminated':
            failed.push({ instanceId, message: `step sub-orchestration ${instanceId} ${String(status.runtimeStatus).toLowerCase()}: ${String(status.output)}` });
            break;
          default: {
            const state = finalState(status.customStatus);
            if (state !== undefined) results.push({ instanceId, state });
            break; // else still running (or not yet started): its notice or a later check-in brings it
          }
        }
      }),
    );
  }
  return { results, failed, missing, cancelRequestedAt: opened.cancelRequestedAt ?? null };
}
