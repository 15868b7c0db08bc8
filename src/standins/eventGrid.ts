/**
 * A stand-in for Azure Event Grid's push delivery to a webhook subscription, following its
 * documented protocol (Event Grid is a service without public sources; these are its docs):
 *
 * - creating the subscription runs the validation handshake: a POST with header
 *   `aeg-event-type: SubscriptionValidation` and one `Microsoft.EventGrid.SubscriptionValidationEvent`
 *   whose `data.validationCode` the endpoint must echo as `{ "validationResponse": … }` with 200;
 *   anything else leaves the subscription failed and nothing is delivered
 *   (learn.microsoft.com/azure/event-grid/webhook-event-delivery);
 * - each event is POSTed with `aeg-event-type: Notification`, `aeg-subscription-name`,
 *   `aeg-delivery-count` and `aeg-data-version`, as a JSON array of one event in the Event Grid
 *   schema (azure/event-grid/event-schema; BlobCreated per azure/event-grid/event-schema-blob-storage);
 * - a 2xx acknowledges; 400, 413, 401 and 403 are not retried (dead-lettered); anything else —
 *   other statuses, no answer within 30 s — is retried after 10 s, 30 s, 1 min, 5 min, 10 min,
 *   30 min, 1 h, then hourly, up to `maxDeliveryAttempts` (default 30) or the event's 24 h time to
 *   live (azure/event-grid/delivery-and-retry);
 * - delivery is at least once: `redeliver` sends an event again as Event Grid may.
 *
 * Retry waits go through `wait` (tests pass one that does not sleep) and are recorded.
 */
import { randomUUID } from 'node:crypto';

export const RETRY_SCHEDULE_SECONDS = [10, 30, 60, 300, 600, 1800, 3600] as const;
const NOT_RETRIED = new Set([400, 413, 401, 403]);
const RESPONSE_TIMEOUT_MS = 30_000;

export interface EventGridStandInOptions {
  /** The webhook URL (with `?code=` when delivering to the key door). */
  readonly endpoint: string;
  readonly subscriptionName?: string;
  /** Extra headers on every request (the Entra token of an Entra-secured subscription). */
  readonly headers?: () => Record<string, string>;
  readonly maxDeliveryAttempts?: number;
  /** How a retry waits; default: really waits. */
  readonly wait?: (seconds: number) => Promise<void>;
  /** The storage account whose system topic this is. */
  readonly topic?: string;
}

export interface DeliveryRecord {
  readonly eventId: string;
  readonly attempt: number;
  readonly status: number | 'timeout' | 'error';
  readonly body: string;
}

export interface BlobCreatedInput {
  readonly container: string;
  readonly path: string;
  readonly eTag: string;
  readonly contentLength?: number;
  readonly accountUrl?: string;
}

export interface EventGridStandIn {
  /** Runs the validation handshake; true when the endpoint passed it (the subscription is active). */
  subscribe(): Promise<boolean>;
  readonly validated: () => boolean;
  /** Publishes a BlobCreated event and delivers it with retries; resolves with how it ended. */
  publishBlobCreated(input: BlobCreatedInput): Promise<{ event: EventGridEventJson; outcome: 'delivered' | 'dead-lettered' | 'expired' }>;
  /** Delivers an event already delivered once more (at-least-once). */
  redeliver(event: EventGridEventJson): Promise<'delivered' | 'dead-lettered' | 'expired'>;
  /** Delivers any event as given (for events no trigger listens to). */
  deliver(event: EventGridEventJson): Promise<'delivered' | 'dead-lettered' | 'expired'>;
  readonly deliveries: readonly DeliveryRecord[];
  readonly waits: readonly number[];
  readonly deadLettered: readonly EventGridEventJson[];
}

export interface EventGridEventJson {
  readonly id: string;
  readonly topic: string;
  readonly subject: string;
  readonly eventType: string;
  readonly eventTime: string;
  readonly data: Record<string, unknown>;
  readonly dataVersion: string;
  readonly metadataVersion: string;
}

export function createEventGridStandIn(options: EventGridStandInOptions): EventGridStandIn {
  const topic = options.topic ?? '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/exportsacct';
  const account = /storageAccounts\/([^/]+)$/.exec(topic)?.[1] ?? 'exportsacct';
  const subscriptionName = options.subscriptionName ?? 'blob-created-to-pipelines';
  const wait = options.wait ?? ((s: number) => new Promise<void>((resolve) => setTimeout(resolve, s * 1000)));
  const maxAttempts = options.maxDeliveryAttempts ?? 30;
  const deliveries: DeliveryRecord[] = [];
  const waits: number[] = [];
  const deadLettered: EventGridEventJson[] = [];
  let validated = false;

  async function post(kind: 'SubscriptionValidation' | 'Notification', events: readonly EventGridEventJson[], attempt: number): Promise<{ status: number | 'timeout' | 'error'; body: string }> {
    try {
      const response = await fetch(options.endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'aeg-event-type': kind,
          'aeg-subscription-name': subscriptionName.toUpperCase(),
          'aeg-delivery-count': String(attempt - 1),
          'aeg-data-version': events[0]?.dataVersion ?? '',
          'aeg-metadata-version': '1',
          ...options.headers?.(),
        },
        body: JSON.stringify(events),
        signal: AbortSignal.timeout(RESPONSE_TIMEOUT_MS),
      });
      return { status: response.status, body: await response.text() };
    } catch (error) {
      return { status: (error as Error).name === 'TimeoutError' ? 'timeout' : 'error', body: (error as Error).message };
    }
  }

  async function deliver(event: EventGridEventJson): Promise<'delivered' | 'dead-lettered' | 'expired'> {
    if (!validated) throw new Error('the subscription is not validated: Event Grid delivers nothing to it');
    const ttlSeconds = 24 * 3600;
    let waited = 0;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const { status, body } = await post('Notification', [event], attempt);
      deliveries.push({ eventId: event.id, attempt, status, body });
      if (typeof status === 'number' && status >= 200 && status < 300) return 'delivered';
      if (typeof status === 'number' && NOT_RETRIED.has(status)) {
        deadLettered.push(event);
        return 'dead-lettered';
      }
      const next = RETRY_SCHEDULE_SECONDS[Math.min(attempt - 1, RETRY_SCHEDULE_SECONDS.length - 1)] ?? 3600;
      if (waited + next > ttlSeconds) return 'expired';
      waits.push(next);
      waited += next;
      await wait(next);
    }
    deadLettered.push(event);
    return 'dead-lettered';
  }

  return {
    async subscribe() {
      const code = randomUUID().toUpperCase();
      const event: EventGridEventJson = {
        id: randomUUID(),
        topic,
        subject: '',
        eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent',
        eventTime: new Date().toISOString(),
        data: { validationCode: code, validationUrl: `https://rp-westeurope.eventgrid.azure.net/eventsubscriptions/${subscriptionName}/validate?id=${code}` },
        dataVersion: '2',
        metadataVersion: '1',
      };
      const { status, body } = await post('SubscriptionValidation', [event], 1);
      let echoed: unknown;
      try {
        echoed = (JSON.parse(body) as { validationResponse?: unknown }).validationResponse;
      } catch {
        echoed = undefined;
      }
      validated = status === 200 && echoed === code;
      return validated;
    },
    validated: () => validated,
    async publishBlobCreated(input) {
      const accountUrl = input.accountUrl ?? `https://${account}.blob.core.windows.net`;
      const event: EventGridEventJson = {
        id: randomUUID(),
        topic,
        subject: `/blobServices/default/containers/${input.container}/blobs/${input.path}`,
        eventType: 'Microsoft.Storage.BlobCreated',
        eventTime: new Date().toISOString(),
        data: {
          api: 'PutBlob',
          clientRequestId: randomUUID(),
          requestId: randomUUID(),
          eTag: input.eTag,
          contentType: 'application/json',
          contentLength: input.contentLength ?? 0,
          blobType: 'BlockBlob',
          url: `${accountUrl}/${input.container}/${input.path}`,
          sequencer: '0000000000000000000000000000' + Math.floor(Math.random() * 1e6).toString(16).padStart(8, '0'),
          storageDiagnostics: { batchId: randomUUID() },
        },
        dataVersion: '',
        metadataVersion: '1',
      };
      return { event, outcome: await deliver(event) };
    },
    redeliver: deliver,
    deliver,
    deliveries,
    waits,
    deadLettered,
  };
}
