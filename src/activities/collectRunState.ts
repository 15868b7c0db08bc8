/**
 * `collectRunState`: the step states a continued run archived (src/engine/archive.ts), read back
 * once when the run ends, folded per step in archive order (`mergeStepDeltas`): what the run's
 * output and record need — every attempt of every step — without ever having carried it from one
 * execution to the next.
 */
import type { DurableClient } from 'durable-functions';
import { z } from 'zod';
import { PermanentError, toActivityError } from '../core/errors';
import { archiveInstanceId } from '../engine/archive';
import { mergeStepDeltas } from '../engine/state';
import type { StepState } from '../engine/types';

export const collectRunStateInputSchema = z
  .object({
    runId: z.string().min(1),
    archives: z.number().int().min(0).max(100_000),
  })
  .strict();

function statesOf(value: unknown): StepState[] {
  const steps = Array.isArray(value) ? value : (value as { steps?: unknown } | null)?.steps;
  return Array.isArray(steps) ? (steps as StepState[]).filter((s) => typeof s === 'object' && s !== null && typeof s.id === 'string' && Array.isArray(s.attempts)) : [];
}

export async function collectRunState(input: unknown, client: DurableClient, caller?: string): Promise<{ steps: StepState[]; missing: number[] }> {
  const parsed = collectRunStateInputSchema.safeParse(input);
  if (!parsed.success) throw toActivityError(new PermanentError(`collectRunState input: ${z.prettifyError(parsed.error)}`));
  const { runId, archives } = parsed.data;
  if (caller !== undefined && caller !== runId) throw toActivityError(new PermanentError(`collectRunState: instance "${caller}" is not run "${runId}"`));
  const folded = new Map<string, StepState>();
  const missing: number[] = [];
  for (let n = 1; n <= archives; n++) {
    let status;
    try {
      status = await client.getStatus(archiveInstanceId(runId, n), { showInput: true });
    } catch (error) {
      if (/\b404\b|not found|No instance/i.test(error instanceof Error ? error.message : String(error))) {
        missing.push(n);
        continue;
      }
      throw error;
    }
    // The archive's output once it completed; its input (the same states) until then. A failed one
    // is not the run's (an archive refuses to run outside its run: src/engine/lineage.ts).
    const runtime = String(status.runtimeStatus);
    if (runtime !== 'Completed' && runtime !== 'Running' && runtime !== 'Pending') {
      missing.push(n);
      continue;
    }
    const states = runtime === 'Completed' ? statesOf(status.output) : statesOf(status.input);
    for (const state of states) folded.set(state.id, mergeStepDeltas(folded.get(state.id), state));
  }
  return { steps: [...folded.values()], missing };
}
