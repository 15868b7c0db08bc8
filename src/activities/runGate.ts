/**
 * A run exists only if the API or the scheduler created it (issue 20). They write the run's record
 * before starting its orchestration (src/app/durableStarter.ts). Whoever holds the Durable webhook
 * key can start any orchestration with any input, so the input alone proves nothing. The chain of
 * trust, at no table operation per step:
 *
 * - `runPipeline` opens every execution with activity `reconcileRun`, which checks the run against
 *   its record (`openRun`): a run without a record, or whose pipeline, definition, trigger (with
 *   `by`, who started it) or parameters differ from it, is refused permanently and its orchestration
 *   fails writing nothing — least of all into the record of the run it names;
 * - every other orchestrator refuses to run unless it is a sub-orchestration of that run
 *   (src/engine/lineage.ts: a client or the webhook cannot start one with a parent);
 * - every activity refuses a calling instance that is not the run its input names or one of that
 *   run's step instances (`<runId>:…`, `checkCaller`), so one run cannot act on another's record.
 */
import { isDeepStrictEqual } from 'node:util';
import { PermanentError, RunEndedError } from '../core/errors';
import type { JsonObject } from '../core/json';
import { isTerminalRunStatus } from '../core/runStatus';
import type { RunGateReader, RunRecord } from '../runs/recorder';
import { RUN_REFUSED_CODE, type RunTrigger } from '../steps/protocol';

/** What an activity was told about its run. */
export interface RunClaim {
  readonly runId: string;
  readonly pipeline: string;
  readonly definitionVersion?: string;
  readonly trigger?: RunTrigger;
  readonly parameters?: JsonObject;
}

export class RunRefusedError extends PermanentError {
  constructor(message: string) {
    super(`run refused: ${message}. Runs start through the API or the scheduler.`, { code: RUN_REFUSED_CODE });
  }
}

/** The instance calling an activity must be the run itself or one of its step instances. */
export function checkCaller(runId: string, caller: string | undefined): void {
  if (caller === undefined || caller === runId || caller.startsWith(`${runId}:`)) return;
  throw new RunRefusedError(`instance "${caller}" is not run "${runId}" nor one of its steps`);
}

/** The fields of a trigger the record keeps. */
function recordedTrigger(trigger: RunTrigger | undefined): Partial<RunTrigger> {
  if (!trigger) return {};
  const { kind, origin, scheduledFor, requestedAt, by } = trigger;
  return Object.fromEntries(Object.entries({ kind, origin, scheduledFor, requestedAt, by }).filter(([, v]) => v !== undefined));
}

/** Why `claim` does not match `record`, or undefined when it does. */
export function mismatch(record: RunRecord | undefined, claim: RunClaim): string | undefined {
  if (!record) return `run "${claim.runId}" has no record`;
  if (record.pipeline !== claim.pipeline) return `run "${claim.runId}" is a run of pipeline "${record.pipeline}", not "${claim.pipeline}"`;
  if (claim.definitionVersion !== undefined && record.definitionVersion !== undefined && record.definitionVersion !== claim.definitionVersion) {
    return `run "${claim.runId}" was started with definition ${record.definitionVersion}, not ${claim.definitionVersion}`;
  }
  if (claim.trigger !== undefined && !isDeepStrictEqual(recordedTrigger(record.trigger), recordedTrigger(claim.trigger))) {
    return `run "${claim.runId}" was started ${describe(record.trigger)}, not ${describe(claim.trigger)}`;
  }
  const truncated = typeof record.parameters === 'object' && '$truncated' in record.parameters;
  if (claim.parameters !== undefined && !truncated && !isDeepStrictEqual(record.parameters, claim.parameters)) return `run "${claim.runId}" was started with other parameters`;
  return undefined;
}

function describe(trigger: RunTrigger): string {
  return `${trigger.kind}${trigger.by === undefined ? '' : ` by ${JSON.stringify(trigger.by)}`}`;
}

/** What `reconcileRun` learns when a run opens an execution: its cancel request, if any. */
export interface Opened {
  readonly cancelRequestedAt?: string;
}

/**
 * Checks a run against its record when it opens an execution (the first question of every
 * execution, activity `reconcileRun`): refuses a run with no record or a record that says otherwise,
 * a record that says the run already ended (its instance was started again over a finished one), and
 * a caller that is not the run. Without a run store there is nothing to check.
 */
export async function openRun(store: RunGateReader | undefined, claim: RunClaim, caller: string | undefined): Promise<Opened> {
  if (caller !== undefined && caller !== claim.runId) throw new RunRefusedError(`instance "${caller}" is not run "${claim.runId}"`);
  if (!store) return {};
  const gate = await store.findRunGate(claim.runId);
  const problem = mismatch(gate.record, claim);
  if (problem) throw new RunRefusedError(problem);
  if (gate.record && isTerminalRunStatus(gate.record.status)) throw new RunRefusedError(`run "${claim.runId}" has already ended (${gate.record.status})`);
  return gate.cancelRequestedAt === undefined ? {} : { cancelRequestedAt: gate.cancelRequestedAt };
}

/**
 * Refuses a retry (an attempt after a step's first) once its run has ended or a cancel was recorded
 * (`RunEndedError`): a step that has not heard of the cancel yet starts nothing. One read, only
 * for retries; a first attempt starts only when the run admits it, which it no longer does once it
 * was interrupted.
 */
export async function refuseAfterEnd(store: RunGateReader | undefined, runId: string): Promise<void> {
  if (!store) return;
  const gate = await store.findRunGate(runId);
  if (gate.record && isTerminalRunStatus(gate.record.status)) throw new RunEndedError(`run "${runId}" has ended (${gate.record.status}): nothing more starts`);
  if (gate.cancelRequestedAt !== undefined) throw new RunEndedError(`run "${runId}" was cancelled at ${gate.cancelRequestedAt}: nothing more starts`);
}
