/**
 * One view of a run for the API, merged from the run store (history, attempts, metrics) and the
 * Durable instance (live state while it runs; the store is written by activities, so a run that
 * has just been accepted exists only in Durable for a moment).
 */
import type { DurableOrchestrationStatus } from 'durable-functions';
import { isTerminalRunStatus } from '../core/runStatus';
import { parseItemStepId } from '../pipelines/items';
import type { PipelineRetryWait, RunState, RunStatus, StepState } from '../engine/types';
import type { AttemptRecord, RunRecord } from '../runs/recorder';

export interface RunView {
  readonly runId: string;
  readonly pipeline: string;
  readonly project?: string;
  readonly tags?: readonly string[];
  readonly status: RunStatus;
  readonly trigger?: RunRecord['trigger'];
  readonly parameters?: RunRecord['parameters'];
  readonly createdAt?: string;
  readonly startedAt?: string;
  readonly endedAt?: string;
  readonly durationSeconds?: number;
  readonly pipelineAttempt?: number;
  /** While a failed round waits for its pipeline retry: which attempt comes, and when (the engine's timer). */
  readonly pipelineRetry?: PipelineRetryWait;
  readonly error?: RunRecord['error'];
  readonly rerunOf?: string;
  readonly steps: readonly StepState[];
  readonly attempts: readonly AttemptRecord[];
  readonly metrics: NonNullable<RunRecord['metrics']>;
}

export { isTerminalRunStatus as isTerminal } from '../core/runStatus';

/** Durable's runtime status in our words. */
export function statusFromDurable(status: DurableOrchestrationStatus): RunStatus {
  switch (status.runtimeStatus as string) {
    case 'Completed': {
      const state = status.output as RunState | undefined;
      return state?.status ?? 'succeeded';
    }
    case 'Failed':
      return 'failed';
    case 'Terminated':
    case 'Canceled':
      return 'cancelled';
    case 'Pending':
      return 'pending';
    default:
      return 'running';
  }
}

/** The engine's RunState of an instance: its output when done, its custom status while running. */
export function stateFromDurable(status: DurableOrchestrationStatus | undefined): RunState | undefined {
  const candidate = (status?.output ?? status?.customStatus) as RunState | undefined;
  return candidate && typeof candidate === 'object' && Array.isArray(candidate.steps) ? candidate : undefined;
}

export function mergeRunView(
  runId: string,
  record: RunRecord | undefined,
  attempts: readonly AttemptRecord[],
  status: DurableOrchestrationStatus | undefined,
): RunView | undefined {
  const state = stateFromDurable(status);
  if (!record && !status) return undefined;
  // A terminated instance never writes its own end: Durable's word is final there.
  const liveStatus = status ? statusFromDurable(status) : undefined;
  const statusWord: RunStatus =
    record && isTerminalRunStatus(record.status) ? record.status : (liveStatus ?? record?.status ?? 'pending');
  const metrics: Record<string, NonNullable<StepState['metrics']>> = { ...(record?.metrics ?? {}) };
  for (const step of state?.steps ?? []) if (step.metrics && !metrics[step.id]) metrics[step.id] = step.metrics;
  return {
    runId,
    pipeline: record?.pipeline ?? state?.pipeline ?? status?.name ?? '',
    ...(record?.project !== undefined ? { project: record.project } : {}),
    ...(record?.tags !== undefined ? { tags: record.tags } : {}),
    status: statusWord,
    ...(record?.trigger ? { trigger: record.trigger } : {}),
    ...(record?.parameters ? { parameters: record.parameters } : {}),
    createdAt: record?.createdAt ?? toIso(status?.createdTime),
    startedAt: record?.startedAt ?? state?.startedAt,
    endedAt: record?.endedAt ?? state?.endedAt,
    durationSeconds: record?.durationSeconds ?? state?.durationSeconds,
    pipelineAttempt: record?.pipelineAttempt ?? state?.pipelineAttempt,
    // The live state's word, and only while the run runs: a wait never outlives its run.
    ...(statusWord === 'running' && state?.pipelineRetry ? { pipelineRetry: state.pipelineRetry } : {}),
    error: record?.error ?? state?.error,
    ...(record?.rerunOf ? { rerunOf: record.rerunOf } : {}),
    steps: state ? withStoredAttempts(state.steps, attempts) : stepsFromAttempts(attempts),
    attempts,
    metrics,
  };
}

/**
 * A running run that continued as new shows the steps it archived with their status only (their
 * attempts come back into its state when it ends: src/engine/archive.ts); the run store has those
 * attempts, so the view takes them from there.
 */
function withStoredAttempts(steps: readonly StepState[], attempts: readonly AttemptRecord[]): readonly StepState[] {
  if (attempts.length === 0) return steps;
  const live = new Set(steps.map((s) => s.id));
  const storedSteps = stepsFromAttempts(attempts);
  // A running run's live state lists a forEach step's items in flight only (the engine's
  // `liveSnapshot`): the items that ended come from their attempt rows.
  const ended = storedSteps.filter((s) => !live.has(s.id));
  if (ended.length === 0 && steps.every((s) => s.attempts.length > 0)) return steps;
  const stored = new Map(storedSteps.map((s) => [s.id, s.attempts]));
  const merged = steps.map((step) => (step.attempts.length === 0 && (stored.get(step.id)?.length ?? 0) > 0 ? { ...step, attempts: stored.get(step.id) ?? [] } : step));
  return [...merged, ...ended];
}

function toIso(value: Date | string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : value.toISOString();
}

/** Steps rebuilt from attempt rows when Durable no longer has the instance (purged history). */
export function stepsFromAttempts(attempts: readonly AttemptRecord[]): StepState[] {
  const byStep = new Map<string, AttemptRecord[]>();
  for (const a of attempts) byStep.set(a.stepId, [...(byStep.get(a.stepId) ?? []), a]);
  return [...byStep.entries()].map(([id, rows]) => {
    const sorted = [...rows].sort((x, y) => x.attempt - y.attempt);
    const last = sorted[sorted.length - 1];
    return {
      id,
      status: last?.status ?? 'pending',
      attempts: sorted.map((r) => ({
        attempt: r.attempt,
        startedAt: r.startedAt,
        status: r.status,
        ...(r.endedAt ? { endedAt: r.endedAt, durationSeconds: (Date.parse(r.endedAt) - Date.parse(r.startedAt)) / 1000 } : {}),
        ...(r.error ? { error: r.error } : {}),
      })),
      ...(last?.output !== undefined ? { output: last.output } : {}),
      ...(last?.metrics ? { metrics: last.metrics } : {}),
      ...(last?.error ? { error: last.error } : {}),
    };
  });
}

/**
 * The view without the items of forEach steps (steps `<id>[<index>]`, their attempt rows and
 * metrics): each forEach step keeps its counts by status (`items`). What `GET runs/{id}` answers
 * unless asked for every item.
 */
export function withoutItems(view: RunView): RunView {
  const isItem = (id: string): boolean => parseItemStepId(id) !== undefined;
  return {
    ...view,
    steps: view.steps.filter((s) => !isItem(s.id)),
    attempts: view.attempts.filter((a) => !isItem(a.stepId)),
    metrics: Object.fromEntries(Object.entries(view.metrics).filter(([id]) => !isItem(id))),
  };
}
