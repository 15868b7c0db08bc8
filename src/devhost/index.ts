/**
 * Development host: serves function registrations locally (HTTP triggers, timer triggers, Durable
 * orchestrations replayed by durable-functions' own engine) with a virtual or real clock.
 * See docs/devhost.md.
 */
export { DevHost, type WaitOptions } from './host';
export { replayFromScratch, type ActionSummary, type ReplayReport, type ReplayStep } from './determinism';
export { EventType, eventTypeName, type HistoryEvent } from './history';
export type { DevHostOptions, InstanceStats, InstanceStatusJson, RuntimeStatus, TaskFailureShape } from './types';
