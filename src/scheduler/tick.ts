/**
 * One scheduler tick (the timer trigger fires it when a slot may be due, in UTC: timerPlan.ts): for every schedule, find
 * the slots due since its checkpoint and start each at most once.
 *
 * Exactly-once rests on the slot ledger, not on timing: a slot's row is inserted if absent
 * *before* its run is started, and the run id derives from pipeline + schedule + slot, so two
 * ticks for the same minute, or two instances ticking at once, start one run. The checkpoint only
 * saves work; losing a race on it is harmless.
 */
import { emitSlotEvent, emitSlotLate } from '../logging/events';
import type { PipelineDefinition, ScheduleDefinition } from '../pipelines/schema';
import { resolveParameters, runFactsAt } from '../pipelines/parameters';
import { owedSlots, recordedSchedule } from './owedSlots';
import { scheduledInstanceId, type Slot } from './slots';
import type { LateSlotsEvent, NotifyLate, NotifyStartFailed, RunStarter, SchedulerStore, SlotEntry, SlotOutcome, StartFailure } from './ports';

/** The logging the tick does (a pino logger fits). */
export interface SchedulerLog {
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
}

export interface SchedulerTickInput {
  readonly now: Date;
  readonly catalog: { readonly pipelines: readonly PipelineDefinition[] };
  readonly store: SchedulerStore;
  readonly starter: RunStarter;
  readonly log: SchedulerLog;
  readonly notifyLate?: NotifyLate;
  /** Slots whose run could not be started are alerted like failed runs (the `failed` alerts). */
  readonly notifyStartFailed?: NotifyStartFailed;
  /**
   * The first time a schedule is seen there is no checkpoint: history is not backfilled, only a
   * slot this close before the tick is taken (one timer period, so a schedule deployed just
   * before its slot still fires).
   */
  readonly firstRunLookbackSeconds?: number;
  /** Slots recorded per schedule per tick; older ones beyond it are counted, not recorded. */
  readonly maxSlotsPerSchedule?: number;
  /** A `starting` row this old was left by a crash between claim and start: start it again. */
  readonly staleStartSeconds?: number;
}

export const MAX_START_ATTEMPTS = 3;

export interface SlotResult {
  readonly slot: string;
  readonly local: string;
  readonly outcome: SlotOutcome;
  readonly instanceId?: string;
  readonly reason?: string;
  /** False when another tick had already recorded this slot: this tick did nothing with it. */
  readonly claimed: boolean;
}

export interface ScheduleTickResult {
  readonly pipeline: string;
  readonly schedule: string;
  readonly state: 'active' | 'paused' | 'disabled' | 'failed';
  /** The evaluated window (from, to]. */
  readonly from?: string;
  readonly to: string;
  /** New slots of the window, then pending slots acted on (queued, retried). */
  readonly slots: readonly SlotResult[];
  /** Run ids this tick started. */
  readonly started: readonly string[];
  /** Slots of the window beyond `maxSlotsPerSchedule`, not recorded. */
  readonly unrecorded: number;
  readonly checkpointAdvanced: boolean;
  readonly lateAlert: boolean;
  /** True when the slots that failed to start this tick were alerted. */
  readonly startFailedAlert?: boolean;
  readonly error?: string;
}

export interface SchedulerTickSummary {
  readonly now: string;
  readonly schedules: readonly ScheduleTickResult[];
  readonly started: readonly string[];
}

export async function runSchedulerTick(input: SchedulerTickInput): Promise<SchedulerTickSummary> {
  // Pipelines run side by side; the schedules of one pipeline in turn, since overlap is per pipeline.
  const perPipeline = await Promise.all(
    input.catalog.pipelines.map(async (pipeline) => {
      const running = new RunningRun(input.starter, pipeline.name);
      const results: ScheduleTickResult[] = [];
      for (const schedule of pipeline.schedules) results.push(await tickScheduleSafely(input, pipeline, schedule, running));
      return results;
    }),
  );
  const schedules = perPipeline.flat();
  const summary: SchedulerTickSummary = { now: input.now.toISOString(), schedules, started: schedules.flatMap((s) => s.started) };
  input.log.info(
    {
      now: summary.now,
      schedules: schedules.length,
      started: summary.started,
      recorded: schedules.reduce((n, s) => n + s.slots.filter((x) => x.claimed).length, 0),
      failed: schedules.filter((s) => s.state === 'failed').map((s) => `${s.pipeline}/${s.schedule}`),
    },
    'scheduler tick',
  );
  return summary;
}

/** The pipeline's running run, asked once per tick and updated by the starts this tick makes. */
class RunningRun {
  private known: Promise<string | undefined> | undefined;

  constructor(private readonly starter: RunStarter, private readonly pipeline: string) {}

  get(): Promise<string | undefined> {
    this.known ??= this.starter.runningRun(this.pipeline);
    return this.known;
  }

  set(runId: string): void {
    this.known = Promise.resolve(runId);
  }
}

async function tickScheduleSafely(input: SchedulerTickInput, pipeline: PipelineDefinition, schedule: ScheduleDefinition, running: RunningRun): Promise<ScheduleTickResult> {
  try {
    return await new ScheduleTick(input, pipeline, schedule, running).run();
  } catch (error) {
    // One schedule's storage hiccup must not stop the others; the next tick re-evaluates it.
    const message = error instanceof Error ? error.message : String(error);
    input.log.error({ pipeline: pipeline.name, schedule: schedule.name, err: error }, 'scheduler tick failed for a schedule');
    return {
      pipeline: pipeline.name, schedule: schedule.name, state: 'failed', to: input.now.toISOString(),
      slots: [], started: [], unrecorded: 0, checkpointAdvanced: false, lateAlert: false, error: message,
    };
  }
}

type Plan = { readonly slot: Slot; readonly action: 'start' } | { readonly slot: Slot; readonly action: 'missed'; readonly reason: string };

class ScheduleTick {
  private readonly nowMs: number;
  private readonly nowIso: string;
  private readonly toleranceMs: number;
  private readonly results: SlotResult[] = [];
  private readonly started: string[] = [];
  private readonly late: SlotEntry[] = [];
  /** Slots whose start failed for good in this tick. */
  private readonly startFailed: SlotEntry[] = [];

  constructor(
    private readonly input: SchedulerTickInput,
    private readonly pipeline: PipelineDefinition,
    private readonly schedule: ScheduleDefinition,
    private readonly running: RunningRun,
  ) {
    this.nowMs = input.now.getTime();
    this.nowIso = input.now.toISOString();
    this.toleranceMs = schedule.lateAfter * 1000;
  }

  async run(): Promise<ScheduleTickResult> {
    const { store } = this.input;
    const state = await store.getScheduleState(this.pipeline.name, this.schedule.name);
    const lookbackMs = (this.input.firstRunLookbackSeconds ?? 60) * 1000;
    const fromMs = state.checkpoint !== undefined ? Date.parse(state.checkpoint) : this.nowMs - lookbackMs;

    let unrecorded = 0;
    const kind = !this.schedule.enabled ? 'disabled' : state.paused ? 'paused' : 'active';
    if (kind !== 'disabled') {
      // Slots of the definition in force at their time: a deploy may have changed it (owedSlots.ts).
      const window = fromMs < this.nowMs
        ? owedSlots({ schedule: this.schedule, recorded: state.schedule, from: new Date(fromMs), now: this.input.now, lookbackMs, limit: this.input.maxSlotsPerSchedule ?? 1000 })
        : { slots: [], dropped: 0 };
      unrecorded = window.dropped;
      if (unrecorded > 0) {
        this.input.log.warn({ pipeline: this.pipeline.name, schedule: this.schedule.name, unrecorded }, 'too many slots in one tick: the oldest are not recorded');
      }
      if (kind === 'paused') await this.recordPaused(window.slots);
      else {
        await this.resumePending();
        await this.handleNew(window.slots);
      }
    }

    // A disabled or paused schedule advances too, so that enabling or resuming it does not backfill.
    // The schedule's failure mark rides on the same write: set by a failed start, cleared by a start.
    const mark = this.startFailureMark(state.lastStartFailure);
    const checkpointAdvanced =
      fromMs < this.nowMs &&
      (await store.setCheckpoint(this.pipeline.name, this.schedule.name, this.nowIso, state.etag, {
        definition: recordedSchedule(this.schedule),
        ...(mark === undefined ? {} : { startFailure: mark }),
      }));
    const lateAlert = await this.raiseLate();
    const startFailedAlert = await this.raiseStartFailed();
    return {
      pipeline: this.pipeline.name,
      schedule: this.schedule.name,
      state: kind,
      from: new Date(fromMs).toISOString(),
      to: this.nowIso,
      slots: this.results,
      started: this.started,
      unrecorded,
      checkpointAdvanced,
      lateAlert,
      ...(startFailedAlert ? { startFailedAlert } : {}),
    };
  }

  /** What to write on the schedule's row: the latest failed start, null once a later slot started, or nothing. */
  private startFailureMark(current: StartFailure | undefined): StartFailure | null | undefined {
    const failed = this.startFailed.at(-1);
    const startedAfter = this.results.some((r) => (r.outcome === 'fired' || r.outcome === 'caught-up') && (failed === undefined || r.slot > failed.slot));
    if (startedAfter) return current === undefined ? undefined : null;
    return failed ? { slot: failed.slot, reason: failed.reason ?? 'start failed' } : undefined;
  }

  // ── New slots ───────────────────────────────────────────────────────────────────────────────────

  private async handleNew(slots: readonly Slot[]): Promise<void> {
    for (const step of this.plan(slots)) {
      if (step.action === 'missed') await this.record(step.slot, 'missed', { reason: step.reason });
      else await this.startNew(step.slot);
    }
  }

  /** The catch-up policy: which of the due slots to start. Slots within `lateAfter` always start. */
  private plan(slots: readonly Slot[]): Plan[] {
    const overdue = slots.filter((s) => this.ageMs(s) > this.toleranceMs);
    const onTime = slots.filter((s) => this.ageMs(s) <= this.toleranceMs);
    const start = new Set<Slot>(onTime);
    const reasons = new Map<Slot, string>();
    const { catchUp, catchUpLimit } = this.schedule;
    if (catchUp === 'none') {
      for (const s of overdue) reasons.set(s, "missed while the scheduler was not running (catchUp 'none')");
    } else if (catchUp === 'latest') {
      const latest = onTime.length === 0 ? overdue.at(-1) : undefined;
      if (latest) start.add(latest);
      for (const s of overdue) if (s !== latest) reasons.set(s, "superseded by a later slot (catchUp 'latest')");
    } else {
      // `all`, capped: the most recent slots are kept, so the backlog ends at the freshest data.
      const kept = overdue.slice(Math.max(0, overdue.length - catchUpLimit));
      for (const s of kept) start.add(s);
      for (const s of overdue) if (!start.has(s)) reasons.set(s, `beyond catchUpLimit ${catchUpLimit} (catchUp 'all')`);
    }
    return slots.map((slot) => (start.has(slot) ? { slot, action: 'start' } : { slot, action: 'missed', reason: reasons.get(slot) ?? 'missed' }));
  }

  private async startNew(slot: Slot): Promise<void> {
    const runningId = this.schedule.overlap === 'allow' ? undefined : await this.running.get();
    if (runningId !== undefined && this.schedule.overlap === 'skip') {
      await this.record(slot, 'skipped-overlap', { reason: `run ${runningId} of ${this.pipeline.name} was still running (overlap 'skip')` });
      return;
    }
    if (runningId !== undefined) {
      await this.record(slot, 'queued', { reason: `waiting for run ${runningId} of ${this.pipeline.name} to end (overlap 'queue')` });
      return;
    }
    const instanceId = scheduledInstanceId(this.pipeline.name, this.schedule.name, slot.utc);
    const entry = await this.record(slot, 'starting', { instanceId, attempts: 1 }, false);
    if (entry) await this.start(entry);
  }

  /** Claims the slot's ledger row. Returns the row when this tick claimed it. */
  private async record(
    slot: Slot,
    outcome: SlotOutcome,
    extra: { reason?: string; instanceId?: string; attempts?: number },
    report = true,
  ): Promise<SlotEntry | undefined> {
    const entry: SlotEntry = {
      pipeline: this.pipeline.name,
      schedule: this.schedule.name,
      slot: slot.utc,
      local: slot.local,
      scheduledLocal: slot.scheduledLocal,
      dst: slot.dst,
      outcome,
      ...(extra.reason !== undefined ? { reason: extra.reason } : {}),
      ...(extra.instanceId !== undefined ? { instanceId: extra.instanceId } : {}),
      lateBySeconds: Math.round(this.ageMs(slot) / 1000),
      attempts: extra.attempts ?? 0,
      recordedAt: this.nowIso,
      updatedAt: this.nowIso,
    };
    const claimed = await this.input.store.claimSlot(entry);
    if (!claimed) {
      this.results.push({ slot: slot.utc, local: slot.local, outcome, claimed: false });
      return undefined;
    }
    if (report) this.report(entry);
    if (outcome === 'missed') this.late.push(entry);
    return entry;
  }

  // ── Slots left pending by earlier ticks ─────────────────────────────────────────────────────────

  private async resumePending(): Promise<void> {
    const pending = await this.input.store.listPendingSlots(this.pipeline.name, this.schedule.name);
    const staleMs = (this.input.staleStartSeconds ?? 120) * 1000;
    for (const entry of pending) {
      if (entry.outcome === 'starting') {
        // Retry a start that failed (reason set) or that a crash interrupted (stale); leave a
        // start another tick is making right now alone.
        const stale = this.nowMs - Date.parse(entry.updatedAt) >= staleMs;
        if (entry.reason === undefined && !stale) continue;
        const attempts = entry.attempts + 1;
        if (await this.transition(entry, 'starting', { attempts, updatedAt: this.nowIso })) await this.start({ ...entry, attempts, updatedAt: this.nowIso });
      } else if (entry.outcome === 'queued') {
        if ((await this.running.get()) !== undefined) continue;
        const instanceId = scheduledInstanceId(this.pipeline.name, this.schedule.name, entry.slot);
        const patch = { outcome: 'starting' as const, instanceId, attempts: entry.attempts + 1, updatedAt: this.nowIso };
        if (await this.transition(entry, 'queued', patch)) await this.start({ ...entry, ...patch });
      }
    }
  }

  private transition(entry: SlotEntry, from: SlotOutcome, patch: Parameters<SchedulerStore['transitionSlot']>[4]): Promise<boolean> {
    return this.input.store.transitionSlot(entry.pipeline, entry.schedule, entry.slot, from, patch);
  }

  // ── Starting a run ──────────────────────────────────────────────────────────────────────────────

  /** Starts the run of a slot whose row this tick holds in `starting`. */
  private async start(entry: SlotEntry): Promise<void> {
    const instanceId = entry.instanceId ?? scheduledInstanceId(entry.pipeline, entry.schedule, entry.slot);
    const slotMs = Date.parse(entry.slot);
    const lateBySeconds = Math.round((this.nowMs - slotMs) / 1000);
    const late = this.nowMs - slotMs > this.toleranceMs;
    const fields = { pipeline: entry.pipeline, schedule: entry.schedule, slot: entry.slot, local: entry.local, runId: instanceId };

    // A parameter defaulting to the run's logical date takes the slot's (`day` = the slot's UTC date).
    const parameters = resolveParameters(this.pipeline, undefined, this.schedule.parameters, runFactsAt(entry.slot));
    if (!parameters.ok) {
      // A definition problem: retrying cannot help.
      const reason = `invalid parameters: ${parameters.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`;
      await this.transition(entry, 'starting', { outcome: 'start-failed', reason, lateBySeconds, updatedAt: this.nowIso });
      this.input.log.error({ ...fields, reason }, 'scheduled run not started');
      this.report({ ...entry, outcome: 'start-failed', reason });
      this.startFailed.push({ ...entry, outcome: 'start-failed', reason });
      return;
    }

    try {
      const result = await this.input.starter.start({
        instanceId,
        pipeline: this.pipeline,
        schedule: this.schedule,
        slot: entry,
        parameters: parameters.parameters,
        trigger: { kind: 'schedule', origin: this.schedule.name, scheduledFor: entry.slot },
      });
      this.running.set(instanceId);
      const outcome = late ? 'caught-up' : 'fired';
      // A `reason` left by an earlier failed attempt stays: the row tells how the start went.
      await this.transition(entry, 'starting', { outcome, lateBySeconds, instanceId, updatedAt: this.nowIso });
      if (result === 'started') this.started.push(instanceId);
      const done: SlotEntry = { ...entry, outcome, instanceId, lateBySeconds };
      this.report(done);
      if (late) this.late.push(done);
      this.input.log.info({ ...fields, outcome, lateBySeconds, result }, 'scheduled run started');
    } catch (error) {
      const reason = `start failed (attempt ${entry.attempts} of ${MAX_START_ATTEMPTS}): ${error instanceof Error ? error.message : String(error)}`;
      const final = entry.attempts >= MAX_START_ATTEMPTS;
      await this.transition(entry, 'starting', { ...(final ? { outcome: 'start-failed' as const } : {}), reason, updatedAt: this.nowIso });
      this.input.log.error({ ...fields, err: error, attempt: entry.attempts, willRetry: !final }, 'scheduled run could not be started');
      this.report({ ...entry, outcome: final ? 'start-failed' : 'starting', reason });
      if (final) this.startFailed.push({ ...entry, outcome: 'start-failed', reason });
    }
  }

  // ── Paused ──────────────────────────────────────────────────────────────────────────────────────

  private async recordPaused(slots: readonly Slot[]): Promise<void> {
    const reason = 'schedule paused';
    for (const slot of slots) await this.record(slot, 'skipped-paused', { reason });
    // Queued slots do not wait out a pause: resuming must not start old slots.
    for (const entry of await this.input.store.listPendingSlots(this.pipeline.name, this.schedule.name)) {
      if (entry.outcome !== 'queued') continue;
      if (await this.transition(entry, 'queued', { outcome: 'skipped-paused', reason, updatedAt: this.nowIso })) {
        this.report({ ...entry, outcome: 'skipped-paused', reason });
      }
    }
  }

  // ── Reporting ───────────────────────────────────────────────────────────────────────────────────

  private async raiseLate(): Promise<boolean> {
    for (const entry of this.late) emitSlotLate(this.input.log, entry, this.schedule.lateAfter);
    if (this.late.length === 0 || !this.input.notifyLate) return false;
    const event: LateSlotsEvent = {
      pipeline: this.pipeline.name,
      schedule: this.schedule.name,
      now: this.nowIso,
      lateAfterSeconds: this.schedule.lateAfter,
      slots: this.late.map((e) => ({
        slot: e.slot, local: e.local, outcome: e.outcome, lateBySeconds: e.lateBySeconds,
        ...(e.instanceId !== undefined ? { instanceId: e.instanceId } : {}),
        ...(e.reason !== undefined ? { reason: e.reason } : {}),
      })),
    };
    try {
      await this.input.notifyLate(event);
      return true;
    } catch (error) {
      this.input.log.error({ pipeline: event.pipeline, schedule: event.schedule, err: error }, 'late alert could not be sent');
      return false;
    }
  }

  /** Slots that could not start are alerted like a failed run, once, with their reasons. */
  private async raiseStartFailed(): Promise<boolean> {
    if (this.startFailed.length === 0 || !this.input.notifyStartFailed) return false;
    try {
      await this.input.notifyStartFailed({
        pipeline: this.pipeline.name,
        schedule: this.schedule.name,
        now: this.nowIso,
        slots: this.startFailed.map((e) => ({ slot: e.slot, local: e.local, ...(e.reason === undefined ? {} : { reason: e.reason }) })),
      });
      return true;
    } catch (error) {
      this.input.log.error({ pipeline: this.pipeline.name, schedule: this.schedule.name, err: error }, 'start-failed alert could not be sent');
      return false;
    }
  }

  private report(entry: SlotEntry): void {
    emitSlotEvent(this.input.log, entry);
    this.results.push({
      slot: entry.slot,
      local: entry.local,
      outcome: entry.outcome,
      ...(entry.instanceId !== undefined ? { instanceId: entry.instanceId } : {}),
      ...(entry.reason !== undefined ? { reason: entry.reason } : {}),
      claimed: true,
    });
  }

  private ageMs(slot: Slot): number {
    return this.nowMs - slot.epochMs;
  }
}
