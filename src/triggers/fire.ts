/**
 * Starting the runs a trigger owes, once: the run id derives from what fired it (the upstream run,
 * or the blob and its version), and the start goes through `startRunOnce`, which starts nothing
 * when an instance with that id exists. So an activity retried after a crash, two deliveries of one
 * Event Grid event, or a replayed run end start one run.
 */
import { createHash } from 'node:crypto';
import type { JsonObject } from '../core/json';
import { resolveParameters, runFactsAt } from '../pipelines/parameters';
import type { PipelineDefinition } from '../pipelines/schema';
import type { RunTrigger } from '../steps/protocol';
import type { TriggerEvent, TriggerOutcome } from './history';

/** Durable instance ids of the Azure Storage backend hold at most 100 characters. */
const MAX_INSTANCE_ID = 100;

/** `trig:<pipeline>:<trigger>:<what fired it>`, hashed when long or when `key` holds characters a run id cannot. */
export function triggeredRunId(pipeline: string, trigger: string, key: string): string {
  const plain = `trig:${pipeline}:${trigger}:${key}`;
  if (plain.length <= MAX_INSTANCE_ID && /^[A-Za-z0-9:_-]+$/.test(plain)) return plain;
  const digest = createHash('sha256').update(plain).digest('hex').slice(0, 24);
  return `trig:${pipeline}:${trigger}:${digest}`.slice(0, MAX_INSTANCE_ID);
}

export interface TriggeredStart {
  readonly pipeline: PipelineDefinition;
  readonly trigger: string;
  readonly runId: string;
  readonly runTrigger: RunTrigger;
  /** Values the event gives, over the trigger's literals, over the pipeline's defaults. */
  readonly parameters: JsonObject;
  /** For the ledger: what fired it. */
  readonly source: string;
}

export interface FirePorts {
  /** Starts unless an instance with the id exists; true when this call started it. */
  start(start: { pipeline: PipelineDefinition; runId: string; trigger: RunTrigger; parameters: JsonObject }): Promise<boolean>;
  record(event: TriggerEvent): Promise<void>;
  readonly now: () => Date;
  readonly log: { info(fields: object, msg: string): void; error(fields: object, msg: string): void };
}

/** Starts one triggered run (once), records what happened; never throws for bad parameters (they are recorded). */
export async function fireTrigger(start: TriggeredStart, ports: FirePorts): Promise<TriggerOutcome> {
  const at = ports.now().toISOString();
  const instant = start.runTrigger.scheduledFor ?? start.runTrigger.requestedAt ?? at;
  const resolved = resolveParameters(start.pipeline, start.parameters, {}, runFactsAt(instant));
  const base = { pipeline: start.pipeline.name, trigger: start.trigger, at, source: start.source, runId: start.runId } as const;
  if (!resolved.ok) {
    const reason = `invalid parameters: ${resolved.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`;
    ports.log.error({ event: 'trigger.failed', ...base, reason }, 'trigger could not start its run');
    await ports.record({ ...base, outcome: 'failed', reason });
    return 'failed';
  }
  const started = await ports.start({ pipeline: start.pipeline, runId: start.runId, trigger: start.runTrigger, parameters: resolved.parameters });
  const outcome: TriggerOutcome = started ? 'started' : 'duplicate';
  ports.log.info({ event: `trigger.${outcome}`, ...base }, started ? 'trigger started a run' : 'trigger event already had its run');
  await ports.record({ ...base, outcome });
  return outcome;
}
