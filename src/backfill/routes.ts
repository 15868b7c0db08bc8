/**
 * The backfill routes of the HTTP API (src/api/routes.ts lists them in its table):
 *
 * - `POST /api/pipelines/{name}/backfills` `{ schedule?, from, to, maxParallel?, mode?, parameters?, dryRun? }`:
 *   202 with the backfill's id and slots (its driver starts); with `dryRun`, 200 with what each slot
 *   would get, nothing started;
 * - `GET /api/backfills[?pipeline=]`, `GET /api/backfills/{id}`: progress (queued, running,
 *   succeeded, failed, cancelled, skipped) and each slot's run;
 * - `POST /api/backfills/{id}/cancel`: no more slots start; running runs are asked to cancel.
 *
 * A backfill belongs to its pipeline's project: a caller who may not read that project gets the
 * 404 of an unknown pipeline or backfill and never sees it listed; one who reads but may not
 * operate it is refused starting or cancelling with a 403 (src/api/projectScope.ts).
 */
import type { HttpResponseInit } from '@azure/functions';
import { z } from 'zod';
import { findInstance } from '../app/durableStarter';
import { callerLabel, type Caller } from '../auth/roles';
import type { JsonObject } from '../core/json';
import { resolveParameters, runFactsAt } from '../pipelines/parameters';
import { namedRecord } from '../pipelines/names';
import type { PipelineDefinition } from '../pipelines/schema';
import { API_HEADERS, ApiProblem, conflict, notFound } from '../api/problem';
import type { ApiDeps } from '../api/ports';
import { readBody, readQuery, type ApiRequest } from '../api/request';
import { emptyBody, projectsFilter, REPEATABLE_FILTERS, tagsFilter } from '../api/schemas';
import { statusFromDurable } from '../api/runView';
import { mayRead } from '../auth/roles';
import { projectOfPipeline, requireOperate, requireRead, visiblePipelineOr404 } from '../api/projectScope';
import { decideSlot } from './decide';
import { backfillRange } from './range';
import type { BackfillStore } from './store';
import { BACKFILL_MODES, BACKFILL_ORCHESTRATOR, backfillInstanceId, countSlots, type BackfillRecord, type BackfillSlot } from './types';

export const MAX_BACKFILL_PARALLEL = 20;

export const startBackfillBody = z
  .object({
    /** Default: the pipeline's only schedule. */
    schedule: z.string().min(1).optional(),
    from: z.string().min(1),
    to: z.string().min(1),
    maxParallel: z.number().int().min(1).max(MAX_BACKFILL_PARALLEL).default(1),
    mode: z.enum(BACKFILL_MODES).default('missing'),
    parameters: namedRecord(z.json(), 'parameter').optional(),
    dryRun: z.boolean().default(false),
  })
  .strict();

export const listBackfillsQuery = z
  .object({
    pipeline: z.string().min(1).optional(),
    /** Backfills of any of these projects' pipelines. */
    project: projectsFilter,
    /** Backfills whose runs carry every one of these tags (their pipeline's and schedule's). */
    tag: tagsFilter,
    limit: z.string().regex(/^\d+$/, 'expected a whole number').transform(Number).pipe(z.number().int().min(1).max(100)).default(20),
  })
  .strict();

const BACKFILL_ID = /^bf-[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$/;

/** `backfills` is undefined without a run store: backfills are refused (they need the slot ledger). */
export type BackfillDeps = ApiDeps;

const json = (status: number, body: unknown): HttpResponseInit => ({ status, headers: { ...API_HEADERS, 'content-type': 'application/json' }, body: JSON.stringify(body) });

const invalid = (field: string, message: string): ApiProblem => new ApiProblem(400, 'Invalid input', `${field}: ${message}`, [{ field, message }]);

function storeOr503(deps: BackfillDeps): BackfillStore {
  if (!deps.backfills) throw new ApiProblem(503, 'Run store not configured', 'backfills need the run store (RUN_STORE_TABLE_URL or RUN_STORE_CONNECTION_STRING): its slot ledger keeps each slot to one run');
  return deps.backfills;
}

function pickSchedule(pipeline: PipelineDefinition, name: string | undefined): PipelineDefinition['schedules'][number] {
  const names = pipeline.schedules.map((s) => s.name);
  if (name === undefined) {
    const only = pipeline.schedules[0];
    if (only && pipeline.schedules.length === 1) return only;
    if (!only) throw invalid('body.schedule', `pipeline "${pipeline.name}" has no schedule: a backfill reruns a schedule's slots`);
    throw invalid('body.schedule', `pipeline "${pipeline.name}" has several schedules: name one (${names.join(', ')})`);
  }
  const schedule = pipeline.schedules.find((s) => s.name === name);
  if (!schedule) throw invalid('body.schedule', `pipeline "${pipeline.name}" has no schedule "${name}" (has: ${names.join(', ') || 'none'})`);
  return schedule;
}

function view(record: BackfillRecord, slots: readonly BackfillSlot[], deps: ApiDeps): unknown {
  return {
    ...record,
    project: projectOfPipeline(deps.catalog, record.pipeline),
    counts: countSlots(slots),
    slots: slots.map((s) => ({ slot: s.slot, local: s.local, ...(s.dst ? { dst: s.dst } : {}), state: s.state, runId: s.runId ?? null, ...(s.rerunOf ? { rerunOf: s.rerunOf } : {}), ...(s.reason ? { reason: s.reason } : {}), updatedAt: s.updatedAt })),
    links: { self: `${deps.baseUrl ?? ''}/api/backfills/${record.id}`, cancel: `${deps.baseUrl ?? ''}/api/backfills/${record.id}/cancel` },
  };
}

function backfillIdOr404(request: ApiRequest): string {
  const id = request.params['backfillId'] ?? '';
  if (!BACKFILL_ID.test(id)) throw notFound(`no backfill "${id}"`);
  return id;
}

export function backfillHandlers(deps: BackfillDeps) {
  const start = async (request: ApiRequest, caller?: Caller): Promise<HttpResponseInit> => {
    const pipeline = visiblePipelineOr404(deps.catalog, request.params['name'], caller);
    requireOperate(deps.catalog, caller, pipeline.project, `no pipeline named "${pipeline.name}"`);
    const body = await readBody(request, startBackfillBody);
    const schedule = pickSchedule(pipeline, body.schedule);
    const now = deps.now();
    const range = backfillRange(schedule, body.from, body.to, now);
    if (Array.isArray(range)) {
      throw new ApiProblem(400, 'Invalid range', range.map((p) => p.message).join('; '), range.map((p) => ({ field: p.field === 'range' ? 'body' : `body.${p.field}`, message: p.message })));
    }
    // The parameters must make a run for every slot; checked on the first slot's logical date.
    const parameters: JsonObject = (body.parameters ?? {});
    const first = range.slots[0];
    const resolved = resolveParameters(pipeline, parameters, schedule.parameters, runFactsAt(first?.utc ?? now));
    if (!resolved.ok) {
      throw new ApiProblem(400, 'Invalid parameters', resolved.problems.map((p) => `${p.path}: ${p.message}`).join('; '), resolved.problems.map((p) => ({ field: `body.${p.path}`, message: p.message })));
    }
    const store = storeOr503(deps);
    if (body.dryRun) {
      const plan = await Promise.all(
        range.slots.map(async (slot) => {
          const row = await deps.slotLedger?.getSlot(pipeline.name, schedule.name, slot.utc);
          let decision = decideSlot(body.mode, row);
          if (decision.action === 'ask') decision = decideSlot(body.mode, row, (await deps.runs.getRun(decision.runId))?.status ?? 'unknown');
          const would = decision.action === 'start' ? (decision.rerunOf ? `rerun ${decision.rerunOf}` : 'run') : decision.action === 'skip' ? `skip: ${decision.reason}` : 'run';
          return { slot: slot.utc, local: slot.local, ...(slot.dst ? { dst: slot.dst } : {}), would };
        }),
      );
      return json(200, { dryRun: true, pipeline: pipeline.name, schedule: schedule.name, timezone: schedule.timezone, from: range.from, to: range.to, cutAtNow: range.cutAtNow, slots: plan });
    }
    const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    const id = `bf-${stamp}-${deps.randomSuffix()}`;
    const record: BackfillRecord = {
      id, pipeline: pipeline.name, schedule: schedule.name, from: range.from, to: range.to, mode: body.mode, maxParallel: body.maxParallel,
      parameters, state: 'running', ...(caller ? { createdBy: callerLabel(caller) } : {}), createdAt: now.toISOString(), slotCount: range.slots.length,
    };
    const slots: BackfillSlot[] = range.slots.map((s) => ({ slot: s.utc, local: s.local, scheduledLocal: s.scheduledLocal, dst: s.dst, state: 'queued', updatedAt: record.createdAt }));
    await store.create(record, slots);
    await deps.durable.startNew(BACKFILL_ORCHESTRATOR, { instanceId: backfillInstanceId(id), input: { backfillId: id } });
    return json(202, { ...(view(record, slots, deps) as object), cutAtNow: range.cutAtNow });
  };

  const list = async (request: ApiRequest, caller?: Caller): Promise<HttpResponseInit> => {
    const query = readQuery(request, listBackfillsQuery, REPEATABLE_FILTERS);
    if (query.pipeline !== undefined) visiblePipelineOr404(deps.catalog, query.pipeline, caller);
    for (const project of query.project ?? []) {
      if (deps.catalog.project(project) === undefined || !mayRead(caller, project)) throw notFound(`no project named "${project}"`);
    }
    const store = storeOr503(deps);
    const keep = (r: BackfillRecord): boolean => {
      const project = projectOfPipeline(deps.catalog, r.pipeline);
      if (!mayRead(caller, project) || (query.project !== undefined && !query.project.includes(project))) return false;
      const pipeline = deps.catalog.get(r.pipeline);
      const carried = [...(pipeline?.tags ?? []), ...(pipeline?.schedules.find((s) => s.name === r.schedule)?.tags ?? [])];
      return (query.tag ?? []).every((t) => carried.includes(t));
    };
    const records = await store.list({ ...(query.pipeline ? { pipeline: query.pipeline } : {}), limit: query.limit, keep });
    const withCounts = await Promise.all(records.map(async (r) => ({ ...r, project: projectOfPipeline(deps.catalog, r.pipeline), counts: countSlots(await store.slots(r.id)) })));
    return json(200, { backfills: withCounts });
  };

  const get = async (request: ApiRequest, caller?: Caller): Promise<HttpResponseInit> => {
    const id = backfillIdOr404(request);
    const store = storeOr503(deps);
    const record = await store.get(id);
    if (!record) throw notFound(`no backfill "${id}"`);
    requireRead(caller, projectOfPipeline(deps.catalog, record.pipeline), `no backfill "${id}"`);
    return json(200, view(record, await store.slots(id), deps));
  };

  const cancel = async (request: ApiRequest, caller?: Caller): Promise<HttpResponseInit> => {
    const id = backfillIdOr404(request);
    await readBody(request, emptyBody);
    const store = storeOr503(deps);
    const record = await store.get(id);
    if (!record) throw notFound(`no backfill "${id}"`);
    requireOperate(deps.catalog, caller, projectOfPipeline(deps.catalog, record.pipeline), `no backfill "${id}"`);
    if (record.state === 'done') throw conflict(`backfill "${id}" has finished: every slot was settled`);
    // Idempotent like a run's cancel: a repeated request gets the same answer.
    if (record.state === 'running') {
      await store.transition(id, ['running'], { state: 'cancelling', cancelledBy: caller ? callerLabel(caller) : 'unknown' });
      // A driver that already ended (its orchestration failed or was purged) cannot read the flag.
      const driver = await findInstance(deps.durable, backfillInstanceId(id));
      if (!driver || ['completed', 'failed', 'cancelled'].includes(statusFromDurable(driver))) {
        await deps.durable.startNew(BACKFILL_ORCHESTRATOR, { instanceId: backfillInstanceId(id), input: { backfillId: id } });
      }
    }
    const after = (await store.get(id)) ?? record;
    return json(202, { id, state: after.state, cancelledBy: after.cancelledBy ?? null, links: { self: `${deps.baseUrl ?? ''}/api/backfills/${id}` } });
  };

  return { start, list, get, cancel };
}
