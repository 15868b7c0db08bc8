/**
 * The run's state as the next execution needs it, in a few bytes per step: the input of an
 * execution is replayed at every one of its wake-ups, so it must not grow with what the steps did
 * (their attempts, outputs and errors go to the archive, archive.ts).
 */
import { stepInstanceId } from './runStep';
import type { CarriedStepState, RunTracker } from './state';
import type { RunCarry, StepStatus } from './types';

const STATUS_LETTERS: Readonly<Record<StepStatus, string>> = {
  pending: 'p',
  running: 'r',
  waiting: 'w',
  succeeded: 's',
  failed: 'f',
  skipped: 'k',
  cancelled: 'c',
  reused: 'u',
};

const STATUS_OF_LETTER = new Map(Object.entries(STATUS_LETTERS).map(([status, letter]) => [letter, status as StepStatus]));

/** The per-step part of a carry, in definition order. */
export function encodeSteps(steps: readonly { id: string; state: CarriedStepState }[]): Pick<RunCarry, 'statuses' | 'attempts' | 'permanent'> {
  return {
    statuses: steps.map((s) => STATUS_LETTERS[s.state.status]).join(''),
    attempts: steps.map((s) => s.state.attempts),
    permanent: steps.flatMap((s, i) => (s.state.permanent ? [i] : [])),
  };
}

/** Each step's carried state by id; throws when the carry does not fit the definition's steps. */
export function decodeSteps(carry: RunCarry, stepIds: readonly string[]): Map<string, CarriedStepState> {
  if (carry.statuses.length !== stepIds.length || carry.attempts.length !== stepIds.length) {
    throw new Error(`the carried state has ${carry.statuses.length} steps, the definition ${stepIds.length}`);
  }
  const permanent = new Set(carry.permanent);
  return new Map(
    stepIds.map((id, i) => {
      const status = STATUS_OF_LETTER.get(carry.statuses[i] ?? '');
      if (status === undefined) throw new Error(`the carried state has an unknown status for step "${id}"`);
      return [id, { status, attempts: carry.attempts[i] ?? 0, permanent: permanent.has(i) }] as const;
    }),
  );
}

/**
 * The steps a continued execution finds in flight: every step the carry says is running ran in a
 * `runPipelineStep` of an earlier execution (an inline step never spans a continue), started at the
 * attempt after those it had made — which names its instance.
 */
export function inFlightOf(runId: string, tracker: RunTracker, stepIds: readonly string[]): [string, string][] {
  return stepIds.filter((id) => tracker.status(id) === 'running').map((id) => [id, stepInstanceId(runId, id, tracker.attemptCount(id) + 1)]);
}
