/**
 * "Pipeline succeeded" triggers: when a run ends succeeded, each pipeline with a trigger on its
 * pipeline gets one run — Airflow's dataset-scheduled DAGs, Dagster's run-status sensors, ADF's
 * "Execute Pipeline" chaining across teams without the upstream knowing its downstreams. The
 * downstream run takes the upstream's logical date (its slot, or its request instant) and the
 * parameters its trigger maps from the upstream run: facts, parameters, step outputs.
 */
import type { Json, JsonObject } from '../core/json';
import type { RunState } from '../engine/types';
import { valueAtPath } from '../pipelines/outputRef';
import type { Catalog } from '../pipelines/catalog';
import type { RunTrigger } from '../steps/protocol';
import { fireTrigger, triggeredRunId, type FirePorts } from './fire';
import type { TriggerDefinition } from './schema';

export interface UpstreamRun {
  readonly run: Pick<RunState, 'runId' | 'pipeline' | 'status' | 'steps'>;
  readonly trigger: RunTrigger;
  readonly parameters: JsonObject;
}

/** The downstream parameters a trigger maps from the upstream run; a value that is missing upstream is left out (the run then uses its default, or is refused). */
export function downstreamParameters(trigger: TriggerDefinition, upstream: UpstreamRun): JsonObject {
  const out: Record<string, Json> = {};
  for (const [name, value] of Object.entries(trigger.parameters)) if (typeof value !== 'object') out[name] = value;
  for (const [name, value] of Object.entries(trigger.pipelineSucceeded?.parameters ?? {})) {
    let resolved: Json | undefined;
    if (typeof value !== 'object') resolved = value;
    else if ('upstream' in value) {
      const instant = upstream.trigger.scheduledFor ?? upstream.trigger.requestedAt;
      resolved = value.upstream === 'runId' ? upstream.run.runId
        : value.upstream === 'pipeline' ? upstream.run.pipeline
        : value.upstream === 'scheduledFor' ? instant
        : instant?.slice(0, 10);
    } else if ('upstreamParam' in value) resolved = Object.hasOwn(upstream.parameters, value.upstreamParam) ? upstream.parameters[value.upstreamParam] : undefined;
    else resolved = valueAtPath(upstream.run.steps.find((s) => s.id === value.output.step)?.output, value.output.path);
    if (resolved !== undefined) out[name] = resolved;
  }
  return out;
}

/** Starts the downstream runs of a succeeded upstream run, each once. */
export async function fireDownstream(upstream: UpstreamRun, catalog: Pick<Catalog, 'pipelines'>, ports: FirePorts): Promise<number> {
  if (upstream.run.status !== 'succeeded') return 0;
  let started = 0;
  for (const pipeline of catalog.pipelines) {
    for (const trigger of pipeline.triggers) {
      if (!trigger.enabled || trigger.pipelineSucceeded?.pipeline !== upstream.run.pipeline) continue;
      const outcome = await fireTrigger(
        {
          pipeline,
          trigger: trigger.name,
          runId: triggeredRunId(pipeline.name, trigger.name, upstream.run.runId),
          runTrigger: {
            kind: 'pipeline',
            origin: upstream.run.runId,
            ...(upstream.trigger.scheduledFor ? { scheduledFor: upstream.trigger.scheduledFor } : {}),
            ...(upstream.trigger.requestedAt ? { requestedAt: upstream.trigger.requestedAt } : {}),
            by: `trigger:${trigger.name}`,
          },
          parameters: downstreamParameters(trigger, upstream),
          source: `run ${upstream.run.runId} of ${upstream.run.pipeline}`,
        },
        ports,
      );
      if (outcome === 'started') started += 1;
    }
  }
  return started;
}
