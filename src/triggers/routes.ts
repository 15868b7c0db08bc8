/**
 * `GET /api/pipelines/{name}/triggers/{trigger}/history`: what a trigger heard and did, newest
 * first — like the schedules' slot history.
 */
import type { HttpResponseInit } from '@azure/functions';
import { z } from 'zod';
import { API_HEADERS, ApiProblem, notFound } from '../api/problem';
import { visiblePipelineOr404 } from '../api/projectScope';
import type { Caller } from '../auth/roles';
import type { ApiDeps } from '../api/ports';
import { readQuery, type ApiRequest } from '../api/request';

export const triggerHistoryQuery = z
  .object({ limit: z.string().regex(/^\d+$/, 'expected a whole number').transform(Number).pipe(z.number().int().min(1).max(1000)).default(50) })
  .strict();

export function triggerHandlers(deps: ApiDeps) {
  const history = async (request: ApiRequest, caller?: Caller): Promise<HttpResponseInit> => {
    // A pipeline of a project the caller may not read is answered as unknown (src/api/projectScope.ts).
    const pipeline = visiblePipelineOr404(deps.catalog, request.params['name'], caller);
    const triggerName = request.params['trigger'] ?? '';
    const trigger = pipeline.triggers.find((t) => t.name === triggerName);
    if (!trigger) throw notFound(`pipeline "${pipeline.name}" has no trigger "${triggerName}" (has: ${pipeline.triggers.map((t) => t.name).join(', ') || 'none'})`);
    const query = readQuery(request, triggerHistoryQuery);
    if (!deps.triggerHistory) throw new ApiProblem(503, 'Run store not configured', 'trigger history is kept in the run store');
    const events = await deps.triggerHistory.list(pipeline.name, trigger.name, query.limit);
    const on = trigger.pipelineSucceeded ? { pipelineSucceeded: trigger.pipelineSucceeded.pipeline } : { blobCreated: trigger.blobCreated ?? null };
    return { status: 200, headers: { ...API_HEADERS, 'content-type': 'application/json' }, body: JSON.stringify({ pipeline: pipeline.name, trigger: trigger.name, enabled: trigger.enabled, on, events }) };
  };
  return { history };
}
