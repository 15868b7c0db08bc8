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
 * A carry read by position, without building a state per step: a continued run with 10,000 items
 * rebuilds its tracker at every wake-up, and most items are only ever counted (state.ts).
 */
export class CarriedSteps {
  private readonly permanent: ReadonlySet<number>;
  private readonly positions: ReadonlyMap<string, number>;

  constructor(
    private readonly carry: RunCarry,
    /** The plain steps' ids by position (items follow them, positioned by their step's expansion). */
    ownIds: readonly string[],
    readonly size: number,
  ) {
    if (carry.statuses.length !== size || carry.attempts.length !== size) {
      throw new Error(`the carried state has ${carry.statuses.length} steps, the definition ${size}`);
    }
    this.permanent = new Set(carry.permanent);
    this.positions = new Map(ownIds.map((id, i) => [id, i]));
  }

  statusAt(position: number, id: string): StepStatus {
    const status = STATUS_OF_LETTER.get(this.carry.statuses[position] ?? '');
    if (status === undefined) throw new Error(`the carried state has an unknown status for step "${id}"`);
    return status;
  }

  at(position: number, id: string): CarriedStepState {
    return { status: this.statusAt(position, id), attempts: this.carry.attempts[position] ?? 0, permanent: this.permanent.has(position) };
  }

  /** A plain step's carried state by id. */
  get(id: string): CarriedStepState | undefined {
    const position = this.positions.get(id);
    return position === undefined ? undefined : this.at(position, id);
  }
}

/**
 * The steps a continued execution finds in flight: every step the carry says is running ran in a
 * `runPipelineStep` of an earlier execution (an inline step never spans a continue), started at the
 * attempt after those it had made — which names its instance.
 */
export function inFlightOf(runId: string, tracker: RunTracker, stepIds: readonly string[]): [string, string][] {
  // Items in flight come from the tracker's own list (in item order when read from a carry), not by asking each item.
  const running = [...stepIds, ...tracker.activeItemIds()].filter((id) => tracker.status(id) === 'running');
  return running.map((id) => [id, stepInstanceId(runId, id, tracker.attemptCount(id) + 1)]);
}
