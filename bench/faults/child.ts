/**
 * The app in a development host process for the fault suite (bench/faults.ts), served by
 * test/support/devHostChild.ts's `serveChildHost` (real clock, Durable state in DEVHOST_STATE_DIR,
 * services pointed at the parent's stand-ins) with the fault catalog (catalog.ts). FAULT injects one fault
 * around the `startStep` activity of one step — the activity that performs a step's external
 * effect (the export call, the COPY INTO, the dbt job start, the approval request) — and around
 * the user activity `faultEffect` of the kinds pipeline (catalog.ts), which is its own activity:
 *
 * - `kill:<step>`: the process SIGKILLs itself once the activity returned, before the host records
 *   its completion (only the first time: FAULT_MARKER remembers it across the restart).
 * - `duplicate:<step>`: the activity is delivered twice, the second delivery after the first ended,
 *   and the completion of the first is the one recorded. This is a Durable work-item message seen
 *   again (durabletask's Azure Storage provider delivers queue messages at least once: a message
 *   whose lease lapsed, or whose delete failed, is dequeued again) — and the orchestration takes one
 *   completion per task.
 */
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import type { ActivityHandler } from 'durable-functions';
import type { Registration } from '../../src/app/registry';
import { registerStepActivity } from '../../src/functions/activities';
import { serveChildHost } from '../../test/support/devHostChild';
import { FAULT_ACTIVITY, FAULT_STEP_TIMEOUT_SECONDS } from './catalog';

function stepOf(input: unknown): string | undefined {
  return typeof input === 'object' && input !== null && typeof (input as { stepId?: unknown }).stepId === 'string' ? (input as { stepId: string }).stepId : undefined;
}

function withFault(list: readonly Registration[], fault: string | undefined, marker: string | undefined): readonly Registration[] {
  const [kind, step] = (fault ?? '').split(':');
  if (!kind || !step) return list;
  return list.map((registration) => {
    if (registration.kind !== 'activity' || (registration.name !== 'startStep' && registration.name !== FAULT_ACTIVITY)) return registration;
    const inner = registration.handler;
    const handler: ActivityHandler = async (input, context) => {
      if (stepOf(input) !== step) return (await inner(input, context)) as unknown;
      if (kind === 'kill') {
        const result: unknown = await inner(input, context);
        if (marker && !existsSync(marker)) {
          writeFileSync(marker, 'killed');
          process.kill(process.pid, 'SIGKILL');
        }
        return result;
      }
      if (kind === 'duplicate') {
        const first: unknown = await inner(input, context);
        await Promise.resolve(inner(input, context)).catch(() => undefined);
        return first;
      }
      throw new Error(`unknown FAULT ${kind}`);
    };
    return { ...registration, handler };
  });
}

/**
 * The kinds pipeline's user activity: its external effect is a line in FAULT_EFFECTS (run, step,
 * attempt). Under FAULT_HANG=<step id> (`custom`, or the child pipeline's `work`) its first call
 * for that step does the effect and then does not answer within the (parent) step's timeout.
 */
function registerFaultEffect(): void {
  const effects = process.env['FAULT_EFFECTS'];
  const marker = process.env['FAULT_MARKER'];
  registerStepActivity(FAULT_ACTIVITY, async (input) => {
    if (effects) appendFileSync(effects, `${input.runId}:${input.stepId}:${input.attempt}\n`);
    if (process.env['FAULT_HANG'] === input.stepId && marker && !existsSync(marker)) {
      writeFileSync(marker, 'hung');
      await new Promise((resolve) => setTimeout(resolve, (FAULT_STEP_TIMEOUT_SECONDS + 8) * 1000));
    }
    return { done: true };
  });
}

async function main(): Promise<void> {
  registerFaultEffect();
  const { faultCatalog } = await import('./catalog');
  await serveChildHost({ catalog: faultCatalog(), wrap: (list) => withFault(list, process.env['FAULT'], process.env['FAULT_MARKER']) });
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
