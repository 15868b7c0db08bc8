/**
 * Red-team F9c: a run terminated through the Durable webhook (`POST …/instances/{id}/terminate`,
 * open to whoever holds the webhook key, or the Portal's Terminate) never runs its `finishRun`
 * activity: the extension stops the orchestration without another episode, so nothing of ours
 * writes the run's end, and its record stayed `running` forever in `runs ls` and the console.
 *
 * The API's reads close such a record: a run whose record has not ended while Durable says the
 * instance is Terminated is written as cancelled, "terminated outside the API", with the time
 * Durable last updated the instance as its end. The terminate's own reason is not repeated: the
 * caller wrote it (the lesson of F9b). A cancel through the API never comes here: it raises the
 * cancel event and the run ends itself.
 */
import type { DurableOrchestrationStatus } from 'durable-functions';
import { isTerminalRunStatus } from '../core/runStatus';
import type { RunRecord, RunRecorder } from '../runs/recorder';

/** The run's error and its last log line (the shape `runEndMessage` gives a run's end). */
export const TERMINATED_OUTSIDE_API = 'run cancelled: terminated outside the API (Durable terminate)';

/** Where the API writes the end of a run Durable terminated (the run store). */
export type RunEndings = Pick<RunRecorder, 'record'>;

export function terminatedOutsideApi(record: RunRecord | undefined, status: DurableOrchestrationStatus | undefined): boolean {
  return record !== undefined && !isTerminalRunStatus(record.status) && (status?.runtimeStatus as string | undefined) === 'Terminated';
}

/** Writes the end of a run Durable terminated and returns its record as now stored. */
export async function closeTerminatedRun(endings: RunEndings, record: RunRecord, status: DurableOrchestrationStatus): Promise<RunRecord> {
  const endedAt = toIso(status.lastUpdatedTime) ?? new Date().toISOString();
  const startedAt = record.startedAt ?? record.createdAt;
  const durationSeconds = Math.max(0, (Date.parse(endedAt) - Date.parse(startedAt)) / 1000);
  const ended: RunRecord = {
    ...record,
    status: 'cancelled',
    endedAt,
    ...(Number.isFinite(durationSeconds) ? { durationSeconds } : {}),
    error: { class: 'cancelled', message: TERMINATED_OUTSIDE_API, code: 'terminated' },
  };
  await endings.record({
    runId: record.runId,
    pipeline: record.pipeline,
    finish: { status: ended.status, endedAt, ...(ended.durationSeconds === undefined ? {} : { durationSeconds: ended.durationSeconds }), ...(ended.error ? { error: ended.error } : {}) },
    lines: [{ time: endedAt, level: 'warn', msg: TERMINATED_OUTSIDE_API }],
  });
  return ended;
}

function toIso(value: Date | string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const iso = typeof value === 'string' ? value : value.toISOString();
  return Number.isNaN(Date.parse(iso)) ? undefined : iso;
}
