/** What a notification is about. Built by whoever ends a run (or finds a slot late). */
import type { RunState } from '../engine/types';

export type RunEventKind = 'failed' | 'succeeded' | 'late';

export interface RunEvent {
  readonly kind: RunEventKind;
  /** Pipeline name (slug). */
  readonly pipeline: string;
  /** Its human title, when known ("Pipeline Data Complet"). */
  readonly title?: string;
  /** Absent for a late slot that never started a run. */
  readonly runId?: string;
  readonly startedAt?: string;
  readonly durationSeconds?: number;
  /** The step that failed the run. */
  readonly failedStep?: string;
  /** The failure's message (masked and shortened before sending). */
  readonly error?: string;
  /** Late slots: the schedule, the slot time (ISO) and how late it is. */
  readonly schedule?: string;
  readonly scheduledFor?: string;
  readonly lateBySeconds?: number;
  /** A `failed` event for a slot whose run could not be started at all (no run exists). */
  readonly notStarted?: true;
}

/** The event for a finished run, from the orchestrator's final state. */
export function runEventFromState(state: RunState, title?: string): RunEvent | undefined {
  if (state.status !== 'failed' && state.status !== 'succeeded') return undefined;
  const failedStep = state.error?.stepId ?? state.steps.find((s) => s.status === 'failed')?.id;
  return {
    kind: state.status,
    pipeline: state.pipeline,
    ...(title === undefined ? {} : { title }),
    runId: state.runId,
    startedAt: state.startedAt,
    ...(state.durationSeconds === undefined ? {} : { durationSeconds: state.durationSeconds }),
    ...(state.status === 'failed' && failedStep !== undefined ? { failedStep } : {}),
    ...(state.status === 'failed' && state.error ? { error: state.error.message } : {}),
  };
}
