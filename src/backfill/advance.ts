/**
 * One pass of a backfill's driver (the `advanceBackfill` activity): settle the runs that ended,
 * start queued slots up to `maxParallel`, or, when the backfill is cancelled, cancel what is queued
 * and running. Every pass is idempotent (activities run at least once): a slot's run id is chosen
 * and written to the ledger and the backfill's row before the run starts, and starting a run that
 * exists is a no-op (startRunOnce).
 */
import type { JsonObject } from '../core/json';
import type { RunStatus } from '../engine/types';
import type { Catalog } from '../pipelines/catalog';
import { resolveParameters, runFactsAt } from '../pipelines/parameters';
import type { ScheduleDefinition } from '../pipelines/schema';
import type { SchedulerStore, SlotEntry } from '../scheduler/ports';
import { scheduledInstanceId } from '../scheduler/slots';
import type { RunTrigger } from '../steps/protocol';
import { decideSlot } from './decide';
import type { BackfillStore } from './store';
import { countSlots, type AdvanceResult, type BackfillRecord, type BackfillSlot } from './types';

export interface AdvanceLog {
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
}

export interface AdvancePorts {
  readonly backfills: Pick<BackfillStore, 'get' | 'slots' | 'updateSlot' | 'transition'>;
  readonly ledger: Pick<SchedulerStore, 'claimSlot' | 'transitionSlot'> & { getSlot(pipeline: string, schedule: string, slot: string): Promise<SlotEntry | undefined> };
  readonly catalog: Pick<Catalog, 'get'>;
  /** The run's status (Durable first, then the run store); undefined when no such run exists. */
  runStatus(runId: string): Promise<RunStatus | undefined>;
  /** Starts the run unless an instance with its id exists (app/durableStarter.ts startRunOnce). */
  startRun(start: { pipeline: string; runId: string; trigger: RunTrigger; parameters: JsonObject }): Promise<void>;
  /** Asks a run to cancel, the way `POST /runs/{id}/cancel` does. */
  cancelRun(runId: string, reason: string): Promise<void>;
  readonly now: () => Date;
  readonly log: AdvanceLog;
}

const ENDED: readonly RunStatus[] = ['succeeded', 'failed', 'cancelled'];

/**
 * The run id of a backfill's new run for a slot that already had one: the slot's scheduled id with
 * the backfill's id, so the old run stays readable and a retried pass lands on the same new run.
 */
export function rerunInstanceId(pipeline: string, schedule: string, slot: string, backfillId: string): string {
  return scheduledInstanceId(pipeline, `${schedule}~${backfillId}`, slot);
}

export async function advanceBackfill(backfillId: string, ports: AdvancePorts): Promise<AdvanceResult> {
  const record = await ports.backfills.get(backfillId);
  if (!record) throw new Error(`no backfill "${backfillId}"`);
  let slots = await ports.backfills.slots(backfillId);
  const finished = (state: AdvanceResult['state']): AdvanceResult => ({ state, counts: countSlots(slots), finished: true });
  if (record.state === 'done' || record.state === 'cancelled') return finished(record.state);
  const nowIso = () => ports.now().toISOString();
  const update = async (slot: BackfillSlot, patch: Omit<Parameters<BackfillStore['updateSlot']>[2], 'updatedAt'>): Promise<void> => {
    await ports.backfills.updateSlot(backfillId, slot.slot, { ...patch, updatedAt: nowIso() });
    slots = slots.map((s) => (s.slot === slot.slot ? { ...s, ...patch, updatedAt: nowIso() } : s));
  };

  // 1. Runs that ended since the last pass.
  for (const slot of slots) {
    if (slot.state !== 'running' || slot.runId === undefined) continue;
    const status = await ports.runStatus(slot.runId);
    if (status !== undefined && ENDED.includes(status)) await update(slot, { state: status as 'succeeded' | 'failed' | 'cancelled' });
  }

  // 2. Cancelled: nothing more starts; what runs is asked to stop.
  if (record.state === 'cancelling') {
    const reason = `backfill ${backfillId} cancelled${record.cancelledBy ? ` by ${record.cancelledBy}` : ''}`;
    for (const slot of slots) {
      if (slot.state === 'queued') await update(slot, { state: 'cancelled', reason });
      else if ((slot.state === 'running' || slot.state === 'starting') && slot.runId !== undefined) await ports.cancelRun(slot.runId, reason);
    }
    if (slots.some((s) => s.state === 'running' || s.state === 'starting')) return { state: 'cancelling', counts: countSlots(slots), finished: false };
    await ports.backfills.transition(backfillId, ['cancelling'], { state: 'cancelled', endedAt: nowIso() });
    return finished('cancelled');
  }

  // 3. Start queued slots, oldest first, up to maxParallel at once.
  const pipeline = ports.catalog.get(record.pipeline);
  const schedule = pipeline?.schedules.find((s) => s.name === record.schedule);
  for (const slot of slots) {
    const active = slots.filter((s) => s.state === 'running' || s.state === 'starting').length;
    if (slot.state === 'starting') await startSlot(record, slot, schedule, ports, update);
    else if (slot.state === 'queued' && active < record.maxParallel) {
      if (!pipeline || !schedule) {
        await update(slot, { state: 'skipped', reason: `pipeline ${record.pipeline} or its schedule ${record.schedule} is no longer deployed` });
        continue;
      }
      await claimSlot(record, slot, ports, update);
      const claimed = slots.find((s) => s.slot === slot.slot);
      if (claimed?.state === 'starting') await startSlot(record, claimed, schedule, ports, update);
    }
  }

  if (slots.some((s) => s.state === 'queued' || s.state === 'running' || s.state === 'starting')) return { state: 'running', counts: countSlots(slots), finished: false };
  // Everything settled; a cancel that came meanwhile loses to "done" only if it came too late to matter.
  await ports.backfills.transition(backfillId, ['running'], { state: 'done', endedAt: nowIso() });
  const after = await ports.backfills.get(backfillId);
  return finished(after?.state === 'cancelling' || after?.state === 'cancelled' ? 'cancelled' : 'done');
}

type Update = (slot: BackfillSlot, patch: Omit<Parameters<BackfillStore['updateSlot']>[2], 'updatedAt'>) => Promise<void>;

/** Decides the slot against the ledger and, if it gets a run, writes the run id to the ledger first. */
async function claimSlot(record: BackfillRecord, slot: BackfillSlot, ports: AdvancePorts, update: Update): Promise<void> {
  const nowIso = ports.now().toISOString();
  // Two tries: a claim lost to the scheduler (or another backfill) is decided again on what won.
  for (let attempt = 0; attempt < 2; attempt += 1) {
    const row = await ports.ledger.getSlot(record.pipeline, record.schedule, slot.slot);
    let decision = decideSlot(record.mode, row);
    if (decision.action === 'ask') decision = decideSlot(record.mode, row, (await ports.runStatus(decision.runId)) ?? 'unknown');
    if (decision.action === 'skip') return update(slot, { state: 'skipped', reason: decision.reason });
    if (decision.action === 'ask') return; // unreachable: a status was given
    const runId = decision.rerunOf ? rerunInstanceId(record.pipeline, record.schedule, slot.slot, record.id) : scheduledInstanceId(record.pipeline, record.schedule, slot.slot);
    const reason = decision.rerunOf ? `rerun of ${decision.rerunOf} by backfill ${record.id}` : row ? `backfill ${record.id} (was ${row.outcome})` : `backfill ${record.id}`;
    const patch = { outcome: 'backfilled' as const, instanceId: runId, backfill: record.id, reason, updatedAt: nowIso };
    const won = row
      ? await ports.ledger.transitionSlot(record.pipeline, record.schedule, slot.slot, row.outcome, patch)
      : await ports.ledger.claimSlot({
          pipeline: record.pipeline, schedule: record.schedule, slot: slot.slot, local: slot.local, scheduledLocal: slot.scheduledLocal,
          dst: slot.dst, lateBySeconds: Math.max(0, Math.round((Date.parse(nowIso) - Date.parse(slot.slot)) / 1000)), attempts: 1, recordedAt: nowIso, ...patch,
        });
    if (won) return update(slot, { state: 'starting', runId, ...(decision.rerunOf ? { rerunOf: decision.rerunOf } : {}), reason });
  }
  await update(slot, { state: 'skipped', reason: 'the ledger row kept changing under the backfill; re-issue it to try again' });
}

async function startSlot(record: BackfillRecord, slot: BackfillSlot, schedule: ScheduleDefinition | undefined, ports: AdvancePorts, update: Update): Promise<void> {
  if (slot.runId === undefined) return update(slot, { state: 'queued' });
  const pipeline = ports.catalog.get(record.pipeline);
  if (!pipeline || !schedule) return update(slot, { state: 'failed', reason: `pipeline ${record.pipeline} or its schedule ${record.schedule} is no longer deployed` });
  // The slot's logical date, as the live schedule would have given it.
  const parameters = resolveParameters(pipeline, record.parameters, schedule.parameters, runFactsAt(slot.slot));
  if (!parameters.ok) return update(slot, { state: 'failed', reason: `invalid parameters: ${parameters.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}` });
  await ports.startRun({
    pipeline: record.pipeline,
    runId: slot.runId,
    trigger: { kind: 'backfill', origin: record.id, scheduledFor: slot.slot, ...(record.createdBy ? { by: record.createdBy } : {}) },
    parameters: parameters.parameters,
  });
  ports.log.info({ event: 'backfill.slot.started', backfill: record.id, pipeline: record.pipeline, schedule: record.schedule, slot: slot.slot, runId: slot.runId }, 'backfill started a run');
  await update(slot, { state: 'running' });
}
