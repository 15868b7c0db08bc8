/**
 * In-memory SchedulerStore and RunStarter with the semantics the Table-backed ones must have
 * (insert-if-absent, etag compare-and-set, "already exists" tolerated). Every call yields to the
 * event loop first, so two ticks run with Promise.all interleave the way two hosts would.
 */
import {
  PENDING_OUTCOMES,
  type RunStarter,
  type ScheduledStart,
  type ScheduleState,
  type SchedulerStore,
  type SlotEntry,
  type SlotOutcome,
  type StartFailure,
  type CheckpointChanges,
} from '../../src/scheduler/ports';
import type { RecordedSchedule } from '../../src/scheduler/owedSlots';

const yieldTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface StateRow {
  checkpoint?: string;
  schedule?: RecordedSchedule;
  paused: boolean;
  version: number;
  lastStartFailure?: StartFailure;
}

export class MemorySchedulerStore implements SchedulerStore {
  readonly states = new Map<string, StateRow>();
  readonly slots = new Map<string, SlotEntry>();
  /** Failing operations on demand, to test failure paths. */
  failNext: { op: keyof SchedulerStore; error: Error } | undefined;

  private maybeFail(op: keyof SchedulerStore): void {
    if (this.failNext?.op === op) {
      const { error } = this.failNext;
      this.failNext = undefined;
      throw error;
    }
  }

  async getScheduleState(pipeline: string, schedule: string): Promise<ScheduleState> {
    await yieldTurn();
    this.maybeFail('getScheduleState');
    const row = this.states.get(key(pipeline, schedule));
    if (!row) return { paused: false };
    return {
      ...(row.checkpoint !== undefined ? { checkpoint: row.checkpoint } : {}),
      ...(row.schedule ? { schedule: row.schedule } : {}),
      paused: row.paused,
      ...(row.lastStartFailure ? { lastStartFailure: row.lastStartFailure } : {}),
      etag: String(row.version),
    };
  }

  async setCheckpoint(pipeline: string, schedule: string, checkpoint: string, etag: string | undefined, changes: CheckpointChanges = {}): Promise<boolean> {
    const { definition, startFailure } = changes;
    await yieldTurn();
    this.maybeFail('setCheckpoint');
    const k = key(pipeline, schedule);
    const row = this.states.get(k);
    const mark = (base: StateRow): StateRow => {
      if (startFailure === undefined) return base;
      const { lastStartFailure: _old, ...rest } = base;
      return startFailure === null ? rest : { ...rest, lastStartFailure: startFailure };
    };
    if (etag === undefined) {
      if (row) return false;
      this.states.set(k, mark({ checkpoint, ...(definition ? { schedule: definition } : {}), paused: false, version: 1 }));
      return true;
    }
    if (!row || String(row.version) !== etag) return false;
    this.states.set(k, mark({ ...row, checkpoint, ...(definition ? { schedule: definition } : {}), version: row.version + 1 }));
    return true;
  }

  /** What the pause / resume API does: flips the flag, changing the row's version. */
  setPaused(pipeline: string, schedule: string, paused: boolean): void {
    const k = key(pipeline, schedule);
    const row = this.states.get(k);
    this.states.set(k, { ...(row ?? {}), paused, version: (row?.version ?? 0) + 1 });
  }

  async claimSlot(entry: SlotEntry): Promise<boolean> {
    await yieldTurn();
    this.maybeFail('claimSlot');
    const k = key(entry.pipeline, entry.schedule, entry.slot);
    if (this.slots.has(k)) return false;
    this.slots.set(k, entry);
    return true;
  }

  async transitionSlot(
    pipeline: string,
    schedule: string,
    slot: string,
    from: SlotOutcome,
    patch: Partial<Pick<SlotEntry, 'outcome' | 'reason' | 'instanceId' | 'lateBySeconds' | 'attempts' | 'updatedAt' | 'backfill'>>,
  ): Promise<boolean> {
    await yieldTurn();
    this.maybeFail('transitionSlot');
    const k = key(pipeline, schedule, slot);
    const row = this.slots.get(k);
    if (!row || row.outcome !== from) return false;
    this.slots.set(k, { ...row, ...patch });
    return true;
  }

  async getSlot(pipeline: string, schedule: string, slot: string): Promise<SlotEntry | undefined> {
    await yieldTurn();
    return this.slots.get(key(pipeline, schedule, slot));
  }

  async listPendingSlots(pipeline: string, schedule: string): Promise<SlotEntry[]> {
    await yieldTurn();
    this.maybeFail('listPendingSlots');
    return this.ledger(pipeline, schedule).filter((e) => PENDING_OUTCOMES.includes(e.outcome));
  }

  /** The schedule's ledger, oldest slot first. */
  ledger(pipeline: string, schedule: string): SlotEntry[] {
    return [...this.slots.values()]
      .filter((e) => e.pipeline === pipeline && e.schedule === schedule)
      .sort((a, b) => a.slot.localeCompare(b.slot));
  }

  /** Ledger outcomes counted: `{ missed: 71, 'caught-up': 1 }`. */
  outcomes(pipeline: string, schedule: string): Partial<Record<SlotOutcome, number>> {
    const counts: Partial<Record<SlotOutcome, number>> = {};
    for (const e of this.ledger(pipeline, schedule)) counts[e.outcome] = (counts[e.outcome] ?? 0) + 1;
    return counts;
  }
}

export interface StartedRun {
  readonly instanceId: string;
  readonly pipeline: string;
  readonly request: ScheduledStart;
  status: 'running' | 'completed';
}

/** Stands in for the durable client: instance ids are unique, whatever their status. */
export class MemoryRunStarter implements RunStarter {
  readonly runs = new Map<string, StartedRun>();
  /** Every call to start, including those answered 'already-exists'. */
  readonly calls: string[] = [];
  /** Runs of other origins (manual) that count as running. */
  readonly external = new Map<string, string>();
  /** Fail this many starts with this error, to test retries. */
  failures: { count: number; error: Error } | undefined;

  async start(request: ScheduledStart): Promise<'started' | 'already-exists'> {
    await yieldTurn();
    this.calls.push(request.instanceId);
    if (this.failures && this.failures.count > 0) {
      this.failures.count -= 1;
      throw this.failures.error;
    }
    if (this.runs.has(request.instanceId)) return 'already-exists';
    this.runs.set(request.instanceId, { instanceId: request.instanceId, pipeline: request.pipeline.name, request, status: 'running' });
    return 'started';
  }

  async runningRun(pipeline: string): Promise<string | undefined> {
    await yieldTurn();
    for (const run of this.runs.values()) if (run.pipeline === pipeline && run.status === 'running') return run.instanceId;
    return this.external.get(pipeline);
  }

  /** Ends every run still running. */
  completeAll(): void {
    for (const run of this.runs.values()) run.status = 'completed';
    this.external.clear();
  }

  started(): string[] {
    return [...this.runs.keys()];
  }
}

function key(...parts: string[]): string {
  return parts.join('|');
}

/** A logger that keeps lines for assertions. */
export class MemoryLog {
  readonly lines: { level: 'info' | 'warn' | 'error'; msg: string; fields: object }[] = [];
  info(fields: object, msg: string): void {
    this.lines.push({ level: 'info', msg, fields });
  }
  warn(fields: object, msg: string): void {
    this.lines.push({ level: 'warn', msg, fields });
  }
  error(fields: object, msg: string): void {
    this.lines.push({ level: 'error', msg, fields });
  }
}
