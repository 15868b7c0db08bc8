/**
 * Mapping between the recorder's records and table entities. Nested values are stored as JSON
 * strings; anything that could break Table Storage's limits (64 KiB per string property, 1 MiB per
 * entity) is truncated with a visible marker rather than failing the write.
 */
import type { Json, JsonObject } from '../core/json';
import type { FailureInfo } from '../core/errors';
import { isTerminalRunStatus, TERMINAL_RUN_STATUSES } from '../core/runStatus';
import type { RunStatus } from '../engine/types';
import type { RunTrigger, StepMetrics } from '../steps/protocol';
import type { DstMark, } from '../scheduler/slots';
import type { SlotEntry, SlotOutcome } from '../scheduler/ports';
import type { AttemptRecord, LogLine, RunRecord } from './recorder';

/** Characters of one JSON property: 64 KiB is 32 Ki UTF-16 code units; stay clear of it. */
export const MAX_JSON_CHARS = 30_000;
/** Characters of a log message or error message. */
export const MAX_TEXT_CHARS = 8_000;

export const TRUNCATED = '[truncated]';

export function truncateText(text: string, max = MAX_TEXT_CHARS): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}… ${TRUNCATED} ${text.length - max} more characters`;
}

/** JSON text of a value; too big → a small object saying so, with the start of the text. */
export function encodeJson(value: unknown, max = MAX_JSON_CHARS): string {
  const text = JSON.stringify(value);
  if (text.length <= max) return text;
  return JSON.stringify({ $truncated: true, originalChars: text.length, preview: text.slice(0, Math.min(2_000, max)) });
}

export function decodeJson<T>(text: unknown): T | undefined {
  if (typeof text !== 'string' || text === '') return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

type EntityValue = string | number | boolean;
export type EntityProps = Record<string, EntityValue>;

/** Drops undefined so a merge never writes a property it does not mean to. */
function defined(props: Record<string, EntityValue | undefined>): EntityProps {
  const out: EntityProps = {};
  for (const [k, v] of Object.entries(props)) if (v !== undefined) out[k] = v;
  return out;
}

export const TERMINAL: readonly RunStatus[] = TERMINAL_RUN_STATUSES;
const RANK: Record<RunStatus, number> = { pending: 0, running: 1, succeeded: 2, failed: 2, cancelled: 2 };

export const isTerminal = (status: RunStatus): boolean => isTerminalRunStatus(status);

/**
 * The status a run has after a write: a terminal status is final (the first one sticks) and a
 * status never moves back (a late `pending` after `running` is ignored).
 */
export function nextStatus(current: RunStatus, incoming: RunStatus | undefined): RunStatus {
  if (incoming === undefined || isTerminal(current)) return current;
  return RANK[incoming] >= RANK[current] ? incoming : current;
}

export const RUN_STATUSES: readonly RunStatus[] = ['pending', 'running', 'succeeded', 'failed', 'cancelled'];
const isRunStatus = (v: unknown): v is RunStatus => typeof v === 'string' && (RUN_STATUSES as readonly string[]).includes(v);

/** Run row properties for the fields present in `run` (keys and createdMs added by the caller). */
export function runProps(run: Partial<RunRecord>): EntityProps {
  return defined({
    pipeline: run.pipeline,
    project: run.project,
    tags: run.tags === undefined ? undefined : encodeJson(run.tags),
    status: run.status,
    triggerKind: run.trigger?.kind,
    triggerOrigin: run.trigger?.origin,
    scheduledFor: run.trigger?.scheduledFor,
    triggerBy: run.trigger?.by,
    triggerRequestedAt: run.trigger?.requestedAt,
    definitionVersion: run.definitionVersion,
    parameters: run.parameters === undefined ? undefined : encodeJson(run.parameters),
    createdAt: run.createdAt,
    startedAt: run.startedAt,
    endedAt: run.endedAt,
    durationSeconds: run.durationSeconds,
    pipelineAttempt: run.pipelineAttempt,
    error: run.error === undefined ? undefined : encodeJson({ ...run.error, message: truncateText(run.error.message) }),
    metrics: run.metrics === undefined ? undefined : encodeJson(run.metrics),
    rerunOf: run.rerunOf,
  });
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

export function runFromEntity(runId: string, e: Record<string, unknown>): RunRecord {
  const kind = str(e['triggerKind']) as RunTrigger['kind'] | undefined;
  const trigger: RunTrigger = {
    kind: kind ?? 'manual',
    ...(str(e['triggerOrigin']) !== undefined ? { origin: str(e['triggerOrigin'])! } : {}),
    ...(str(e['scheduledFor']) !== undefined ? { scheduledFor: str(e['scheduledFor'])! } : {}),
    ...(str(e['triggerRequestedAt']) !== undefined ? { requestedAt: str(e['triggerRequestedAt'])! } : {}),
    ...(str(e['triggerBy']) !== undefined ? { by: str(e['triggerBy'])! } : {}),
  };
  const error = decodeJson<FailureInfo & { stepId?: string }>(e['error']);
  const metrics = decodeJson<Record<string, StepMetrics>>(e['metrics']);
  const tags = decodeJson<unknown>(e['tags']);
  const optional = {
    project: str(e['project']),
    startedAt: str(e['startedAt']),
    endedAt: str(e['endedAt']),
    durationSeconds: num(e['durationSeconds']),
    pipelineAttempt: num(e['pipelineAttempt']),
    rerunOf: str(e['rerunOf']),
    definitionVersion: str(e['definitionVersion']),
  };
  return {
    runId,
    pipeline: str(e['pipeline']) ?? '',
    status: isRunStatus(e['status']) ? e['status'] : 'pending',
    trigger,
    parameters: decodeJson<JsonObject>(e['parameters']) ?? {},
    createdAt: str(e['createdAt']) ?? '',
    ...(Array.isArray(tags) ? { tags: tags.filter((t): t is string => typeof t === 'string') } : {}),
    ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)),
    ...(error !== undefined ? { error } : {}),
    ...(metrics !== undefined ? { metrics } : {}),
  };
}

/** Merge of stored metrics with new ones, per step. */
export function mergeMetrics(stored: unknown, incoming: Readonly<Record<string, StepMetrics>> | undefined): Record<string, StepMetrics> | undefined {
  if (incoming === undefined) return undefined;
  const before = decodeJson<Record<string, StepMetrics>>(stored) ?? {};
  const out: Record<string, StepMetrics> = { ...before };
  for (const [step, m] of Object.entries(incoming)) out[step] = { ...(before[step] ?? {}), ...m };
  return out;
}

export function attemptProps(a: AttemptRecord): EntityProps {
  return defined({
    pipeline: a.pipeline,
    stepId: a.stepId,
    attempt: a.attempt,
    status: a.status,
    startedAt: a.startedAt,
    endedAt: a.endedAt,
    error: a.error === undefined ? undefined : encodeJson({ ...a.error, message: truncateText(a.error.message) }),
    metrics: a.metrics === undefined ? undefined : encodeJson(a.metrics),
    output: a.output === undefined ? undefined : encodeJson(a.output),
    finishedAfterEnd: a.finishedAfterEnd,
  });
}

export function attemptFromEntity(runId: string, e: Record<string, unknown>): AttemptRecord {
  const status = str(e['status']);
  const error = decodeJson<FailureInfo>(e['error']);
  const metrics = decodeJson<StepMetrics>(e['metrics']);
  const output = decodeJson<Json>(e['output']);
  return {
    runId,
    pipeline: str(e['pipeline']) ?? '',
    stepId: str(e['stepId']) ?? '',
    attempt: num(e['attempt']) ?? 0,
    status: status === 'succeeded' || status === 'failed' || status === 'cancelled' ? status : 'running',
    startedAt: str(e['startedAt']) ?? '',
    ...(str(e['endedAt']) !== undefined ? { endedAt: str(e['endedAt'])! } : {}),
    ...(error !== undefined ? { error } : {}),
    ...(metrics !== undefined ? { metrics } : {}),
    ...(output !== undefined ? { output } : {}),
    ...(e['finishedAfterEnd'] === true ? { finishedAfterEnd: true as const } : {}),
  };
}

export function logProps(line: LogLine): EntityProps {
  return defined({
    time: line.time,
    level: line.level,
    msg: truncateText(line.msg),
    stepId: line.stepId,
    attempt: line.attempt,
    fields: line.fields === undefined ? undefined : encodeJson(line.fields, 16_000),
  });
}

const LEVELS: readonly LogLine['level'][] = ['debug', 'info', 'warn', 'error'];

export function logFromEntity(e: Record<string, unknown>): LogLine {
  const level = str(e['level']);
  const fields = decodeJson<JsonObject>(e['fields']);
  return {
    time: str(e['time']) ?? '',
    level: LEVELS.find((l) => l === level) ?? 'info',
    msg: str(e['msg']) ?? '',
    ...(str(e['stepId']) !== undefined ? { stepId: str(e['stepId'])! } : {}),
    ...(num(e['attempt']) !== undefined ? { attempt: num(e['attempt'])! } : {}),
    ...(fields !== undefined ? { fields } : {}),
  };
}

export function slotProps(entry: SlotEntry): EntityProps {
  return defined({
    pipeline: entry.pipeline,
    schedule: entry.schedule,
    slot: entry.slot,
    local: entry.local,
    scheduledLocal: entry.scheduledLocal,
    dst: entry.dst ?? '',
    outcome: entry.outcome,
    reason: entry.reason === undefined ? undefined : truncateText(entry.reason),
    instanceId: entry.instanceId,
    lateBySeconds: entry.lateBySeconds,
    attempts: entry.attempts,
    backfill: entry.backfill,
    recordedAt: entry.recordedAt,
    updatedAt: entry.updatedAt,
  });
}

export function slotFromEntity(e: Record<string, unknown>): SlotEntry {
  const dst = str(e['dst']);
  const dstMark: DstMark = dst === 'gap' || dst === 'overlap' ? dst : null;
  return {
    pipeline: str(e['pipeline']) ?? '',
    schedule: str(e['schedule']) ?? '',
    slot: str(e['slot']) ?? '',
    local: str(e['local']) ?? '',
    scheduledLocal: str(e['scheduledLocal']) ?? '',
    dst: dstMark,
    outcome: (str(e['outcome']) ?? 'starting') as SlotOutcome,
    ...(str(e['reason']) !== undefined ? { reason: str(e['reason'])! } : {}),
    ...(str(e['instanceId']) !== undefined ? { instanceId: str(e['instanceId'])! } : {}),
    lateBySeconds: num(e['lateBySeconds']) ?? 0,
    attempts: num(e['attempts']) ?? 0,
    ...(str(e['backfill']) !== undefined ? { backfill: str(e['backfill'])! } : {}),
    recordedAt: str(e['recordedAt']) ?? '',
    updatedAt: str(e['updatedAt']) ?? '',
  };
}
