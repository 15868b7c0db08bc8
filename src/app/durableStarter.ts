/**
 * Starting runs through a Durable client, shared by the HTTP API and the scheduler. Durable's
 * `startNew` *overwrites* a completed or failed instance under the host.json default
 * (`NonRunningStates`), so a start first looks the instance up: any existing instance wins.
 */
import { runLabels } from '../projects/runLabels';
import type { DurableClient, DurableOrchestrationStatus } from 'durable-functions';
import { ORCHESTRATOR_NAMES, engineVersionOfRun, type RunInput } from '../engine/types';
import type { PipelineDefinition } from '../pipelines/schema';
import { definitionVersion } from '../pipelines/version';
import type { RunRecord } from '../runs/recorder';
import type { RunStarter, ScheduledStart } from '../scheduler/ports';
import { rememberDefinitions } from './definitions';

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
export type RunStart = Omit<RunInput, 'definitionVersion' | 'pipeline' | 'carry'> & { readonly pipeline: PipelineDefinition };

/** Where a start records the run before its orchestration begins (the run store; none without one). */
export interface PendingRuns {
  /**
   * Pins the definition under its version (src/runs/definitionStore.ts) so the run can finish on
   * it after a deploy changes the catalog; returns the version.
   */
  pinDefinition(definition: PipelineDefinition): Promise<string>;
  /** Creates the run's record if it has none; false when it had one. */
  createPendingRun(run: Pick<RunRecord, 'runId' | 'pipeline' | 'trigger' | 'parameters' | 'definitionVersion' | 'project' | 'tags'>): Promise<boolean>;
}

/**
 * Starts `start` under its run id unless an instance with that id exists; true when started. The
 * run's record is written first: a run exists only if the API or the scheduler created it, and its
 * orchestration and activities check what they are given against that record
 * (src/activities/runGate.ts). The orchestration's input names the definition by version only;
 * the definition itself is pinned in the run store under that version first, so the run finishes
 * on it whatever is deployed later (issue 26).
 */
export async function startRunOnce(client: DurableStartClient, start: RunStart, records: PendingRuns | undefined): Promise<boolean> {
  const version = definitionVersion(start.pipeline);
  // The orchestrators look the definition up by version (src/app/definitions.ts).
  rememberDefinitions([start.pipeline]);
  const input: RunInput = {
    pipeline: start.pipeline.name,
    definitionVersion: version,
    runId: start.runId,
    trigger: start.trigger,
    parameters: start.parameters,
    ...(start.resumeFrom ? { resumeFrom: start.resumeFrom } : {}),
  };
  if (await findInstance(client, input.runId)) return false;
  // Pinned before the record names it: a record never points at a version the store lacks.
  await records?.pinDefinition(start.pipeline);
  // Listed by project and tags from the start (src/projects/runLabels.ts).
  await records?.createPendingRun({ runId: input.runId, pipeline: input.pipeline, trigger: input.trigger, parameters: input.parameters, definitionVersion: version, ...runLabels(start.pipeline, start.trigger) });
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
export function durableRunStarter(client: DurableStartClient, records: PendingRuns | undefined): RunStarter {
  return {
    async start(request: ScheduledStart) {
      const started = await startRunOnce(
        client,
        {
          pipeline: request.pipeline,
          runId: request.instanceId,
          trigger: request.trigger,
          parameters: request.parameters,
        },
        records,
      );
      return started ? 'started' : 'already-exists';
    },
    async runningRun(pipeline: string) {
      const active = await client.getStatusBy({ runtimeStatus: ACTIVE as never });
      // A run of any engine version still registered (one draining after an engine change) overlaps.
      const match = active.find((s) => engineVersionOfRun(s.name) !== undefined && pipelineOf(s) === pipeline);
      return match?.instanceId;
    },
  };
}

function pipelineOf(status: DurableOrchestrationStatus): string | undefined {
  // Runs started before definitions left the input carry the whole definition.
  const pipeline = (status.input as { pipeline?: unknown } | undefined)?.pipeline;
  if (typeof pipeline === 'string') return pipeline;
  const name = (pipeline as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' ? name : undefined;
}
