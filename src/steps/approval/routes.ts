/**
 * The approval routes of the HTTP API (listed in src/api/routes.ts):
 *
 * - `POST /api/runs/{runId}/steps/{stepId}/approve|reject` `{ comment? }`: Operate only (a reader
 *   gets 403 from the access layer); when the step names `approvers`, only those people. The first
 *   decision wins; a second is answered 409 naming who decided and when.
 * - `GET /api/approvals`: steps waiting for a decision, oldest first.
 *
 * An approval belongs to its run's project: a caller who may not read it gets 404 and does not see
 * it listed; one who reads but may not operate it gets 403 (src/api/projectScope.ts).
 */
import type { HttpResponseInit } from '@azure/functions';
import { z } from 'zod';
import { findInstance } from '../../app/durableStarter';
import { callerLabel, mayRead, type Caller } from '../../auth/roles';
import { projectOfRun, requireOperate } from '../../api/projectScope';
import { API_HEADERS, ApiProblem, conflict, notFound } from '../../api/problem';
import type { ApiDeps } from '../../api/ports';
import { readBody, type ApiRequest } from '../../api/request';
import { isTerminal, statusFromDurable } from '../../api/runView';
import type { ApprovalRequest, ApprovalStore } from './store';

export const decisionBody = z.object({ comment: z.string().max(1000).optional() }).strict();

const json = (status: number, body: unknown): HttpResponseInit => ({ status, headers: { ...API_HEADERS, 'content-type': 'application/json' }, body: JSON.stringify(body) });

function view(r: ApprovalRequest, project: string): object {
  return {
    runId: r.runId, pipeline: r.pipeline, project, stepId: r.stepId, message: r.message, approvers: r.approvers ?? null, since: r.since, until: r.until ?? null,
    decision: r.decision ?? null, decidedBy: r.decidedBy ?? null, decidedAt: r.decidedAt ?? null, comment: r.comment ?? null,
  };
}

function storeOr503(deps: ApiDeps): ApprovalStore {
  if (!deps.approvals) throw new ApiProblem(503, 'Run store not configured', 'approvals are recorded in the run store (RUN_STORE_TABLE_URL or RUN_STORE_CONNECTION_STRING)');
  return deps.approvals;
}

export function approvalHandlers(deps: ApiDeps) {
  const decide = (decision: 'approved' | 'rejected') => async (request: ApiRequest, caller?: Caller): Promise<HttpResponseInit> => {
    const runId = request.params['runId'] ?? '';
    const stepId = request.params['stepId'] ?? '';
    const body = await readBody(request, decisionBody);
    const store = storeOr503(deps);
    const current = await store.get(runId, stepId);
    if (!current) throw notFound(`run "${runId}" has no step "${stepId}" waiting for approval`);
    const project = await projectOfApproval(current);
    requireOperate(deps.catalog, caller, project, `run "${runId}" has no step "${stepId}" waiting for approval`);
    const who = caller ? callerLabel(caller) : 'unknown';
    if (current.decision) throw conflict(`step "${stepId}" of run "${runId}" was already ${current.decision} by ${current.decidedBy ?? 'unknown'} at ${current.decidedAt ?? '?'}`);
    const now = deps.now();
    const status = await findInstance(deps.durable, runId);
    if (!status || isTerminal(statusFromDurable(status))) throw conflict(`run "${runId}" is no longer running: nothing waits for this decision`);
    if (current.until && Date.parse(current.until) <= now.getTime()) throw conflict(`step "${stepId}" stopped waiting at ${current.until} (its timeout)`);
    if (current.approvers) {
      const allowed = caller?.kind === 'user' && current.approvers.some((a) => a.toLowerCase() === caller.name.toLowerCase());
      if (!allowed) {
        throw new ApiProblem(403, 'Not an approver', `step "${stepId}" names its approvers (${current.approvers.join(', ')}); ${caller?.kind === 'key' ? 'a function key is no one of them' : `${caller?.name ?? 'you'} is not one of them`}`);
      }
    }
    const result = await store.decide(runId, stepId, { decision, decidedBy: who, decidedAt: now.toISOString(), ...(body.comment ? { comment: body.comment } : {}) });
    if (result.outcome === 'not-waiting') throw notFound(`run "${runId}" has no step "${stepId}" waiting for approval`);
    if (result.outcome === 'already-decided') throw conflict(`step "${stepId}" of run "${runId}" was already ${result.request.decision ?? 'decided'} by ${result.request.decidedBy ?? 'unknown'} at ${result.request.decidedAt ?? '?'}`);
    return json(200, view(result.request, project));
  };

  /** The project of the run that waits: as its record names it, else its pipeline's. */
  const projectOfApproval = async (r: ApprovalRequest): Promise<string> => projectOfRun(deps.catalog, { project: (await deps.runs.getRun(r.runId))?.project, pipeline: r.pipeline });

  const listWaiting = async (_request: ApiRequest, caller?: Caller): Promise<HttpResponseInit> => {
    const waiting = await storeOr503(deps).listWaiting();
    // Each with its project: the console shows the buttons to whoever operates it.
    const placed = await Promise.all(waiting.map(async (r) => ({ r, project: await projectOfApproval(r) })));
    return json(200, { waiting: placed.filter(({ project }) => mayRead(caller, project)).map(({ r, project }) => view(r, project)) });
  };

  return { approve: decide('approved'), reject: decide('rejected'), listWaiting };
}
