/**
 * What event triggers and waiting steps add to a month: Event Grid operations for blob-created
 * triggers, and the checks of `waitFor`, `approval` and `pipeline` steps — each check is a durable timer, one
 * `pollStep` activity and one orchestrator episode, nothing in between (src/engine/pollStep.ts).
 * Counted from the definitions with stated assumptions (how often blobs land, how long a wait
 * lasts), since neither can be measured before the data arrives.
 */
import type { PipelineDefinition } from '../pipelines/schema';
import { nextCheckSeconds } from '../steps/waitFor/backoff';
import { RATES } from './rates';
import type { ScheduleFires } from './schedules';

export interface TriggerWaitAssumptions {
  /** Blob-created events each blob trigger receives a month (one landing a day). */
  readonly blobEventsPerTriggerPerMonth: number;
  /** Minutes a waiting step waits before its condition holds or someone decides (a pipeline step: its child runs). */
  readonly waitMinutesPerWait: number;
}

export const DEFAULT_TRIGGER_WAIT_ASSUMPTIONS: TriggerWaitAssumptions = { blobEventsPerTriggerPerMonth: 31, waitMinutesPerWait: 60 };

/** Event Grid operations per delivered event: the ingress, the advanced-filter match, one delivery attempt. */
export const EVENT_GRID_OPS_PER_EVENT = 3;

export interface TriggerWaitUsage {
  readonly blobTriggers: number;
  readonly events: number;
  readonly eventGridOperations: number;
  /** Runs a month per pipeline with a waiting step, and checks per run. */
  readonly waits: readonly { pipeline: string; step: string; runsPerMonth: number; checksPerRun: number }[];
  readonly checks: number;
  /** Executions the checks make: one activity + one orchestrator episode each. */
  readonly executions: number;
  readonly queueOps: number;
  readonly tableOps: number;
}

/** Checks one wait of `minutes` makes. */
export function checksPerWait(step: PipelineDefinition['steps'][number], minutes: number): number {
  const budget = Math.min(minutes * 60, step.timeout ?? Number.POSITIVE_INFINITY);
  if (step.kind === 'approval') return 1 + Math.floor(budget / step.pollInterval);
  // The start's check, the fallback polls while the child runs, and the one its end wakes (src/steps/pipeline/wakeParent.ts).
  if (step.kind === 'pipeline') return 1 + Math.max(1, Math.ceil(budget / step.pollInterval));
  if (step.kind !== 'waitFor') return 0;
  let checks = 1;
  for (let elapsed = nextCheckSeconds(step, 1); elapsed <= budget; elapsed += nextCheckSeconds(step, checks)) checks += 1;
  return checks;
}

export function triggerWaitUsage(pipelines: readonly PipelineDefinition[], schedules: readonly ScheduleFires[], a: TriggerWaitAssumptions = DEFAULT_TRIGGER_WAIT_ASSUMPTIONS): TriggerWaitUsage {
  const scheduled = (name: string): number => schedules.filter((s) => s.pipeline === name).reduce((n, s) => n + s.perMonth, 0);
  const blobTriggers = pipelines.reduce((n, p) => n + p.triggers.filter((t) => t.enabled && t.blobCreated).length, 0);
  const runs = (p: PipelineDefinition): number =>
    scheduled(p.name) +
    p.triggers.filter((t) => t.enabled && t.blobCreated).length * a.blobEventsPerTriggerPerMonth +
    // One level of "pipeline succeeded": the upstream's scheduled runs.
    p.triggers.filter((t) => t.enabled && t.pipelineSucceeded).reduce((n, t) => n + scheduled(t.pipelineSucceeded?.pipeline ?? ''), 0);
  const waits = pipelines.flatMap((p) =>
    p.steps.filter((s) => s.kind === 'waitFor' || s.kind === 'approval' || s.kind === 'pipeline').map((s) => ({ pipeline: p.name, step: s.id, runsPerMonth: runs(p), checksPerRun: checksPerWait(s, a.waitMinutesPerWait) })),
  );
  const checks = waits.reduce((n, w) => n + w.runsPerMonth * w.checksPerRun, 0);
  const events = blobTriggers * a.blobEventsPerTriggerPerMonth;
  // Per check: the timer message, the activity's work item and its answer (3 messages); two episodes' table work.
  const queueOps = checks * 3 * RATES.queueOpsPerMessage.value;
  const tableOps = checks * (2 * RATES.tableOpsPerEpisode.value + 1);
  return { blobTriggers, events, eventGridOperations: events * EVENT_GRID_OPS_PER_EVENT, waits, checks, executions: checks * 2, queueOps, tableOps };
}
