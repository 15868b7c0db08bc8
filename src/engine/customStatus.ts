/**
 * Custom statuses that fit the Durable extension's limit, whatever the number of steps.
 *
 * The extension serializes a JavaScript orchestrator's custom status in
 * `DurableOrchestrationContext.SetCustomStatus` (called from `OutOfProcOrchestrationShim.
 * ScheduleDurableTaskEvents` on every wake-up) through `MessagePayloadDataConverter.Serialize(value,
 * MaxCustomStatusPayloadSizeInKB = 16)`, which throws when
 * `(int)(Encoding.Unicode.GetByteCount(json) / 1024.0) > 16`; the orchestration then fails
 * (Azure/azure-functions-durable-extension). UTF-16 spends two bytes per JavaScript string unit (a
 * character outside the BMP is a surrogate pair: two units, four bytes), so `2 × JSON length` is the
 * exact byte count. We keep to 16 × 1024 bytes, a little under what the extension's rounding lets
 * through.
 *
 * The run's output is not limited this way (Azure Storage moves large payloads to blobs:
 * DurableTask.AzureStorage `AzureTableTrackingStore`, `MaxTablePropertySizeInBytes`), so it keeps the
 * whole state; views of a finished run read the output and the run store.
 */
import type { FailureInfo } from '../core/errors';
import type { RunState, StepState, StepStatus } from './types';

export const CUSTOM_STATUS_MAX_BYTES = 16 * 1024;

/** UTF-16 bytes of a value's JSON, as the extension counts them. */
export function utf16JsonBytes(value: unknown): number {
  return 2 * (JSON.stringify(value) ?? '').length;
}

/** The last level for a run: counts only, bounded whatever the run holds. */
export interface RunStatusSummary extends Pick<RunState, 'runId' | 'pipeline' | 'status' | 'pipelineAttempt' | 'pipelineRetry' | 'startedAt' | 'endedAt' | 'durationSeconds'> {
  readonly stepCount: number;
  readonly stepsByStatus: Readonly<Partial<Record<StepStatus, number>>>;
  readonly error?: ShortError;
  /** Where the whole state is (the run store, merged with this instance by the API). */
  readonly fullState: string;
}

type RunError = NonNullable<RunState['error']>;
type ShortError = Pick<RunError, 'class' | 'message' | 'code' | 'retryAfterSeconds' | 'stepId'>;

/** Longest error message kept once statuses are trimmed to short summaries. */
const SHORT_MESSAGE = 300;
/** Longest id or name kept in the fixed-size summary (run ids are at most 200 characters). */
const SHORT_NAME = 200;

/**
 * The run state as custom status: whole when it fits; then without step outputs; then with the
 * last 3, then the last attempt of each step; then steps without attempts or metrics and with short
 * errors; then only each step's id and status; finally a fixed-size summary (counts per status and
 * where the full state is). Each level is tried in turn, so the richest one that fits is published.
 */
export function forCustomStatus(state: RunState, limit = CUSTOM_STATUS_MAX_BYTES): RunState | RunStatusSummary {
  const fits = (candidate: unknown): boolean => utf16JsonBytes(candidate) <= limit;
  if (fits(state)) return state;
  const levels: ((s: RunState) => RunState)[] = [
    (s) => ({ ...s, steps: s.steps.map(withoutOutput) }),
    (s) => ({ ...s, steps: s.steps.map((step) => lastAttempts(withoutOutput(step), 3)) }),
    (s) => ({ ...s, steps: s.steps.map((step) => lastAttempts(withoutOutput(step), 1)) }),
    (s) => ({ ...withShortRunError(s), steps: s.steps.map(compactStep) }),
    (s) => ({ ...withShortRunError(s), steps: s.steps.map(({ id, status }) => ({ id, status, attempts: [] })) }),
  ];
  for (const level of levels) {
    const candidate = level(state);
    if (fits(candidate)) return candidate;
  }
  return summarize(state);
}

/**
 * A step sub-orchestration's status (`runPipelineStep`): the step whole when it fits, then without
 * its output, then with its last 3 / last attempt, then without attempts and with a short error —
 * bounded, since a step id and a short error are. A cut-down status says so (`partial`): the run
 * takes a step's end from this status only when it is whole (activities/reconcileRun.ts).
 */
export function stepForCustomStatus(step: StepState, limit = CUSTOM_STATUS_MAX_BYTES): StepState {
  if (utf16JsonBytes(step) <= limit) return step;
  const levels: ((s: StepState) => StepState)[] = [withoutOutput, (s) => lastAttempts(withoutOutput(s), 3), (s) => lastAttempts(withoutOutput(s), 1)];
  for (const level of levels) {
    const candidate: StepState = { ...level(step), partial: true };
    if (utf16JsonBytes(candidate) <= limit) return candidate;
  }
  return { ...compactStep(step), partial: true };
}

/**
 * A custom status fitted when it is serialized, not when it is set. The SDK keeps the last value
 * given to `setCustomStatus` (durable-functions `DurableOrchestrationContext.setCustomStatus`,
 * then `OrchestratorState.customStatus`) and the worker serializes it once per wake-up, while the
 * engine publishes at every transition of every replay: fitting each would JSON-serialize the whole
 * run state hundreds of times per wake-up (minutes of CPU for 200 steps with 8 KB outputs).
 * `fit` must only read values captured when the status was set.
 */
export function fittedWhenSerialized<T>(fit: () => T): { toJSON(): T } {
  let fitted: { value: T } | undefined;
  return {
    toJSON: () => {
      fitted ??= { value: fit() };
      return fitted.value;
    },
  };
}

/** The path of the full run state in the HTTP API. */
export function fullStatePath(runId: string): string {
  return `/api/runs/${encodeURIComponent(runId)}`;
}

function summarize(state: RunState): RunStatusSummary {
  const stepsByStatus: Partial<Record<StepStatus, number>> = {};
  for (const step of state.steps) stepsByStatus[step.status] = (stepsByStatus[step.status] ?? 0) + 1;
  return {
    runId: clip(state.runId, SHORT_NAME),
    pipeline: clip(state.pipeline, SHORT_NAME),
    status: state.status,
    pipelineAttempt: state.pipelineAttempt,
    ...(state.pipelineRetry === undefined ? {} : { pipelineRetry: state.pipelineRetry }),
    startedAt: clip(state.startedAt, SHORT_NAME),
    ...(state.endedAt === undefined ? {} : { endedAt: clip(state.endedAt, SHORT_NAME) }),
    ...(state.durationSeconds === undefined ? {} : { durationSeconds: state.durationSeconds }),
    stepCount: state.steps.length,
    stepsByStatus,
    ...(state.error === undefined ? {} : { error: shortError(state.error) }),
    fullState: fullStatePath(clip(state.runId, SHORT_NAME)),
  };
}

function withoutOutput(step: StepState): StepState {
  if (step.output === undefined) return step;
  const { output: _dropped, ...rest } = step;
  return rest;
}

function lastAttempts(step: StepState, keep: number): StepState {
  return step.attempts.length <= keep ? step : { ...step, attempts: step.attempts.slice(-keep) };
}

function compactStep(step: StepState): StepState {
  return {
    id: clip(step.id, SHORT_NAME),
    status: step.status,
    attempts: [],
    ...(step.error === undefined ? {} : { error: shortError(step.error) }),
    ...(step.nextAt === undefined ? {} : { nextAt: clip(step.nextAt, SHORT_NAME) }),
  };
}

function withShortRunError(state: RunState): RunState {
  return state.error === undefined ? state : { ...state, error: shortError(state.error) };
}

function shortError(error: FailureInfo & { readonly stepId?: string }): ShortError {
  return {
    class: error.class,
    message: clip(error.message, SHORT_MESSAGE),
    ...(error.code === undefined ? {} : { code: clip(error.code, 64) }),
    ...(error.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: error.retryAfterSeconds }),
    ...(error.stepId === undefined ? {} : { stepId: clip(error.stepId, SHORT_NAME) }),
  };
}

/** At most `max` UTF-16 units, never splitting a surrogate pair. */
function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}
