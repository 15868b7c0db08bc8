/**
 * External events near a continue-as-new, delivered as the Azure Storage backend delivers them.
 *
 * - `azureStoragePre1399` (the default): as DurableTask.AzureStorage does without Azure/durabletask
 *   PR #1399. After a continue-as-new the new execution's first episode runs in the same work item
 *   (DurableTask.Core `TaskOrchestrationDispatcher`, `while (continuedAsNew)`), and its outbound
 *   messages are sent before its history is committed
 *   (`AzureStorageOrchestrationService.CompleteTaskOrchestrationWorkItemAsync`: "First, add new
 *   messages into the queue", then "commit the orchestration history"). An answer to that new
 *   execution (a `TaskCompleted`, `TimerFired`…) can reach the control queue first and be batched
 *   with `EventRaised` messages, which name no execution. The batch takes the answer's execution id,
 *   the history fetch finds nothing for it, `IsOutOfOrderMessage` abandons the answer (it is
 *   retried), and `LockNextTaskOrchestrationWorkItemAsync` deletes the remaining events ("If no
 *   messages have a matching execution ID, then delete all of them"). The development host takes
 *   the worst case of that race within the instant of the continue: an event raised then is held,
 *   and deleted when the new execution's first answer arrives at that same instant (an activity
 *   answering at once). Once the clock has moved on, the history is committed: held events are
 *   delivered in order, and later ones are not held.
 * - `delivered`: every such event reaches the new execution (#1399: the events are retried on the
 *   current execution instead).
 */
import { EventType, type HistoryEvent } from './history';

export type ContinueAsNewEvents = 'azureStoragePre1399' | 'delivered';

/** Events that answer something an execution scheduled (they carry its execution id in Azure Storage). */
const ANSWERS: ReadonlySet<number> = new Set([
  EventType.TaskCompleted,
  EventType.TaskFailed,
  EventType.SubOrchestrationInstanceCompleted,
  EventType.SubOrchestrationInstanceFailed,
  EventType.TimerFired,
]);

/** Events held since an instance continued as new, and the instant it did. */
export interface ContinueWindow {
  readonly held: HistoryEvent[];
  readonly since: Date;
}

/** At a continue-as-new: the window that holds `raised` (the events of the last episode), or none. */
export function openWindow(mode: ContinueAsNewEvents | undefined, raised: readonly HistoryEvent[], now: Date): ContinueWindow | undefined {
  return (mode ?? 'azureStoragePre1399') === 'azureStoragePre1399' ? { held: [...raised], since: now } : undefined;
}

/** What becomes of an event delivered to an instance whose window is open. */
export interface Admitted {
  /** The window after it (undefined: closed). */
  readonly window: ContinueWindow | undefined;
  /** Events for the inbox, in order. */
  readonly deliver: readonly HistoryEvent[];
  /** Events deleted with the new execution's first answer. */
  readonly deleted: readonly HistoryEvent[];
}

export function admit(window: ContinueWindow, event: HistoryEvent, now: Date): Admitted {
  // The clock moved on: the new execution's history is committed, nothing is batched with it any more.
  if (now.getTime() > window.since.getTime()) return { window: undefined, deliver: [...window.held, event], deleted: [] };
  if (event.EventType === EventType.EventRaised) return { window: { ...window, held: [...window.held, event] }, deliver: [], deleted: [] };
  if (ANSWERS.has(event.EventType)) return { window: undefined, deliver: [event], deleted: window.held };
  return { window, deliver: [event], deleted: [] };
}

/** Why the dev host deleted `event`, in its log. */
export function deletedLine(instanceName: string, instanceId: string, executionId: string, event: HistoryEvent): string {
  return (
    `${instanceName} ${instanceId}: external event "${String(event['Name'])}" deleted — batched with the first answer of execution ${executionId} ` +
    'before its history was committed (DurableTask.AzureStorage AzureStorageOrchestrationService.LockNextTaskOrchestrationWorkItemAsync, before Azure/durabletask#1399)'
  );
}
