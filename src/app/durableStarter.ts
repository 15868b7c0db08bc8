/**
 * Starting runs through a Durable client, shared by the HTTP API and the scheduler. Durable's
 * `startNew` *overwrites* a completed or failed instance under the host.json default
 * (`NonRunningStates`), so a start first looks the instance up: any existing instance wins.
 */
import type { DurableClient, DurableOrchestrationStatus } from 'durable-functions';
import { ORCHESTRATOR_NAMES, type RunInput } from '../engine/types';
import { definitionVersion } from '../pipelines/version';
import type { RunStarter, ScheduledStart } from '../scheduler/ports';

export type DurableStartClient = Pick<DurableClient, 'startNew' | 'getStatus' | 'getStatusBy'>;

/** The Durable status of an instance, or undefined when there is none (the client throws on 404). */
export async function findInstance(client: Pick<DurableClient, 'getStatus'>, instanceId: string): Promise<DurableOrchestrationStatus | undefined> {
  try {
    const status = await client.getStatus(instanceId, { showInput: false });
    return status && status.instanceId ? status : undefined;
  } catch (error) {
    if (/\b404\b|not found/i.test((error as Error).message)) return undefined;
    throw error;
  }
}

/** A run to start: the definition's version is stamped here, the one door every start goes through. */
export type RunStart = Omit<RunInput, 'definitionVersion'>;

/** Starts `start` under its run id unless an instance with that id exists; true when started. */
export async function startRunOnce(client: DurableStartClient, start: RunStart): Promise<boolean> {
  const input: RunInput = { ...start, definitionVersion: definitionVersion(start.pipeline) };
  if (await findInstance(client, input.runId)) return false;
  try {
    await client.startNew(ORCHESTRATOR_NAMES.runPipeline, { instanceId: input.runId, input });
    return true;
  } catch (error) {
    // Lost the race to another starter: host.json refuses a start over a pending or running instance.
    if (await findInstance(client, input.runId)) return false;
    throw error;
  }
}

const ACTIVE = ['Pending', 'Running', 'ContinuedAsNew'];

/** The scheduler's view of Durable: start a slot's run once; find a pipeline's active run. */
export function durableRunStarter(client: DurableStartClient): RunStarter {
  return {
    async start(request: ScheduledStart) {
      const started = await startRunOnce(client, {
        pipeline: request.pipeline,
        runId: request.instanceId,
        trigger: request.trigger,
        parameters: request.parameters,
      });
      return started ? 'started' : 'already-exists';
    },
    async runningRun(pipeline: string) {
      const active = await client.getStatusBy({ runtimeStatus: ACTIVE as never });
      const match = active.find((s) => s.name === ORCHESTRATOR_NAMES.runPipeline && pipelineOf(s) === pipeline);
      return match?.instanceId;
    },
  };
}

function pipelineOf(status: DurableOrchestrationStatus): string | undefined {
  const input = status.input as Partial<RunInput> | undefined;
  return input?.pipeline?.name;
}
