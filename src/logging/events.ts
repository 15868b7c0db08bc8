/**
 * The telemetry events the app logs for the Portal: the workbook, the failed/late alert and the
 * queries in docs/monitoring.md read these and nothing else. Each event is one JSON log line
 * with `event: "<name>"` next to its fields; in Application Insights it is a `traces` row whose
 * `message` is that line (the Functions host does not lift a worker's fields into
 * `customDimensions`: see docs/monitoring.md), so the queries read `parse_json(message)`.
 *
 * One schema per event, here and only here: the code emits through `emitEvent` (typed by these
 * schemas), and test/unit/telemetryQueries.test.ts checks that every field a query reads is one
 * of them. Change a field here and the queries that read it fail their test.
 */
import { z } from 'zod';
import type { FailureInfo } from '../core/errors';
import type { FinishRunInput } from '../engine/runPipeline';
import type { RunStatus, StepState, StepStatus } from '../engine/types';
import type { StepMetrics } from '../steps/protocol';

/** Longest error text an event carries: a `traces` message holds 32,768 characters at most. */
const MAX_ERROR_CHARS = 2_000;

const failureSchema = z.object({
  class: z.string(),
  message: z.string(),
  code: z.string().optional(),
  stepId: z.string().optional(),
});

const metricsSchema = z.record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.null()]));

const FINISHED_RUN_STATUSES = ['succeeded', 'failed', 'cancelled'] as const satisfies readonly RunStatus[];
const STEP_STATUSES = ['succeeded', 'failed', 'skipped', 'cancelled', 'reused', 'pending', 'running', 'waiting'] as const satisfies readonly StepStatus[];

const slotFields = {
  pipeline: z.string(),
  schedule: z.string(),
  /** The slot's instant (UTC, ISO). */
  slot: z.string(),
  /** Its wall time in the schedule's zone. */
  local: z.string(),
  /** The ledger outcome (fired, caught-up, missed, skipped-overlap, skipped-paused, start-failed). */
  outcome: z.string(),
  lateBySeconds: z.number(),
  runId: z.string().optional(),
  reason: z.string().optional(),
};

export const EVENT_SCHEMAS = {
  /** A run ended (finishRun activity): one per run. */
  'run.finished': z.object({
    runId: z.string(),
    pipeline: z.string(),
    status: z.enum(FINISHED_RUN_STATUSES),
    /** manual, schedule, rerun or api. */
    trigger: z.string(),
    /** Schedule name, rerun source… */
    origin: z.string().optional(),
    scheduledFor: z.string().optional(),
    pipelineAttempt: z.number(),
    startedAt: z.string(),
    endedAt: z.string().optional(),
    durationSeconds: z.number().optional(),
    steps: z.number(),
    stepsFailed: z.number(),
    /** Sum of the steps' `rowsLoaded` metrics (COPY INTO), when any step reported one. */
    rowsLoaded: z.number().optional(),
    failedStep: z.string().optional(),
    error: failureSchema.optional(),
  }),
  /** A step's final state in a run (finishRun activity): one per step per run. */
  'step.finished': z.object({
    runId: z.string(),
    pipeline: z.string(),
    stepId: z.string(),
    status: z.enum(STEP_STATUSES),
    /** Attempts made (0 for a skipped or reused step). */
    attempts: z.number(),
    failedAttempts: z.number(),
    /** Wall time from the first attempt's start to the last attempt's end, retry waits included. */
    durationSeconds: z.number().optional(),
    /** The longest single attempt: what the step's `timeout` bounds. */
    longestAttemptSeconds: z.number().optional(),
    /** What the step reported: rowsLoaded/filesLoaded (COPY INTO), modelsSucceeded/modelsErrored/testsFailed (dbt)… */
    metrics: metricsSchema.optional(),
    error: failureSchema.optional(),
  }),
  /**
   * A step's start delivered again (activities run at least once) to a service that cannot tell
   * (an export function without honoursIdempotencyKey, a user activity): it may act twice
   * (src/activities/startClaim.ts). Also in the run's log.
   */
  'step.duplicateStartPossible': z.object({
    runId: z.string(),
    pipeline: z.string(),
    stepId: z.string(),
    attempt: z.number(),
    kind: z.string(),
    /** `<runId>:<stepId>:<attempt>`, what an export function is sent as Idempotency-Key. */
    idempotencyKey: z.string(),
    /** What the earlier delivery recorded: running (it died in the call) or its answer (it died after). */
    earlierStatus: z.string().optional(),
    earlierStartedAt: z.string().optional(),
  }),
  /** A run's alert sent again: an earlier delivery of finishRun claimed it and did not record it sent (webhooks take no key). */
  'alert.duplicatePossible': z.object({ runId: z.string(), pipeline: z.string(), alertEvent: z.string() }),
  /** A schedule slot started its run (on time, or caught up after downtime). */
  'slot.fired': z.object(slotFields),
  /** A slot that was not run (catch-up policy). */
  'slot.missed': z.object(slotFields),
  /** A slot skipped because the schedule is paused or the last run still runs. */
  'slot.skipped': z.object(slotFields),
  /** A slot whose run could not be started after every attempt. */
  'slot.failed': z.object(slotFields),
  /** A slot handled later than the schedule's `lateAfter` (started late or missed). */
  'slot.late': z.object({ ...slotFields, lateAfterSeconds: z.number() }),
  // Operational lines no query reads yet, defined here so every `event` the app logs has one
  // definition: src/scheduler/fromServices.ts, src/functions/scheduler.ts, src/runs/retention.ts.
  /** The scheduler is on but has no run store (slot ledger): no schedule fires. */
  'scheduler.disabled': z.object({}),
  /** The scheduler's timer fired late (`isPastDue`). */
  'scheduler.pastDue': z.object({}),
  /** The retention timer purged old runs, slots and Durable histories. */
  'retention.purged': z.object({ days: z.number(), runs: z.number(), slots: z.number(), instances: z.number() }),
} as const;

export type EventName = keyof typeof EVENT_SCHEMAS;
export type EventFields<N extends EventName> = z.input<(typeof EVENT_SCHEMAS)[N]>;
export const EVENT_NAMES = Object.keys(EVENT_SCHEMAS) as EventName[];

/** The part of a logger events go through (a pino logger, or the scheduler's log). */
export interface EventLog {
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
}

/**
 * Logs one event: `event` plus its fields, the event name as the message. The level becomes the
 * trace's `severityLevel` (a failed run is an Error in Application Insights' own views); the
 * queries do not depend on it.
 */
export function emitEvent<N extends EventName>(log: EventLog, name: N, fields: EventFields<N>, level: 'info' | 'warn' | 'error' = 'info'): void {
  log[level]({ event: name, ...fields }, name);
}

function failureFields(error: (FailureInfo & { readonly stepId?: string }) | undefined): z.input<typeof failureSchema> | undefined {
  if (!error) return undefined;
  return {
    class: error.class,
    message: error.message.length > MAX_ERROR_CHARS ? `${error.message.slice(0, MAX_ERROR_CHARS)}…` : error.message,
    ...(error.code === undefined ? {} : { code: error.code }),
    ...(error.stepId === undefined ? {} : { stepId: error.stepId }),
  };
}

function secondsBetween(from: string | undefined, to: string | undefined): number | undefined {
  if (from === undefined || to === undefined) return undefined;
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) ? Math.max(0, ms / 1000) : undefined;
}

function numericMetric(metrics: StepMetrics | undefined, name: string): number | undefined {
  const value = metrics?.[name];
  return typeof value === 'number' ? value : undefined;
}

function stepFinished(input: FinishRunInput, step: StepState): EventFields<'step.finished'> {
  const first = step.attempts[0];
  const last = step.attempts.at(-1);
  const attemptSeconds = step.attempts.map((a) => a.durationSeconds ?? secondsBetween(a.startedAt, a.endedAt)).filter((s): s is number => s !== undefined);
  const durationSeconds = secondsBetween(first?.startedAt, last?.endedAt);
  const error = failureFields(step.error);
  return {
    runId: input.run.runId,
    pipeline: input.run.pipeline,
    stepId: step.id,
    status: step.status,
    attempts: step.attempts.length,
    failedAttempts: step.attempts.filter((a) => a.status === 'failed').length,
    ...(durationSeconds === undefined ? {} : { durationSeconds }),
    ...(attemptSeconds.length === 0 ? {} : { longestAttemptSeconds: Math.max(...attemptSeconds) }),
    ...(step.metrics === undefined ? {} : { metrics: step.metrics }),
    ...(error === undefined ? {} : { error }),
  };
}

function runFinished(input: FinishRunInput): EventFields<'run.finished'> | undefined {
  const run = input.run;
  if (run.status !== 'succeeded' && run.status !== 'failed' && run.status !== 'cancelled') return undefined;
  const loaded = run.steps.map((s) => numericMetric(s.metrics, 'rowsLoaded')).filter((n): n is number => n !== undefined);
  const failedStep = run.error?.stepId ?? run.steps.find((s) => s.status === 'failed')?.id;
  const error = failureFields(run.error);
  return {
    runId: run.runId,
    pipeline: run.pipeline,
    status: run.status,
    trigger: input.trigger.kind,
    ...(input.trigger.origin === undefined ? {} : { origin: input.trigger.origin }),
    ...(input.trigger.scheduledFor === undefined ? {} : { scheduledFor: input.trigger.scheduledFor }),
    pipelineAttempt: run.pipelineAttempt,
    startedAt: run.startedAt,
    ...(run.endedAt === undefined ? {} : { endedAt: run.endedAt }),
    ...(run.durationSeconds === undefined ? {} : { durationSeconds: run.durationSeconds }),
    steps: run.steps.length,
    stepsFailed: run.steps.filter((s) => s.status === 'failed').length,
    ...(loaded.length === 0 ? {} : { rowsLoaded: loaded.reduce((a, b) => a + b, 0) }),
    ...(run.status === 'failed' && failedStep !== undefined ? { failedStep } : {}),
    ...(error === undefined ? {} : { error }),
  };
}

/** The events of a finished run: one `step.finished` per step, then `run.finished`. */
export function emitRunEvents(log: EventLog, input: FinishRunInput): void {
  const run = runFinished(input);
  if (!run) return;
  for (const step of input.run.steps) emitEvent(log, 'step.finished', stepFinished(input, step), step.status === 'failed' ? 'warn' : 'info');
  emitEvent(log, 'run.finished', run, run.status === 'failed' ? 'error' : 'info');
}

/** What the scheduler knows about a slot when it reports it (src/scheduler/ports.ts SlotEntry). */
export interface SlotReport {
  readonly pipeline: string;
  readonly schedule: string;
  readonly slot: string;
  readonly local: string;
  readonly outcome: string;
  readonly lateBySeconds: number;
  readonly instanceId?: string;
  readonly reason?: string;
}

type SettledSlotEvent = 'slot.fired' | 'slot.missed' | 'slot.skipped' | 'slot.failed';

const SLOT_EVENT_BY_OUTCOME: Readonly<Partial<Record<string, SettledSlotEvent>>> = {
  fired: 'slot.fired',
  'caught-up': 'slot.fired',
  missed: 'slot.missed',
  'skipped-overlap': 'slot.skipped',
  'skipped-paused': 'slot.skipped',
  'start-failed': 'slot.failed',
};

function slotFieldsOf(entry: SlotReport): EventFields<'slot.fired'> {
  return {
    pipeline: entry.pipeline,
    schedule: entry.schedule,
    slot: entry.slot,
    local: entry.local,
    outcome: entry.outcome,
    lateBySeconds: entry.lateBySeconds,
    ...(entry.instanceId === undefined ? {} : { runId: entry.instanceId }),
    ...(entry.reason === undefined ? {} : { reason: entry.reason }),
  };
}

/** The event for a slot's settled outcome; nothing for the in-between ones (starting, queued). */
export function emitSlotEvent(log: EventLog, entry: SlotReport): void {
  const name = SLOT_EVENT_BY_OUTCOME[entry.outcome];
  if (name) emitEvent(log, name, slotFieldsOf(entry), name === 'slot.fired' ? 'info' : 'warn');
}

/** A slot handled later than its schedule's `lateAfter`: what the failed/late alert fires on. */
export function emitSlotLate(log: EventLog, entry: SlotReport, lateAfterSeconds: number): void {
  emitEvent(log, 'slot.late', { ...slotFieldsOf(entry), lateAfterSeconds }, 'warn');
}
