/**
 * The trigger ledger (`triggers history`): one row per event a trigger heard — started a run, was
 * a duplicate of one already started, could not start one (and why) — in the run store's
 * schedules table, partition `trigger~<pipeline>~<trigger>`, newest first by row key. Events that
 * match no trigger are logged (`trigger.unmatched`), not stored: nothing owns them.
 */
import { randomBytes } from 'node:crypto';
import type { TableClient } from '@azure/data-tables';
import { encodeKeyPart, invertedTime, odataString, SEP } from '../runs/keys';

export type TriggerOutcome = 'started' | 'duplicate' | 'failed';

export interface TriggerEvent {
  readonly pipeline: string;
  readonly trigger: string;
  readonly at: string;
  /** What fired it: `run <id> of <pipeline>`, or the blob's URL and ETag. */
  readonly source: string;
  readonly outcome: TriggerOutcome;
  readonly runId?: string;
  readonly reason?: string;
}

const partition = (pipeline: string, trigger: string): string => `trigger${SEP}${encodeKeyPart(pipeline)}${SEP}${encodeKeyPart(trigger)}`;

export class TriggerHistory {
  constructor(private readonly table: TableClient, private readonly ready: () => Promise<void>) {}

  async record(event: TriggerEvent): Promise<void> {
    await this.ready();
    // Two deliveries of one event in the same millisecond are two lines of history: a random tail keeps both.
    const rowKey = `${invertedTime(Date.parse(event.at))}${SEP}${encodeKeyPart(event.runId ?? event.source).slice(0, 200)}${SEP}${event.outcome}${SEP}${randomBytes(4).toString('hex')}`;
    const props = Object.fromEntries(Object.entries({ ...event }).filter(([, v]) => v !== undefined)) as Record<string, string>;
    await this.table.upsertEntity({ partitionKey: partition(event.pipeline, event.trigger), rowKey, ...props }, 'Replace');
  }

  async list(pipeline: string, trigger: string, limit: number): Promise<TriggerEvent[]> {
    await this.ready();
    const out: TriggerEvent[] = [];
    const rows = this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter: `PartitionKey eq ${odataString(partition(pipeline, trigger))}` } });
    for await (const row of rows) {
      const s = (k: string): string | undefined => (typeof row[k] === 'string' && row[k] !== '' ? (row[k]) : undefined);
      const outcome = s('outcome');
      out.push({
        pipeline, trigger, at: s('at') ?? '', source: s('source') ?? '',
        outcome: outcome === 'duplicate' || outcome === 'failed' ? outcome : 'started',
        ...(s('runId') ? { runId: s('runId')! } : {}),
        ...(s('reason') ? { reason: s('reason')! } : {}),
      });
      if (out.length >= limit) break;
    }
    return out;
  }
}
