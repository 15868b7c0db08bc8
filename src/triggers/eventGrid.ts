/**
 * Blob-created triggers: the webhook Event Grid delivers `Microsoft.Storage.BlobCreated` events to
 * (`POST /api/events/blob-created`, or `/api/console/events/blob-created` with Event Grid's Entra
 * token), following Event Grid's documented webhook protocol:
 *
 * - the subscription validation handshake: a request with header `aeg-event-type:
 *   SubscriptionValidation` carrying one `Microsoft.EventGrid.SubscriptionValidationEvent` is
 *   answered 200 `{ "validationResponse": <data.validationCode> }` (learn.microsoft.com
 *   azure/event-grid/webhook-event-delivery, "Endpoint validation with Event Grid events");
 * - deliveries (`aeg-event-type: Notification`): a JSON array of events in the Event Grid schema
 *   (learn.microsoft.com azure/event-grid/event-schema; BlobCreated's `data` in
 *   azure/event-grid/event-schema-blob-storage). Any 2xx acknowledges; Event Grid retries other
 *   answers on its schedule (10 s, 30 s, 1 min, 5 min, 10 min, 30 min, 1 h, then hourly, for 24 h)
 *   but never 400, 413, 401 and 403, which it dead-letters or drops (azure/event-grid/delivery-and-retry).
 *
 * So: a body that is not events is 400 (retrying cannot fix it); a run that could not be started
 * for a passing reason (storage or Durable unreachable) is 503, and Event Grid's retry comes back;
 * everything else is 200 — including events that match no trigger (logged `trigger.unmatched`,
 * then dropped: answering an error would only make Event Grid retry them for a day). Delivery is
 * at least once, so the run id derives from the blob and its ETag: a duplicate delivery of one blob
 * version starts nothing, a new version of the blob starts a new run.
 */
import type { HttpResponseInit } from '@azure/functions';
import { z } from 'zod';
import { startRunOnce } from '../app/durableStarter';
import { API_HEADERS, ApiProblem } from '../api/problem';
import type { ApiDeps } from '../api/ports';
import { readBody, type ApiRequest } from '../api/request';
import type { Json, JsonObject } from '../core/json';
import type { PipelineDefinition } from '../pipelines/schema';
import { logger } from '../logging/logger';
import { fireTrigger, triggeredRunId, type FirePorts } from './fire';
import { compilePattern, matchPattern } from './pathPattern';
import type { TriggerDefinition } from './schema';

export const VALIDATION_EVENT = 'Microsoft.EventGrid.SubscriptionValidationEvent';
export const BLOB_CREATED = 'Microsoft.Storage.BlobCreated';

/** One event in the Event Grid schema; `data` is checked per event type below. */
const eventSchema = z.object({
  id: z.string().min(1),
  topic: z.string().optional(),
  subject: z.string(),
  eventType: z.string().min(1),
  eventTime: z.string(),
  data: z.unknown(),
  dataVersion: z.string().optional(),
  metadataVersion: z.string().optional(),
});
export const eventGridBody = z.array(eventSchema).min(1);
export type EventGridEvent = z.infer<typeof eventSchema>;

const validationData = z.looseObject({ validationCode: z.string().min(1), validationUrl: z.string().optional() });
const blobCreatedData = z.looseObject({
  api: z.string().optional(),
  eTag: z.string().min(1),
  contentLength: z.number().optional(),
  contentType: z.string().optional(),
  blobType: z.string().optional(),
  url: z.string().min(1),
  sequencer: z.string().optional(),
});

/** `/blobServices/default/containers/{container}/blobs/{path}` */
const SUBJECT = /^\/blobServices\/default\/containers\/([^/]+)\/blobs\/(.+)$/;
/** `/subscriptions/{id}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{account}` */
const TOPIC_ACCOUNT = /\/providers\/Microsoft\.Storage\/storageAccounts\/([^/]+)$/i;

export interface BlobFacts {
  readonly account?: string;
  readonly container: string;
  readonly path: string;
  readonly url: string;
  readonly eTag: string;
  readonly contentLength?: number;
  readonly eventTime: string;
}

export function blobFactsOf(event: EventGridEvent): BlobFacts | string {
  const data = blobCreatedData.safeParse(event.data);
  if (!data.success) return `data is not a BlobCreated payload (${data.error.issues.map((i) => i.path.join('.') || '(root)').join(', ')})`;
  const subject = SUBJECT.exec(event.subject);
  if (!subject) return `subject ${JSON.stringify(event.subject.slice(0, 200))} names no blob`;
  const account = event.topic ? TOPIC_ACCOUNT.exec(event.topic)?.[1] : undefined;
  return {
    ...(account ? { account } : {}),
    container: subject[1] ?? '',
    path: subject[2] ?? '',
    url: data.data.url,
    eTag: data.data.eTag,
    ...(data.data.contentLength === undefined ? {} : { contentLength: data.data.contentLength }),
    eventTime: event.eventTime,
  };
}

export interface BlobMatch {
  readonly pipeline: PipelineDefinition;
  readonly trigger: TriggerDefinition;
  readonly parameters: JsonObject;
}

/** Every enabled blob trigger the blob matches, with the parameters its path and facts give. */
export function matchBlob(pipelines: readonly PipelineDefinition[], blob: BlobFacts): BlobMatch[] {
  const found: BlobMatch[] = [];
  for (const pipeline of pipelines) {
    for (const trigger of pipeline.triggers) {
      const on = trigger.blobCreated;
      if (!trigger.enabled || !on || on.container !== blob.container) continue;
      if (on.account !== undefined && on.account !== blob.account) continue;
      const values = matchPattern(compilePattern(on.path), blob.path);
      if (!values) continue;
      const parameters: Record<string, Json> = {};
      for (const [name, value] of Object.entries(trigger.parameters)) {
        if (typeof value !== 'object') parameters[name] = value;
        else {
          const fact = { url: blob.url, path: blob.path, container: blob.container, eTag: blob.eTag, contentLength: blob.contentLength ?? null, eventTime: blob.eventTime }[value.blob];
          parameters[name] = fact;
        }
      }
      Object.assign(parameters, values);
      found.push({ pipeline, trigger, parameters });
    }
  }
  return found;
}

const json = (status: number, body: unknown): HttpResponseInit => ({ status, headers: { ...API_HEADERS, 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** What firing needs, from the API's dependencies. */
export function apiFirePorts(deps: ApiDeps): FirePorts {
  const log = logger().child({ component: 'triggers' });
  return {
    start: (start) => startRunOnce(deps.durable, start, deps.starts),
    async record(event) {
      try {
        await deps.triggerHistory?.record(event);
      } catch (error) {
        log.error({ err: error, trigger: event.trigger }, 'trigger history could not be written');
      }
    },
    now: deps.now,
    log,
  };
}

export function eventGridHandler(deps: ApiDeps, ports: (deps: ApiDeps) => FirePorts = apiFirePorts) {
  return async (request: ApiRequest): Promise<HttpResponseInit> => {
    const log = logger().child({ component: 'triggers' });
    const events = await readBody(request, eventGridBody);
    const kind = request.headers.get('aeg-event-type');
    if (kind === 'SubscriptionValidation' || events.some((e) => e.eventType === VALIDATION_EVENT)) {
      const first = events[0];
      const data = validationData.safeParse(first?.data);
      if (!first || first.eventType !== VALIDATION_EVENT || !data.success) {
        throw new ApiProblem(400, 'Invalid input', `a SubscriptionValidation request carries one ${VALIDATION_EVENT} with data.validationCode`, [{ field: 'body[0].data.validationCode', message: 'required' }]);
      }
      log.info({ event: 'trigger.subscription.validated', topic: first.topic ?? null }, 'Event Grid subscription validated');
      return json(200, { validationResponse: data.data.validationCode });
    }
    const fire = ports(deps);
    const results: { id: string; outcome: string; runId?: string; reason?: string }[] = [];
    let retry = false;
    for (const event of events) {
      if (event.eventType !== BLOB_CREATED) {
        log.info({ event: 'trigger.unmatched', eventId: event.id, eventType: event.eventType, subject: event.subject }, 'event type no trigger listens to: dropped');
        results.push({ id: event.id, outcome: 'ignored', reason: `event type ${event.eventType}` });
        continue;
      }
      const blob = blobFactsOf(event);
      if (typeof blob === 'string') {
        log.warn({ event: 'trigger.unmatched', eventId: event.id, reason: blob }, 'BlobCreated event not understood: dropped');
        results.push({ id: event.id, outcome: 'ignored', reason: blob });
        continue;
      }
      const matches = matchBlob(deps.catalog.pipelines, blob);
      if (matches.length === 0) {
        log.info({ event: 'trigger.unmatched', eventId: event.id, account: blob.account ?? null, container: blob.container, path: blob.path }, 'blob matches no trigger: dropped');
        results.push({ id: event.id, outcome: 'unmatched' });
        continue;
      }
      for (const match of matches) {
        const runId = triggeredRunId(match.pipeline.name, match.trigger.name, `${blob.account ?? ''}/${blob.container}/${blob.path}@${blob.eTag}`);
        try {
          const outcome = await fireTrigger(
            {
              pipeline: match.pipeline,
              trigger: match.trigger.name,
              runId,
              runTrigger: { kind: 'event', origin: blob.url, requestedAt: blob.eventTime, by: `trigger:${match.trigger.name}` },
              parameters: match.parameters,
              source: `${blob.url} (ETag ${blob.eTag})`,
            },
            fire,
          );
          results.push({ id: event.id, outcome, runId });
        } catch (error) {
          // Passing trouble (storage, Durable): answer 503 so Event Grid delivers again; the run id keeps the retry to one run.
          log.error({ event: 'trigger.failed', eventId: event.id, runId, err: error }, 'could not start the triggered run: Event Grid will retry');
          results.push({ id: event.id, outcome: 'retry', runId });
          retry = true;
        }
      }
    }
    return json(retry ? 503 : 200, { results });
  };
}
