/**
 * The dev host's Durable state on disk: one JSON file per orchestration instance (its status, every
 * execution's history, the inbox of messages not yet processed and its pending durable timers),
 * replaced atomically (temp file, fsync, rename: write-file-atomic) after every change, so a killed
 * process leaves each instance as it was after its last complete step and never half-written.
 *
 * The extension's Azure Storage backend keeps the same facts in other shapes: history rows in the
 * `<hub>History` table, one row per instance in `<hub>Instances`, and messages (ExecutionStarted,
 * TaskCompleted, TimerFired, EventRaised…) in the `<hub>-control-NN` queues, activity work items in
 * `<hub>-workitems` (Azure/durabletask, src/DurableTask.AzureStorage: AzureStorageOrchestrationServiceSettings
 * HistoryTableName/InstanceTableName, Messaging/ControlQueue.cs, Messaging/WorkItemQueue.cs). Its
 * CompleteTaskOrchestrationWorkItemAsync first sends an episode's outbound messages, then commits the
 * history ("the actual checkpoint"), then deletes the messages it consumed; a crash in between
 * means a duplicate replay or duplicate message, never a lost one. Here the instance's file is that
 * checkpoint (history and not-yet-consumed messages together); an activity work item is implied by
 * a TaskScheduled without an answer, and messages to other instances are their files (see
 * TaskHub.resume for how duplicates are absorbed).
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { z } from 'zod';
import type { HistoryEvent } from './history';
import type { RuntimeStatus } from './types';

const historyEventSchema = z
  .object({ EventType: z.number().int(), EventId: z.number().int(), IsPlayed: z.boolean(), Timestamp: z.string() })
  .catchall(z.unknown());

const runtimeStatusSchema = z.enum(['Pending', 'Running', 'Completed', 'ContinuedAsNew', 'Failed', 'Terminated']);

/** Version 1 of the instance file; a file of another version is refused, not guessed at. */
const persistedInstanceSchema = z.object({
  version: z.literal(1),
  instanceId: z.string().min(1),
  name: z.string().min(1),
  createdTime: z.iso.datetime(),
  lastUpdatedTime: z.iso.datetime(),
  status: runtimeStatusSchema,
  input: z.string().optional(),
  output: z.string().optional(),
  customStatus: z.unknown().optional(),
  parent: z.object({ instanceId: z.string(), taskScheduledId: z.number().int() }).optional(),
  execution: z.object({
    executionId: z.string(),
    history: z.array(historyEventSchema),
    input: z.string().optional(),
    scheduled: z.number().int(),
    subOrchestrationCounter: z.number().int(),
  }),
  pastExecutions: z.array(z.array(historyEventSchema)),
  inbox: z.array(historyEventSchema),
  /** Pending durable timers: [TimerId, fire time]. */
  timers: z.array(z.tuple([z.number().int(), z.iso.datetime()])),
  /** Events held since a continue-as-new, waiting for the new execution's first answer (instances.ts). */
  heldAtContinue: z.array(historyEventSchema).optional(),
  heldSince: z.iso.datetime().optional(),
  replays: z.number().int(),
  replayCpuMs: z.number(),
});

export interface PersistedInstance {
  readonly version: 1;
  readonly instanceId: string;
  readonly name: string;
  readonly createdTime: string;
  readonly lastUpdatedTime: string;
  readonly status: RuntimeStatus;
  readonly input?: string | undefined;
  readonly output?: string | undefined;
  readonly customStatus: unknown;
  readonly parent?: { readonly instanceId: string; readonly taskScheduledId: number } | undefined;
  readonly execution: {
    readonly executionId: string;
    readonly history: readonly HistoryEvent[];
    readonly input?: string | undefined;
    readonly scheduled: number;
    readonly subOrchestrationCounter: number;
  };
  readonly pastExecutions: readonly (readonly HistoryEvent[])[];
  readonly inbox: readonly HistoryEvent[];
  readonly timers: readonly (readonly [number, string])[];
  readonly heldAtContinue?: readonly HistoryEvent[] | undefined;
  readonly heldSince?: string | undefined;
  readonly replays: number;
  readonly replayCpuMs: number;
}

export interface LoadResult {
  readonly instances: PersistedInstance[];
  /** Files that could not be read, renamed to `<file>.unreadable` so they are kept for a look, not lost. */
  readonly unreadable: { readonly file: string; readonly reason: string }[];
}

const SUFFIX = '.json';

export class InstanceFileStore {
  constructor(readonly directory: string) {
    mkdirSync(directory, { recursive: true });
  }

  /** Replaces the instance's file; synchronous so the file is on disk before the host acts on the change. */
  save(instance: PersistedInstance): void {
    writeFileAtomic.sync(this.fileOf(instance.instanceId), JSON.stringify(instance), { fsync: true });
  }

  remove(instanceId: string): void {
    rmSync(this.fileOf(instanceId), { force: true });
  }

  load(): LoadResult {
    const instances: PersistedInstance[] = [];
    const unreadable: { file: string; reason: string }[] = [];
    for (const entry of readdirSync(this.directory)) {
      // write-file-atomic's temp files (`<name>.json.<hash>`) of an interrupted write are left alone
      if (!entry.endsWith(SUFFIX)) continue;
      const file = join(this.directory, entry);
      try {
        instances.push(persistedInstanceSchema.parse(JSON.parse(readFileSync(file, 'utf8'))) as PersistedInstance);
      } catch (error) {
        const reason = error instanceof z.ZodError ? z.prettifyError(error) : error instanceof Error ? error.message : String(error);
        renameSync(file, `${file}.unreadable`);
        unreadable.push({ file, reason });
      }
    }
    return { instances, unreadable };
  }

  /** Instance ids may hold any character (sub-orchestrations use `parent:0001`): the file name is their base64url. */
  private fileOf(instanceId: string): string {
    return join(this.directory, `${Buffer.from(instanceId, 'utf8').toString('base64url')}${SUFFIX}`);
  }
}
