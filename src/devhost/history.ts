/**
 * History events as the Durable extension sends them to a JavaScript worker: PascalCase fields,
 * ISO timestamps, payloads as JSON strings. The SDK's replay engine reads exactly these fields
 * (TaskScheduledId/Result on completions, TimerId on TimerFired, Name/Input on EventRaised,
 * Reason/Details and optionally FailureDetails on failures, IsPlayed for replay detection).
 */

/** Values of durable-functions' HistoryEventType enum (they are DurableTask.Core's). */
export const EventType = {
  ExecutionStarted: 0,
  ExecutionCompleted: 1,
  ExecutionFailed: 2,
  ExecutionTerminated: 3,
  TaskScheduled: 4,
  TaskCompleted: 5,
  TaskFailed: 6,
  SubOrchestrationInstanceCreated: 7,
  SubOrchestrationInstanceCompleted: 8,
  SubOrchestrationInstanceFailed: 9,
  TimerCreated: 10,
  TimerFired: 11,
  OrchestratorStarted: 12,
  OrchestratorCompleted: 13,
  EventSent: 14,
  EventRaised: 15,
  ContinueAsNew: 16,
} as const;

export type EventTypeName = keyof typeof EventType;

/** DurableTask.Core's FailureDetails as the SDK reads it (durable-functions ≥ 3.5). */
export interface FailureDetailsPayload {
  readonly ErrorType: string;
  readonly ErrorMessage: string;
  readonly StackTrace?: string;
  readonly IsNonRetriable?: boolean;
}

export interface HistoryEvent {
  readonly EventType: number;
  readonly EventId: number;
  IsPlayed: boolean;
  readonly Timestamp: string;
  readonly [field: string]: unknown;
}

export type ExecutionStatus = 'Completed' | 'Failed' | 'Terminated' | 'ContinuedAsNew';

function event(type: number, timestamp: Date, fields: Record<string, unknown> = {}, eventId = -1): HistoryEvent {
  return { EventType: type, EventId: eventId, IsPlayed: false, Timestamp: timestamp.toISOString(), ...fields };
}

export const historyEvent = {
  orchestratorStarted: (at: Date) => event(EventType.OrchestratorStarted, at),
  orchestratorCompleted: (at: Date) => event(EventType.OrchestratorCompleted, at),
  executionStarted: (at: Date, name: string, input: string | undefined, parent?: { instanceId: string; taskScheduledId: number }) =>
    event(EventType.ExecutionStarted, at, {
      Name: name,
      Input: input,
      Version: '',
      ...(parent ? { ParentInstance: { OrchestrationInstance: { InstanceId: parent.instanceId }, TaskScheduleId: parent.taskScheduledId } } : {}),
    }),
  executionCompleted: (at: Date, status: ExecutionStatus, result: string | undefined) =>
    event(EventType.ExecutionCompleted, at, { OrchestrationStatus: status, Result: result }),
  executionTerminated: (at: Date, reason: string) => event(EventType.ExecutionTerminated, at, { Input: JSON.stringify(reason) }),
  taskScheduled: (at: Date, id: number, name: string, input: string | undefined) =>
    event(EventType.TaskScheduled, at, { Name: name, Version: '', Input: input }, id),
  taskCompleted: (at: Date, scheduledId: number, result: string) =>
    event(EventType.TaskCompleted, at, { TaskScheduledId: scheduledId, Result: result }),
  taskFailed: (at: Date, scheduledId: number, reason: string, details: string, failureDetails?: FailureDetailsPayload) =>
    event(EventType.TaskFailed, at, {
      TaskScheduledId: scheduledId,
      Reason: reason,
      Details: details,
      ...(failureDetails ? { FailureDetails: failureDetails } : {}),
    }),
  timerCreated: (at: Date, id: number, fireAt: Date) => event(EventType.TimerCreated, at, { FireAt: fireAt.toISOString() }, id),
  timerFired: (at: Date, timerId: number, fireAt: Date) =>
    event(EventType.TimerFired, at, { TimerId: timerId, FireAt: fireAt.toISOString() }),
  subOrchestrationCreated: (at: Date, id: number, name: string, instanceId: string, input: string | undefined) =>
    event(EventType.SubOrchestrationInstanceCreated, at, { Name: name, Version: '', InstanceId: instanceId, Input: input }, id),
  subOrchestrationCompleted: (at: Date, scheduledId: number, result: string) =>
    event(EventType.SubOrchestrationInstanceCompleted, at, { TaskScheduledId: scheduledId, Result: result }),
  subOrchestrationFailed: (at: Date, scheduledId: number, reason: string, details: string, failureDetails?: FailureDetailsPayload) =>
    event(EventType.SubOrchestrationInstanceFailed, at, {
      TaskScheduledId: scheduledId,
      Reason: reason,
      Details: details,
      ...(failureDetails ? { FailureDetails: failureDetails } : {}),
    }),
  eventRaised: (at: Date, name: string, input: string | undefined) => event(EventType.EventRaised, at, { Name: name, Input: input }),
};

const NAMES = new Map<number, string>(Object.entries(EventType).map(([name, value]) => [value, name]));

export function eventTypeName(type: number): string {
  return NAMES.get(type) ?? `Unknown(${type})`;
}

/** JSON the way the extension stores payloads: `undefined` becomes JSON null. */
export function toJsonString(value: unknown): string {
  return JSON.stringify(value ?? null);
}

export function parseJsonString(text: unknown): unknown {
  if (typeof text !== 'string' || text === '') return null;
  return JSON.parse(text) as unknown;
}
