/**
 * The OpenAPI 3.1 document served at /api/openapi.json. Request schemas come from the same zod
 * schemas the handlers parse with, so the document cannot drift from what is accepted.
 */
import { z } from 'zod';
import { listPipelinesQuery, listRunsQuery, logsQuery, rerunBody, runViewQuery, slotsQuery, startRunBody } from './schemas';
import { listBackfillsQuery, startBackfillBody } from '../backfill/routes';
import { decisionBody } from '../steps/approval/routes';
import { triggerHistoryQuery } from '../triggers/routes';
import { eventGridBody } from '../triggers/eventGrid';

const problem = { description: 'Problem details (RFC 9457)', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };
const ok = (description: string) => ({ description, content: { 'application/json': { schema: { type: 'object' } } } });

function queryParameters(schema: z.ZodObject): object[] {
  const json = z.toJSONSchema(schema, { io: 'input' }) as { properties?: Record<string, object>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, s]) => ({ name, in: 'query', required: json.required?.includes(name) ?? false, schema: s }));
}

const pathParam = (name: string) => ({ name, in: 'path', required: true, schema: { type: 'string' } });
const body = (schema: z.ZodType) => ({ required: false, content: { 'application/json': { schema: z.toJSONSchema(schema, { io: 'input' }) } } });

let cached: object | undefined;

export function openApiDocument(): object {
  cached ??= {
    openapi: '3.1.0',
    info: { title: 'durable-pipelines', version: '1', description:
        'Start, watch and steer pipeline runs. Every route but this document needs a function key (`x-functions-key` header or `code` query); a key acts as Pipelines.Operate. '
        + 'The same routes under /api/console/… serve users signed in through App Service Authentication (Entra ID): reads need the app role Pipelines.Read, changes Pipelines.Operate '
        + 'plus `content-type: application/json` and `x-requested-with: durable-pipelines-console`. READ_ONLY=true answers every change 403.' },
    servers: [{ url: '/api' }],
    components: {
      securitySchemes: { functionKey: { type: 'apiKey', in: 'header', name: 'x-functions-key' } },
      schemas: {
        Problem: {
          type: 'object',
          properties: {
            type: { type: 'string' }, title: { type: 'string' }, status: { type: 'integer' }, detail: { type: 'string' }, instance: { type: 'string' },
            invalidFields: { type: 'array', items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } } },
          },
        },
      },
    },
    security: [{ functionKey: [] }],
    paths: {
      '/pipelines': { get: { summary: 'Pipelines by project (those the caller may see), schedules with next fire times, paused state, last run; project and tag repeatable', parameters: queryParameters(listPipelinesQuery), responses: { 200: ok('{ schedulerEnabled, projects, pipelines }'), 400: problem, 404: problem } } },
      '/pipelines/{name}/runs': {
        post: { summary: 'Start a run', parameters: [pathParam('name')], requestBody: body(startRunBody), responses: { 202: ok('Accepted: { runId, links }'), 400: problem, 404: problem, 413: problem } },
      },
      '/pipelines/{name}/schedules/{schedule}/pause': { post: { summary: 'Pause a schedule', parameters: [pathParam('name'), pathParam('schedule')], responses: { 200: ok('Paused'), 404: problem } } },
      '/pipelines/{name}/schedules/{schedule}/resume': { post: { summary: 'Resume a schedule', parameters: [pathParam('name'), pathParam('schedule')], responses: { 200: ok('Resumed'), 404: problem } } },
      '/pipelines/{name}/schedules/{schedule}/slots': {
        get: { summary: "A schedule's slots, newest first: fired, missed, skipped, late, with reasons", parameters: [pathParam('name'), pathParam('schedule'), ...queryParameters(slotsQuery)], responses: { 200: ok('{ slots }'), 400: problem, 404: problem } },
      },
      '/pipelines/{name}/backfills': {
        post: { summary: "Backfill: one run per slot a schedule would have fired in a past range (idempotent per slot; dryRun lists what each slot would get)", parameters: [pathParam('name')], requestBody: body(startBackfillBody), responses: { 202: ok('{ id, counts, slots, links }'), 200: ok('dryRun: { slots }'), 400: problem, 404: problem } },
      },
      '/backfills': { get: { summary: 'Backfills, newest first, with progress (those the caller may see; project: any of them; tag: every one; both repeatable)', parameters: queryParameters(listBackfillsQuery), responses: { 200: ok('{ backfills }'), 400: problem, 404: problem } } },
      '/backfills/{backfillId}': { get: { summary: "A backfill's progress and each slot's run", parameters: [pathParam('backfillId')], responses: { 200: ok('Backfill'), 404: problem } } },
      '/backfills/{backfillId}/cancel': { post: { summary: 'Cancel a backfill: queued slots are dropped, running runs asked to cancel', parameters: [pathParam('backfillId')], responses: { 202: ok('Cancelling'), 404: problem, 409: problem } } },
      '/runs/{runId}/steps/{stepId}/approve': { post: { summary: 'Approve a step waiting for approval (Operate; the step\'s approvers only, when it names them); the first decision wins', parameters: [pathParam('runId'), pathParam('stepId')], requestBody: body(decisionBody), responses: { 200: ok('The decision'), 403: problem, 404: problem, 409: problem } } },
      '/runs/{runId}/steps/{stepId}/reject': { post: { summary: 'Reject a step waiting for approval: it fails, naming who and why', parameters: [pathParam('runId'), pathParam('stepId')], requestBody: body(decisionBody), responses: { 200: ok('The decision'), 403: problem, 404: problem, 409: problem } } },
      '/pipelines/{name}/triggers/{trigger}/history': { get: { summary: 'What an event trigger heard and did, newest first: started, duplicate, failed (with reasons and run ids)', parameters: [pathParam('name'), pathParam('trigger'), ...queryParameters(triggerHistoryQuery)], responses: { 200: ok('{ events }'), 400: problem, 404: problem } } },
      '/events/blob-created': { post: { summary: "Event Grid webhook for Microsoft.Storage.BlobCreated (subscription validation handshake; Event Grid schema); starts each matching blob trigger's run once per blob version", requestBody: body(eventGridBody), responses: { 200: ok('{ validationResponse } or { results }'), 400: problem, 503: ok('Some runs could not start: Event Grid retries') } } },
      '/approvals': { get: { summary: 'Steps waiting for a decision, oldest first', responses: { 200: ok('{ waiting }') } } },
      '/me': { get: { summary: 'Who is calling and what they may do ({ name, kind, canRead, canOperate, readOnly })', responses: { 200: ok('The caller'), 401: problem } } },
      '/runs': { get: { summary: 'List runs, newest first (project: any of them; tag: every one; both repeatable)', parameters: queryParameters(listRunsQuery), responses: { 200: ok('{ runs, nextCursor }'), 400: problem } } },
      '/runs/{runId}': { get: { summary: "A run with its steps, attempts and metrics; a forEach step's items counted by status (items=all: every item)", parameters: [pathParam('runId'), ...queryParameters(runViewQuery)], responses: { 200: ok('Run'), 400: problem, 404: problem } } },
      '/runs/{runId}/definition': { get: { summary: "The definition a run follows (pinned at its start) and what changed in the deployed one", parameters: [pathParam('runId')], responses: { 200: ok('{ version, currentVersion, current, definition, changes: [{ path, change, before, after }] }'), 404: problem } } },
      '/runs/{runId}/logs': { get: { summary: 'Log lines after a cursor (for follow)', parameters: [pathParam('runId'), ...queryParameters(logsQuery)], responses: { 200: ok('{ lines, nextCursor, status }'), 400: problem, 404: problem } } },
      '/runs/{runId}/cancel': { post: { summary: 'Cancel a running run', parameters: [pathParam('runId')], responses: { 202: ok('Cancelling'), 404: problem, 409: problem } } },
      '/runs/{runId}/rerun': { post: { summary: 'Rerun from the failed step or a given step', parameters: [pathParam('runId')], requestBody: body(rerunBody), responses: { 202: ok('{ runId, rerunSteps, reusedSteps }'), 400: problem, 404: problem, 409: problem } } },
      '/health': { get: { summary: 'Storage and Key Vault reachability', responses: { 200: ok('Healthy'), 503: ok('Unhealthy') } } },
      '/openapi.json': { get: { summary: 'This document', security: [], responses: { 200: ok('OpenAPI 3.1') } } },
    },
  };
  return cached;
}
