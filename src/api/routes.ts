/**
 * The HTTP API: one table of routes over plain handlers. Registration (src/functions/api.ts) and
 * the development host serve this same table.
 */
import { carriedSteps, failedStepIds, withItems } from '../runs/rerunPlan';
import { parentLink, withChildRuns } from './runLinks';
import type { HttpMethod, HttpResponseInit } from '@azure/functions';
import { findInstance, startRunOnce } from '../app/durableStarter';
import type { RunState } from '../engine/types';
import { resolveParameters, runFactsAt } from '../pipelines/parameters';
import { diffDefinitions } from '../pipelines/definitionDiff';
import type { PipelineDefinition } from '../pipelines/schema';
import { definitionVersion } from '../pipelines/version';
import { previewSchedule } from '../scheduler/preview';
import { scheduleStateWord } from '../core/scheduleState';
import type { RunTrigger } from '../steps/protocol';
import { logger } from '../logging/logger';
import { maskCredentials } from '../logging/serviceCredentials';
import { MAX_JSON_CHARS } from '../runs/entities';
import { callerLabel, mayOperate, readableProjects, type Access, type Caller } from '../auth/roles';
import { openApiDocument } from './openapi';
import { backfillHandlers } from '../backfill/routes';
import { approvalHandlers } from '../steps/approval/routes';
import { triggerHandlers } from '../triggers/routes';
import { eventGridHandler } from '../triggers/eventGrid';
import { pipelinesVisibleTo, projectOfRun, requireOperate, requireRead, visiblePipelineOr404 } from './projectScope';
import { emptyBody, listPipelinesQuery, listRunsQuery, logsQuery, REPEATABLE_FILTERS, rerunBody, runViewQuery, slotsQuery, startRunBody } from './schemas';
import type { ApiDeps, HealthCheck } from './ports';
import { API_HEADERS, ApiProblem, conflict, notFound, problemResponse } from './problem';
import { readBody, readQuery, type ApiRequest } from './request';
import { idempotentRerunId, idempotentRunId, newRunId, rerunKeyScope, RUN_ID_PATTERN } from './runIds';
import { requestFingerprint } from './fingerprint';
import type { RunRecord } from '../runs/recorder';
import { closeTerminatedRun, terminatedOutsideApi } from './terminatedRuns';
import { isTerminal, mergeRunView, stateFromDurable, statusFromDurable, withoutItems, type RunView } from './runView';

export interface RouteSpec {
  readonly name: RouteName;
  readonly methods: readonly HttpMethod[];
  /** Functions route template, under /api (the key door) and /api/console (the console door). */
  readonly route: string;
  readonly authLevel: 'anonymous' | 'function';
  /** Who may call it (api/access.ts): keys act as Operate; users need the app role. */
  readonly access: Access;
}

export interface Route extends RouteSpec {
  /** `caller` is undefined only for public routes. */
  readonly handle: (request: ApiRequest, caller?: Caller) => Promise<HttpResponseInit>;
}

/** Every route of the API; registration and the OpenAPI document follow this table. */
export const ROUTE_TABLE = [
  { name: 'listPipelines', methods: ['GET'], route: 'pipelines', authLevel: 'function', access: 'read' },
  { name: 'startRun', methods: ['POST'], route: 'pipelines/{name}/runs', authLevel: 'function', access: 'operate' },
  { name: 'pauseSchedule', methods: ['POST'], route: 'pipelines/{name}/schedules/{schedule}/pause', authLevel: 'function', access: 'operate' },
  { name: 'resumeSchedule', methods: ['POST'], route: 'pipelines/{name}/schedules/{schedule}/resume', authLevel: 'function', access: 'operate' },
  { name: 'listScheduleSlots', methods: ['GET'], route: 'pipelines/{name}/schedules/{schedule}/slots', authLevel: 'function', access: 'read' },
  { name: 'listRuns', methods: ['GET'], route: 'runs', authLevel: 'function', access: 'read' },
  { name: 'getRun', methods: ['GET'], route: 'runs/{runId}', authLevel: 'function', access: 'read' },
  { name: 'getRunLogs', methods: ['GET'], route: 'runs/{runId}/logs', authLevel: 'function', access: 'read' },
  { name: 'getRunDefinition', methods: ['GET'], route: 'runs/{runId}/definition', authLevel: 'function', access: 'read' },
  { name: 'cancelRun', methods: ['POST'], route: 'runs/{runId}/cancel', authLevel: 'function', access: 'operate' },
  { name: 'rerunRun', methods: ['POST'], route: 'runs/{runId}/rerun', authLevel: 'function', access: 'operate' },
  { name: 'startBackfill', methods: ['POST'], route: 'pipelines/{name}/backfills', authLevel: 'function', access: 'operate' },
  { name: 'listBackfills', methods: ['GET'], route: 'backfills', authLevel: 'function', access: 'read' },
  { name: 'getBackfill', methods: ['GET'], route: 'backfills/{backfillId}', authLevel: 'function', access: 'read' },
  { name: 'cancelBackfill', methods: ['POST'], route: 'backfills/{backfillId}/cancel', authLevel: 'function', access: 'operate' },
  { name: 'approveStep', methods: ['POST'], route: 'runs/{runId}/steps/{stepId}/approve', authLevel: 'function', access: 'operate' },
  { name: 'rejectStep', methods: ['POST'], route: 'runs/{runId}/steps/{stepId}/reject', authLevel: 'function', access: 'operate' },
  { name: 'listApprovals', methods: ['GET'], route: 'approvals', authLevel: 'function', access: 'read' },
  { name: 'blobCreatedEvents', methods: ['POST'], route: 'events/blob-created', authLevel: 'function', access: 'events' },
  { name: 'triggerHistory', methods: ['GET'], route: 'pipelines/{name}/triggers/{trigger}/history', authLevel: 'function', access: 'read' },
  { name: 'whoAmI', methods: ['GET'], route: 'me', authLevel: 'function', access: 'signedIn' },
  { name: 'health', methods: ['GET'], route: 'health', authLevel: 'function', access: 'read' },
  { name: 'openApi', methods: ['GET'], route: 'openapi.json', authLevel: 'anonymous', access: 'public' },
] as const satisfies readonly { name: string; methods: readonly HttpMethod[]; route: string; authLevel: 'anonymous' | 'function'; access: Access }[];

export type RouteName = (typeof ROUTE_TABLE)[number]['name'];

/** How long one run of the health checks answers every caller (wall time). */
export const HEALTH_TTL_MS = 30_000;

interface HealthAnswer {
  readonly name: string;
  readonly ok: boolean;
  readonly detail?: string;
  readonly missing?: readonly string[];
}

/**
 * The latest run of each set of checks. Kept beside the routes, not in them: the Functions
 * registration builds the routes for every request (src/functions/api.ts), while the checks of one
 * app are one array (api/fromServices.ts builds them once per services).
 */
const healthRuns = new WeakMap<readonly HealthCheck[], { at: number; checks: Promise<HealthAnswer[]>; settled: boolean }>();

// ── Handlers ──────────────────────────────────────────────────────────────────────────────────────

const json = (status: number, body: unknown, headers: Record<string, string> = {}): HttpResponseInit => ({
  status,
  headers: { ...API_HEADERS, 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

const pipelineOr404 = (deps: ApiDeps, name: string | undefined, caller: Caller | undefined): PipelineDefinition => visiblePipelineOr404(deps.catalog, name, caller);
const visiblePipelines = (deps: ApiDeps, caller: Caller | undefined): PipelineDefinition[] => pipelinesVisibleTo(deps.catalog, caller);

/** Keeps what carries every one of `tags` (none given: everything). */
const hasTags = (tags: readonly string[] | undefined) => (carried: readonly string[]): boolean => (tags ?? []).every((t) => carried.includes(t));

function scheduleOr404(pipeline: PipelineDefinition, name: string | undefined): PipelineDefinition['schedules'][number] {
  const schedule = pipeline.schedules.find((s) => s.name === name);
  if (!schedule) throw notFound(`pipeline "${pipeline.name}" has no schedule "${name ?? ''}" (has: ${pipeline.schedules.map((s) => s.name).join(', ') || 'none'})`);
  return schedule;
}

/** Who started a run, on its trigger: `user:…` or `key`. */
const by = (caller: Caller | undefined): { by?: string } => (caller ? { by: callerLabel(caller) } : {});

function runIdOr404(request: ApiRequest): string {
  const runId = request.params['runId'] ?? '';
  if (!RUN_ID_PATTERN.test(runId)) throw notFound(`no run "${runId}"`);
  return runId;
}

function links(deps: ApiDeps, runId: string): Record<string, string> {
  const base = `${deps.baseUrl ?? ''}/api/runs/${runId}`;
  return { self: base, logs: `${base}/logs`, definition: `${base}/definition`, cancel: `${base}/cancel`, rerun: `${base}/rerun` };
}

export function createRoutes(deps: ApiDeps): Route[] {
  // With the scheduler off nothing fires: the listing says so per schedule (state `scheduler off`,
  // no next run), in the one word the CLI and the console both show; previews still tell when.
  const schedulerEnabled = deps.schedulerEnabled ?? true;

  const listPipelines = async (request: ApiRequest, caller?: Caller): Promise<HttpResponseInit> => {
    const query = readQuery(request, listPipelinesQuery, REPEATABLE_FILTERS);
    const visible = visiblePipelines(deps, caller);
    for (const project of query.project ?? []) {
      if (!visible.some((p) => p.project === project) && !readableProject(project, caller)) throw notFound(`no project named "${project}"`);
    }
    // A pipeline matches a tag when it or one of its schedules carries it (a schedule's runs do).
    const chosen = visible.filter((p) => (query.project === undefined || query.project.includes(p.project)) && hasTags(query.tag)([...p.tags, ...p.schedules.flatMap((s) => s.tags)]));
    const now = deps.now();
    const pipelines = await Promise.all(
      chosen.map(async (p) => {
        const [lastRun, schedules] = await Promise.all([
          deps.runs.listRuns({ pipeline: p.name, limit: 1 }).then((page) => {
            const last = page.runs[0];
            return last === undefined || isTerminal(last.status) ? last : closedIfTerminated(last);
          }),
          Promise.all(
            p.schedules.map(async (s) => {
              const { paused, lastStartFailure } = await deps.schedules.getScheduleState(p.name, s.name);
              const state = scheduleStateWord({ enabled: s.enabled, paused, schedulerEnabled, failing: lastStartFailure !== undefined });
              // When the schedule would fire (not disabled or paused), even with the scheduler off:
              // `state` says whether it will; the console shows it as "would fire", the CLI hides it.
              const next = state !== 'disabled' && state !== 'paused' ? previewSchedule(s, { from: now, count: 1 })[0] : undefined;
              return {
                name: s.name,
                cron: s.cron,
                timezone: s.timezone,
                enabled: s.enabled,
                paused,
                state,
                lastStartFailure: lastStartFailure ?? null,
                tags: s.tags,
                catchUp: s.catchUp,
                overlap: s.overlap,
                nextRun: next ? { utc: next.utc, local: next.local, dst: next.dst } : null,
              };
            }),
          ),
        ]);
        return {
          name: p.name,
          title: p.title,
          description: p.description,
          project: p.project,
          // Whether the caller may start it: the console shows the Run button by it.
          canOperate: mayOperate(caller, p.project) && !(deps.readOnly ?? false),
          tags: p.tags,
          pools: p.pools,
          parameters: p.parameters,
          steps: p.steps.map((s) => ({
            id: s.id,
            kind: s.kind,
            title: s.title ?? s.id,
            dependsOn: s.dependsOn,
            retry: s.retry,
            timeout: s.timeout ?? null,
            pools: s.pools,
            // The pipeline language (docs/pipelines.md), only where a step uses it.
            ...(s.conditions ? { conditions: s.conditions } : {}),
            ...(s.when ? { when: s.when } : {}),
            ...(s.forEach ? { forEach: s.forEach } : {}),
            // A pipeline step: the pipeline it runs (docs/pipelines.md, section 4).
            ...(s.kind === 'pipeline' ? { calls: s.pipeline } : {}),
          })),
          pipelineRetry: p.pipelineRetry,
          schedules,
          lastRun: lastRun ? { runId: lastRun.runId, status: lastRun.status, createdAt: lastRun.createdAt, endedAt: lastRun.endedAt ?? null } : null,
        };
      }),
    );
    const projects = deps.catalog.projects
      .filter((p) => readableProject(p.name, caller))
      .map((p) => ({ name: p.name, title: p.title ?? p.name, description: p.description, canOperate: mayOperate(caller, p.name) && !(deps.readOnly ?? false) }));
    return json(200, { schedulerEnabled, projects, pipelines });
  };

  const readableProject = (project: string, caller: Caller | undefined): boolean => {
    const readable = readableProjects(caller, deps.catalog.projects.map((p) => p.name));
    return deps.catalog.project(project) !== undefined && (readable === undefined || readable.includes(project));
  };

  const startPipelineRun = async (request: ApiRequest, caller?: Caller): Promise<HttpResponseInit> => {
    const pipeline = pipelineOr404(deps, request.params['name'], caller);
    requireOperate(deps.catalog, caller, pipeline.project, `no pipeline named "${pipeline.name}"`);
    const body = await readBody(request, startRunBody);
    const now = deps.now();
    // A parameter that defaults to the run's logical date takes the request's (UTC) date.
    const params = resolveParameters(pipeline, body.parameters ?? {}, {}, runFactsAt(now));
    if (!params.ok) {
      throw new ApiProblem(400, 'Invalid parameters', params.problems.map((p) => `${p.path}: ${p.message}`).join('; '),
        params.problems.map((p) => ({ field: `body.${p.path}`, message: p.message })));
    }
    refuseUnstorable(params.parameters);
    let runId = body.idempotencyKey ? idempotentRunId(pipeline.name, body.idempotencyKey) : newRunId(pipeline.name, now, deps.randomSuffix());
    // The request as sent (not as resolved: a default `day` changes at midnight, a retry must not).
    if (body.idempotencyKey) {
      runId = await deps.idempotency
        .claim(pipeline.name, body.idempotencyKey, runId, requestFingerprint({ start: pipeline.name, parameters: body.parameters ?? {} }))
        .catch(keyReusedProblem('body.idempotencyKey', 'other parameters'));
    }
    // The request's instant is the run's logical date (`{ run: 'logicalDate' }`) when no schedule gave one.
    const trigger: RunTrigger = { kind: 'manual', origin: 'api', requestedAt: now.toISOString(), ...by(caller), ...(body.tags && body.tags.length > 0 ? { tags: body.tags } : {}) };
    const created = await startRunOnce(deps.durable, { pipeline, runId, trigger, parameters: params.parameters }, deps.starts);
    return json(202, { runId, pipeline: pipeline.name, created, links: links(deps, runId) }, { location: links(deps, runId)['self'] ?? '' });
  };

  const listRuns = async (request: ApiRequest, caller?: Caller): Promise<HttpResponseInit> => {
    const query = readQuery(request, listRunsQuery, REPEATABLE_FILTERS);
    if (query.pipeline) pipelineOr404(deps, query.pipeline, caller);
    for (const project of query.project ?? []) if (!readableProject(project, caller)) throw notFound(`no project named "${project}"`);
    // A caller who reads only some projects lists those: the store walks each one's index (no scan).
    const readable = readableProjects(caller, deps.catalog.projects.map((p) => p.name));
    const projects = query.project ?? readable;
    if (query.since && query.until && Date.parse(query.since) > Date.parse(query.until)) {
      throw new ApiProblem(400, 'Invalid input', 'since is after until', [{ field: 'query.since', message: 'must not be after until' }]);
    }
    // A cursor is a position in one list: the filters it was issued under (not the page size).
    const sorted = (list: readonly string[] | undefined) => (list === undefined ? null : [...new Set(list)].sort());
    const scope = JSON.stringify([query.pipeline ?? null, query.status ?? null, instantOrNull(query.since), instantOrNull(query.until), sorted(projects), sorted(query.tag)]);
    let cursor: string | undefined;
    if (query.cursor !== undefined) {
      cursor = deps.cursors.verify(query.cursor, scope);
      if (cursor === undefined) {
        const message = 'not a cursor this API issued for these filters (pipeline, project, tag, status, since, until): keep the filters of the page that gave it, or start without a cursor';
        throw new ApiProblem(400, 'Invalid input', `query.cursor: ${message}`, [{ field: 'query.cursor', message }]);
      }
    }
    const { cursor: _signed, project: _asked, tag, ...filters } = query;
    if (projects !== undefined && projects.length === 0) return json(200, { runs: [], nextCursor: null });
    const page = await deps.runs
      .listRuns({ ...filters, ...(projects === undefined ? {} : { projects }), ...(tag === undefined ? {} : { tags: tag }), ...(cursor === undefined ? {} : { cursor }) })
      .catch(cursorProblem('query.cursor'));
    // Only the runs not ended in the store are asked about: those Durable terminated are closed here (F9c).
    const runs = await Promise.all(page.runs.map((record) => (isTerminal(record.status) ? Promise.resolve(record) : closedIfTerminated(record))));
    return json(200, { runs: runs.map((r) => (r.error === undefined ? r : { ...r, error: maskCredentials(r.error) })), nextCursor: page.nextCursor === undefined ? null : deps.cursors.sign(page.nextCursor, scope), ...(page.partial ? { partial: true } : {}) });
  };

  /** A listed run not ended in the store: closed when Durable terminated it (F9c), as it is otherwise. */
  const closedIfTerminated = async (record: RunRecord): Promise<RunRecord> => {
    if (!deps.endings) return record;
    const status = await findInstance(deps.durable, record.runId);
    return terminatedOutsideApi(record, status) && status ? closeTerminatedRun(deps.endings, record, status) : record;
  };

  const getRun = async (request: ApiRequest, caller?: Caller): Promise<HttpResponseInit> => {
    const runId = runIdOr404(request);
    const { items } = readQuery(request, runViewQuery);
    // Read before the stores: everything that happened before `asOf` is in this view, so a client
    // merging it with the run's log (`--follow`) can hold back later log lines and print in order.
    const asOf = deps.now().toISOString();
    const [stored, attempts, status] = await Promise.all([deps.runs.getRun(runId), deps.runs.getAttempts(runId), findInstance(deps.durable, runId)]);
    const record = stored && deps.endings && terminatedOutsideApi(stored, status) && status ? await closeTerminatedRun(deps.endings, stored, status) : stored;
    const view = mergeRunView(runId, record, attempts, status);
    if (!view) throw notFound(`no run "${runId}"`);
    requireRead(caller, projectOfRun(deps.catalog, { project: record?.project, pipeline: view.pipeline }), `no run "${runId}"`);
    const shown = withoutServiceCredentials(items === 'all' ? view : withoutItems(view));
    // Parent and child runs of pipeline steps, linked both ways (runLinks.ts).
    const steps = withChildRuns(runId, shown.steps, deps.catalog.get(view.pipeline), deps.baseUrl ?? '');
    return json(200, { ...shown, steps, items, ...parentLink(view.trigger, deps.baseUrl ?? ''), definition: definitionVersions(record?.definitionVersion, view.pipeline), asOf, links: links(deps, runId) });
  };

  /** The version a run follows and the deployed one: `current` false after a deploy changed it. */
  const definitionVersions = (version: string | undefined, pipeline: string): { version: string | null; currentVersion: string | null; current: boolean } => {
    const deployed = deps.catalog.get(pipeline);
    const currentVersion = deployed ? definitionVersion(deployed) : null;
    return { version: version ?? null, currentVersion, current: version !== undefined && version === currentVersion };
  };

  /**
   * The definition a run follows (pinned when it started: src/runs/definitionStore.ts) and what
   * changed from it to the deployed one, path by path.
   */
  const getRunDefinition = async (request: ApiRequest, caller?: Caller): Promise<HttpResponseInit> => {
    const runId = runIdOr404(request);
    const record = await deps.runs.getRun(runId);
    if (!record) throw notFound(`no run "${runId}"`);
    requireRead(caller, projectOfRun(deps.catalog, { project: record.project, pipeline: record.pipeline }), `no run "${runId}"`);
    const versions = definitionVersions(record.definitionVersion, record.pipeline);
    const deployed = deps.catalog.get(record.pipeline);
    const definition =
      versions.version === null ? undefined : versions.current ? deployed : await deps.definitions?.get(versions.version);
    const changes = definition && deployed ? diffDefinitions(definition, deployed) : null;
    return json(200, { runId, pipeline: record.pipeline, ...versions, definition: definition ?? null, changes, links: links(deps, runId) });
  };

  const getLogs = async (request: ApiRequest, caller?: Caller): Promise<HttpResponseInit> => {
    const runId = runIdOr404(request);
    const query = readQuery(request, logsQuery);
    // The run first: its project decides whether its lines are the caller's to read.
    const [record, status] = await Promise.all([deps.runs.getRun(runId), findInstance(deps.durable, runId)]);
    const view = mergeRunView(runId, record, [], status);
    if (view) requireRead(caller, projectOfRun(deps.catalog, { project: record?.project, pipeline: view.pipeline }), `no run "${runId}"`);
    else if (!(caller?.canRead ?? false)) throw notFound(`no run "${runId}"`);
    const page = await deps.runs.getLogs(runId, query).catch(cursorProblem('query.after'));
    if (!record && !status && page.lines.length === 0) throw notFound(`no run "${runId}"`);
    const lines = page.lines.map((l) => ({ ...l, msg: maskCredentials(l.msg), ...(l.fields ? { fields: maskCredentials(l.fields) } : {}) }));
    return json(200, { runId, status: view?.status ?? 'pending', lines, nextCursor: page.nextCursor ?? page.lines.at(-1)?.cursor ?? query.after ?? null });
  };

  const cancelRun = async (request: ApiRequest, caller?: Caller): Promise<HttpResponseInit> => {
    const runId = runIdOr404(request);
    await readBody(request, emptyBody);
    const [status, record] = await Promise.all([findInstance(deps.durable, runId), deps.runs.getRun(runId)]);
    const seen = mergeRunView(runId, record, [], status);
    if (!seen) throw notFound(`no run "${runId}"`);
    requireOperate(deps.catalog, caller, projectOfRun(deps.catalog, { project: record?.project, pipeline: seen.pipeline }), `no run "${runId}"`);
    if (!status) throw conflict(`run "${runId}" has finished`);
    const word = statusFromDurable(status);
    // Cancel is idempotent: however many callers (a client retrying after a timeout, a double
    // click), one cancel event is raised and every caller gets the same 202 naming the first
    // request's time — also once the run has ended cancelled by it. A 409 for the later ones would
    // tell a retrying client its cancel failed when it succeeded.
    if (isTerminal(word)) {
      // Cancelled is what the caller asked for, however it got there (this API, or an instance
      // terminated from the Portal or the webhooks): 202, never a 409 that reads as "it failed".
      if (word === 'cancelled') {
        const requestedAt = await deps.cancels.findCancel(runId);
        return json(202, { runId, status: requestedAt === undefined ? 'cancelled' : 'cancelling', ...(requestedAt === undefined ? {} : { requestedAt }), links: links(deps, runId) });
      }
      throw conflict(`run "${runId}" has already ${word}`);
    }
    // The reason becomes the run's error message ("run cancelled: by user:…"): who cancelled is on the record.
    const cancelledBy = caller ? callerLabel(caller) : 'unknown';
    // Who cancelled is recorded here: the run's end takes it from this record, not from the event.
    const claim = await deps.cancels.claimCancel(runId, deps.now().toISOString(), cancelledBy);
    if (claim.first) {
      try {
        await deps.durable.raiseEvent(runId, 'cancel', { reason: `by ${cancelledBy}`, requestedAt: claim.requestedAt });
      } catch (error) {
        await deps.cancels.releaseCancel(runId);
        throw error;
      }
    }
    return json(202, { runId, status: 'cancelling', requestedAt: claim.requestedAt, links: links(deps, runId) });
  };

  const rerun = async (request: ApiRequest, caller?: Caller): Promise<HttpResponseInit> => {
    const sourceId = runIdOr404(request);
    const body = await readBody(request, rerunBody);
    const [record, attempts, status] = await Promise.all([deps.runs.getRun(sourceId), deps.runs.getAttempts(sourceId), findInstance(deps.durable, sourceId)]);
    const view = mergeRunView(sourceId, record, attempts, status);
    if (!view) throw notFound(`no run "${sourceId}"`);
    requireOperate(deps.catalog, caller, projectOfRun(deps.catalog, { project: record?.project, pipeline: view.pipeline }), `no run "${sourceId}"`);
    if (!isTerminal(view.status)) throw conflict(`run "${sourceId}" is still ${view.status}; cancel it or wait for it to end`);
    const pipeline = pipelineOr404(deps, view.pipeline, caller);
    const state: RunState | undefined = stateFromDurable(status);
    const steps = state?.steps ?? view.steps;
    const rerunIds = stepsToRerun(pipeline, steps, body.from);
    if (rerunIds instanceof ApiProblem) throw rerunIds;
    const carried = carriedSteps(steps, rerunIds, sourceId);
    // Like a start, a rerun with an idempotency key lands on one run however often it is sent; the
    // key lives in its own scope (no start key can take its place) and is tied to its `from`.
    const key = body.idempotencyKey;
    let runId = key === undefined ? newRunId(pipeline.name, deps.now(), deps.randomSuffix()) : idempotentRerunId(pipeline.name, sourceId, key);
    if (key !== undefined) {
      runId = await deps.idempotency
        .claim(rerunKeyScope(pipeline.name), `${sourceId}:${key}`, runId, requestFingerprint({ rerunOf: sourceId, from: body.from }))
        .catch(keyReusedProblem('body.idempotencyKey', 'another `from`'));
    }
    const created = await startRunOnce(deps.durable, {
      pipeline,
      runId,
      // A rerun redoes the source run's work: it keeps the source's logical date.
      // …and its tags (the pipeline's, its schedule's, those given at its start).
      trigger: { kind: 'rerun', origin: sourceId, ...logicalInstantOf(view.trigger, view.createdAt ?? deps.now().toISOString()), ...by(caller), ...(record?.tags && record.tags.length > 0 ? { tags: record.tags } : {}) },
      parameters: view.parameters ?? {},
      resumeFrom: { runId: sourceId, steps: carried },
    }, deps.starts);
    return json(202, { runId, rerunOf: sourceId, created, rerunSteps: [...rerunIds], reusedSteps: Object.keys(carried), links: links(deps, runId) });
  };

  const setPaused = (paused: boolean) => async (request: ApiRequest, caller?: Caller): Promise<HttpResponseInit> => {
    const pipeline = pipelineOr404(deps, request.params['name'], caller);
    requireOperate(deps.catalog, caller, pipeline.project, `no pipeline named "${pipeline.name}"`);
    const schedule = scheduleOr404(pipeline, request.params['schedule']);
    await readBody(request, emptyBody);
    await deps.schedules.setPaused(pipeline.name, schedule.name, paused, caller ? callerLabel(caller) : undefined);
    const next = paused || !schedule.enabled ? null : (previewSchedule(schedule, { from: deps.now(), count: 1 })[0] ?? null);
    return json(200, { pipeline: pipeline.name, schedule: schedule.name, paused, nextRun: next });
  };

  /**
   * What the scheduler did with each slot, newest first: fired, caught up, queued, missed, skipped
   * (overlap, paused), start failed, with its reason and run id; `late` when it started later than
   * the schedule's `lateAfter`. Read from the run store's slot ledger.
   */
  const listScheduleSlots = async (request: ApiRequest, caller?: Caller): Promise<HttpResponseInit> => {
    const pipeline = pipelineOr404(deps, request.params['name'], caller);
    const schedule = scheduleOr404(pipeline, request.params['schedule']);
    const query = readQuery(request, slotsQuery);
    const range = { ...(query.since ? { since: toSlotKey(query.since) } : {}), ...(query.until ? { until: toSlotKey(query.until) } : {}) };
    const ledger = await deps.schedules.listSlots(pipeline.name, schedule.name, range);
    const slots = ledger.slice(-query.limit).reverse().map((s) => ({
      slot: s.slot,
      local: s.local,
      outcome: s.outcome,
      ...(s.reason === undefined ? {} : { reason: s.reason }),
      ...(s.instanceId === undefined ? {} : { runId: s.instanceId }),
      lateBySeconds: s.lateBySeconds,
      late: s.lateBySeconds > schedule.lateAfter,
      attempts: s.attempts,
      ...(s.dst === null ? {} : { dst: s.dst }),
      recordedAt: s.recordedAt,
      updatedAt: s.updatedAt,
    }));
    return json(200, { pipeline: pipeline.name, schedule: schedule.name, timezone: schedule.timezone, lateAfterSeconds: schedule.lateAfter, slots });
  };

  const whoAmI = (_request: ApiRequest, caller?: Caller): Promise<HttpResponseInit> =>
    Promise.resolve(json(200, {
      name: caller?.name ?? null,
      kind: caller?.kind ?? null,
      canRead: caller?.canRead ?? false,
      canOperate: (caller?.canOperate ?? false) && !(deps.readOnly ?? false),
      // Projects granted by their own roles (a key or a global role covers every project).
      projects: Object.fromEntries(Object.entries(caller?.projects ?? {}).map(([project, grant]) => [project, deps.readOnly && grant === 'operate' ? 'read' : grant])),
      readOnly: deps.readOnly ?? false,
      appInsightsUrl: deps.appInsightsUrl ?? null,
    }));

  /**
   * For readers the checks run at most once per HEALTH_TTL_MS (wall time), however many ask and
   * however often: each run reads every secret the definitions name, and an unreadable one is not
   * cached by the secret cache, so without this every reader request would be a round of Key Vault
   * reads (red-team pass 2, F5). Whoever runs the app (a key, Pipelines.Operate) gets fresh checks —
   * the answer after fixing a secret — which refresh what readers see. Concurrent callers share one run.
   */
  const runChecks = (fresh: boolean): Promise<HealthAnswer[]> => {
    const at = performance.now();
    const lastHealth = healthRuns.get(deps.health);
    if (lastHealth && (!lastHealth.settled || (!fresh && at - lastHealth.at < HEALTH_TTL_MS))) return lastHealth.checks;
    const checks = Promise.all(
      deps.health.map(async (h): Promise<HealthAnswer> => {
        try {
          return { name: h.name, ...(await h.check()) };
        } catch (error) {
          return { name: h.name, ok: false, detail: (error as Error).message };
        }
      }),
    );
    const entry = { at, checks, settled: false };
    healthRuns.set(deps.health, entry);
    void checks.finally(() => {
      entry.settled = true;
    });
    return checks;
  };
  const health = async (_request: ApiRequest, caller?: Caller): Promise<HttpResponseInit> => {
    const checks = await runChecks(caller?.canOperate ?? false);
    const ok = checks.every((c) => c.ok);
    // Details name the vault, the storage endpoint and the settings: for those who run the app
    // (a key, Pipelines.Operate); a reader learns which check fails, not where things live.
    const shown = caller?.canOperate ? checks : checks.map((c) => ({ name: c.name, ok: c.ok, detail: c.ok ? 'ok' : 'failing (details for Pipelines.Operate)' }));
    return json(ok ? 200 : 503, { status: ok ? 'healthy' : 'unhealthy', checks: shown });
  };

  const openApi = (): Promise<HttpResponseInit> => Promise.resolve(json(200, openApiDocument()));

  const backfill = backfillHandlers(deps);
  const approval = approvalHandlers(deps);
  const handlers: Record<RouteName, Route['handle']> = {
    triggerHistory: triggerHandlers(deps).history,
    blobCreatedEvents: eventGridHandler(deps),
    approveStep: approval.approve,
    rejectStep: approval.reject,
    listApprovals: approval.listWaiting,
    startBackfill: backfill.start,
    listBackfills: backfill.list,
    getBackfill: backfill.get,
    cancelBackfill: backfill.cancel,
    listPipelines,
    startRun: startPipelineRun,
    pauseSchedule: setPaused(true),
    resumeSchedule: setPaused(false),
    listScheduleSlots,
    whoAmI,
    listRuns,
    getRun,
    getRunLogs: getLogs,
    getRunDefinition,
    cancelRun,
    rerunRun: rerun,
    health,
    openApi,
  };
  return ROUTE_TABLE.map((spec) => ({ ...spec, handle: answerProblems(handlers[spec.name]) }));
}

/**
 * A run view without the credentials a service may have answered (src/logging/serviceCredentials.ts):
 * activities mask before they record, and this covers records written before that rule. What the
 * caller sent (parameters, trigger) is shown as sent.
 */
function withoutServiceCredentials(view: RunView): RunView {
  return { ...view, steps: maskCredentials(view.steps), attempts: maskCredentials(view.attempts), ...(view.error === undefined ? {} : { error: maskCredentials(view.error) }) };
}

/** Which steps a rerun executes: `failed` = every step that did not succeed; a step id = it and all downstream. */
export function stepsToRerun(pipeline: PipelineDefinition, steps: readonly { id: string; status: string }[], from: string): Set<string> | ApiProblem {
  const succeeded = new Set(steps.filter((s) => s.status === 'succeeded' || s.status === 'reused').map((s) => s.id));
  if (from === 'failed') {
    const ids = failedStepIds(pipeline, steps);
    if (![...ids].some((id) => pipeline.steps.some((s) => s.id === id))) return conflict('every step of that run succeeded: rerun from a step id instead');
    return ids;
  }
  if (!pipeline.steps.some((s) => s.id === from)) {
    return new ApiProblem(400, 'Invalid input', `no step "${from}" in ${pipeline.name}`, [{ field: 'body.from', message: `"failed" or one of: ${pipeline.steps.map((s) => s.id).join(', ')}` }]);
  }
  const ids = new Set([from]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const s of pipeline.steps) {
      if (!ids.has(s.id) && s.dependsOn.some((d) => ids.has(d))) {
        ids.add(s.id);
        grew = true;
      }
    }
  }
  // Steps upstream of `from` are reused: they must have succeeded; others run again.
  for (const s of pipeline.steps) if (!ids.has(s.id) && !succeeded.has(s.id)) ids.add(s.id);
  return withItems(ids, steps, succeeded, true);
}

/**
 * Parameters the run store cannot keep whole (one Table property: MAX_JSON_CHARS characters of
 * JSON) are refused at the start, naming the largest: stored cut, the run's record would lie and a
 * rerun would start from the cut copy (red-team pass 2, F11).
 */
function refuseUnstorable(parameters: Readonly<Record<string, unknown>>): void {
  const total = JSON.stringify(parameters).length;
  if (total <= MAX_JSON_CHARS) return;
  const [largest = ''] = Object.entries(parameters)
    .map(([name, value]) => [name, JSON.stringify(value).length] as const)
    .sort((a, b) => b[1] - a[1])
    .map(([name]) => name);
  const message = `the parameters take ${total} characters as JSON; a run keeps at most ${MAX_JSON_CHARS} (pass large inputs by reference: a blob path, a table name)`;
  throw new ApiProblem(413, 'Parameters too large', `body.parameters.${largest}: ${message}`, [{ field: `body.parameters.${largest}`, message }]);
}

/** A key sent again with another request: 409 naming the field, never the other run answered as if it were this one. */
function keyReusedProblem(field: string, what: string): (error: unknown) => never {
  return (error) => {
    if (error instanceof Error && error.name === 'IdempotencyKeyReusedError') {
      const runId = (error as Error & { runId?: string }).runId ?? '';
      const message = `already used for run ${runId} with ${what}: send the same request again, or use a new key`;
      throw new ApiProblem(409, 'Idempotency key reused', `${field}: ${message}`, [{ field, message }]);
    }
    throw error;
  };
}

/**
 * A cursor the store did not issue is bad input (400 naming the field), not a server error. Matched
 * by name: importing the Table store here would load its SDK at every cold start.
 */
function cursorProblem(field: string): (error: unknown) => never {
  return (error) => {
    if (error instanceof Error && error.name === 'InvalidCursorError') {
      throw new ApiProblem(400, 'Invalid input', `${field}: ${error.message}`, [{ field, message: 'not a cursor this API issued' }]);
    }
    throw error;
  };
}

/** Turns thrown problems into problem+json and unexpected errors into a 500 that names no secret. */
function answerProblems(handle: Route['handle']): Route['handle'] {
  return async (request, caller) => {
    try {
      return await handle(request, caller);
    } catch (error) {
      if (error instanceof ApiProblem) return problemResponse(error, new URL(request.url).pathname);
      if (error instanceof Error && error.name === 'InvalidCursorError') {
        // The store refuses cursors it did not issue: the caller's input, not our failure.
        const field = new URL(request.url).pathname.endsWith('/logs') ? 'query.after' : 'query.cursor';
        return problemResponse(new ApiProblem(400, 'Invalid input', error.message, [{ field, message: 'not a cursor this API issued' }]), new URL(request.url).pathname);
      }
      logger().error({ err: error, url: request.url, method: request.method }, 'API request failed');
      return problemResponse(new ApiProblem(500, 'Internal error', 'the request failed; see the app logs'), new URL(request.url).pathname);
    }
  };
}

/** The instant a rerun's `{ run: 'logicalDate' }` / `{ run: 'scheduledFor' }` resolve from: its source's. */
function logicalInstantOf(source: Partial<RunTrigger> | undefined, sourceCreatedAt: string): Pick<RunTrigger, 'scheduledFor' | 'requestedAt'> {
  if (source?.scheduledFor) return { scheduledFor: source.scheduledFor };
  // The run store keeps no request instant; the source run's creation is the same moment.
  return { requestedAt: source?.requestedAt ?? sourceCreatedAt };
}

/** An ISO instant in one spelling (`+00:00` and `Z` alike), so a cursor's scope does not depend on how a filter was written. */
function instantOrNull(iso: string | undefined): string | null {
  return iso === undefined ? null : new Date(iso).toISOString();
}

/** Slot keys are ISO to the second in UTC (`2026-03-29T01:00:00Z`, src/scheduler/ports.ts); a query's instant is compared in that form. */
function toSlotKey(iso: string): string {
  return new Date(iso).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
