/**
 * What the scheduler tick needs from the outside world, and nothing more. The Table Storage run
 * store implements `SchedulerStore`; the durable client implements `RunStarter`. Tests use the
 * in-memory versions in test/support/scheduler.ts.
 */
import type { JsonObject } from '../core/json';
import type { PipelineDefinition, ScheduleDefinition } from '../pipelines/schema';
import type { RunTrigger } from '../steps/protocol';
import type { RecordedSchedule } from './owedSlots';
import type { DstMark } from './slots';

/**
 * What became of a slot (one row of the slot ledger):
 * - `starting`: claimed, the run is being started (a row left here by a crash is retried);
 * - `fired`: started on time; `caught-up`: started more than `lateAfter` after its time;
 * - `queued`: the pipeline was running and the schedule says `queue`; started on a later tick;
 * - `missed`: not started, by the catch-up policy (downtime);
 * - `skipped-overlap`: not started, the pipeline was running (`reason` names the run);
 * - `skipped-paused`: not started, the schedule was paused;
 * - `start-failed`: starting failed `MAX_START_ATTEMPTS` times (`reason` says why), or is retried;
 * - `backfilled`: started by a backfill (`backfill` names it; `reason` says whether it filled a slot
 *   that had no run or reran one). The tick never acts on it again.
 */
export type SlotOutcome =
  | 'starting'
  | 'fired'
  | 'caught-up'
  | 'queued'
  | 'missed'
  | 'skipped-overlap'
  | 'skipped-paused'
  | 'start-failed'
  | 'backfilled';

/** Outcomes a later tick may still act on. */
export const PENDING_OUTCOMES: readonly SlotOutcome[] = ['starting', 'queued', 'start-failed'];

export interface SlotEntry {
  readonly pipeline: string;
  readonly schedule: string;
  /** The slot's key: its instant, ISO to the second (`2026-03-29T01:00:00Z`). */
  readonly slot: string;
  /** The wall time it fires, with offset. */
  readonly local: string;
  /** The local time the cron names. */
  readonly scheduledLocal: string;
  readonly dst: DstMark;
  readonly outcome: SlotOutcome;
  /** Why it was not started, or why the start failed. */
  readonly reason?: string;
  /** The run id (Durable instance id) of a started or starting slot. */
  readonly instanceId?: string;
  /** Seconds between the slot's time and its start (or its recording, when not started). */
  readonly lateBySeconds: number;
  /** Start attempts made so far. */
  readonly attempts: number;
  /** The backfill that started this slot's run (outcome `backfilled`). */
  readonly backfill?: string;
  readonly recordedAt: string;
  readonly updatedAt: string;
}

/** The latest slot of a schedule that could not start its run: shown until a later slot starts one. */
export interface StartFailure {
  readonly slot: string;
  readonly reason: string;
}

/** What a checkpoint write also records (SchedulerStore.setCheckpoint). */
export interface CheckpointChanges {
  readonly definition?: RecordedSchedule;
  /** A failure to show on the schedule, or null to clear the mark; absent leaves it as it is. */
  readonly startFailure?: StartFailure | null;
}

export interface ScheduleState {
  /** Slots at or before this instant have been evaluated. Absent the first time a schedule is seen. */
  readonly checkpoint?: string;
  /**
   * The schedule's definition (cron, zone, DST policy, enabled) the checkpoint was evaluated under,
   * so a tick can tell a deploy changed it (owedSlots.ts). Absent in rows written before.
   */
  readonly schedule?: RecordedSchedule;
  /** Set and cleared at runtime (pause / resume), without a redeploy. */
  readonly paused: boolean;
  /** Set when a slot ends `start-failed`, cleared when a later slot starts its run. */
  readonly lastStartFailure?: StartFailure;
  /** Opaque version of the state row, for `setCheckpoint`. Absent when no row exists yet. */
  readonly etag?: string;
}

export interface SchedulerStore {
  /** One read per schedule per tick: checkpoint and pause flag live together. */
  getScheduleState(pipeline: string, schedule: string): Promise<ScheduleState>;
  /**
   * Moves the checkpoint, only if the row is still at `etag` (or, with no etag, if no row exists).
   * Must not touch the pause flag. Returns false when another writer got there first: that is
   * fine, the ledger keeps slots from firing twice. `changes` ride on the same request: the
   * definition the checkpoint was evaluated under (owedSlots.ts), and the start-failure mark (a
   * failure to show, or null to clear it).
   */
  setCheckpoint(pipeline: string, schedule: string, checkpoint: string, etag: string | undefined, changes?: CheckpointChanges): Promise<boolean>;
  /** Inserts the slot's ledger row if absent. True only for the caller that inserted it. */
  claimSlot(entry: SlotEntry): Promise<boolean>;
  /**
   * Compare-and-set on a ledger row: applies `patch` only if the row's outcome is still `from`.
   * True when applied. Two ticks racing for one queued slot: one wins.
   */
  transitionSlot(
    pipeline: string,
    schedule: string,
    slot: string,
    from: SlotOutcome,
    patch: Partial<Pick<SlotEntry, 'outcome' | 'reason' | 'instanceId' | 'lateBySeconds' | 'attempts' | 'updatedAt' | 'backfill'>>,
  ): Promise<boolean>;
  /** The schedule's rows whose outcome is in PENDING_OUTCOMES, oldest slot first. Keep it cheap. */
  listPendingSlots(pipeline: string, schedule: string): Promise<SlotEntry[]>;
}

export interface ScheduledStart {
  /** The run id: `scheduledInstanceId(pipeline, schedule, slot)`. */
  readonly instanceId: string;
  readonly pipeline: PipelineDefinition;
  readonly schedule: ScheduleDefinition;
  readonly slot: SlotEntry;
  /** The schedule's parameter overrides layered over the pipeline's defaults. */
  readonly parameters: JsonObject;
  readonly trigger: RunTrigger;
}

export interface RunStarter {
  /**
   * Starts the run under `instanceId`. An instance that already exists, in any state, is not an
   * error: the starter returns 'already-exists' (a retry after a crash, or a concurrent tick).
   * Durable's `startNew` *overwrites* a completed or failed instance with the default (and only
   * safe) `overridableExistingInstanceStates: NonRunningStates`, so the starter must look the
   * instance up first (`getStatus`) and only then `startNew`; `startNew` then rejects a start
   * over a pending or running one, which closes the race between two starters.
   */
  start(request: ScheduledStart): Promise<'started' | 'already-exists'>;
  /** The id of a pending or running run of the pipeline, if any. */
  runningRun(pipeline: string): Promise<string | undefined>;
}

/** Raised (once) for the slots a tick found late: started late, or not started at all. */
export interface LateSlotsEvent {
  readonly pipeline: string;
  readonly schedule: string;
  readonly now: string;
  readonly lateAfterSeconds: number;
  readonly slots: readonly Pick<SlotEntry, 'slot' | 'local' | 'outcome' | 'lateBySeconds' | 'instanceId' | 'reason'>[];
}

export type NotifyLate = (event: LateSlotsEvent) => Promise<void>;

/** Raised (once per tick and schedule) for slots whose run could not be started: alerted like a failed run. */
export interface StartFailedSlotsEvent {
  readonly pipeline: string;
  readonly schedule: string;
  readonly now: string;
  readonly slots: readonly Pick<SlotEntry, 'slot' | 'local' | 'reason'>[];
}

export type NotifyStartFailed = (event: StartFailedSlotsEvent) => Promise<void>;
