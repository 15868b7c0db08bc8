/**
 * A run exists only if the API or the scheduler created it (issue 20). They write the run's record
 * before starting its orchestration (src/app/durableStarter.ts); every activity of a run checks
 * what it was given against that record before it acts. Whoever holds the Durable webhook key can
 * start any orchestration with any input, so the input alone proves nothing: a run without a
 * record, or whose pipeline, definition, trigger (`by`: who started it) or parameters differ from
 * it, is refused permanently and nothing is written about it — least of all into the record of
 * the run it names. An activity is also refused when the instance calling it is not that run or
 * one of its step instances (`<runId>:…`), so one run cannot act on another's record.
 *
 * Activities that start or follow a step attempt are also refused once the run has ended or a
 * cancel was requested (`RunEndedError`, class `cancelled`): an attempt the run could not hear was
 * cancelled never starts.
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

export interface RunGate {
  /**
   * Checks `claim` and the calling instance against the run's record. `acting` (an activity about
   * to start or follow an attempt): also refuse when the run has ended or a cancel was requested.
   * `opening` (the orchestration asking whether it may run): refuse a run that has already ended —
   * its instance was started again over a finished one. Without a run store there is nothing to
   * check.
   */
  check(claim: RunClaim, caller: string | undefined, acting: boolean, opening?: boolean): Promise<void>;
  /** Whether the run has ended or a cancel was requested (a late answer is then marked so). */
  ended(runId: string): Promise<boolean>;
}

export function runGate(store: RunGateReader | undefined): RunGate {
  return {
    async check(claim, caller, acting, opening = false) {
      checkCaller(claim.runId, caller);
      if (!store) return;
      const gate = await store.findRunGate(claim.runId);
      const problem = mismatch(gate.record, claim);
      if (problem) throw new RunRefusedError(problem);
      if (opening && gate.record && isTerminalRunStatus(gate.record.status)) throw new RunRefusedError(`run "${claim.runId}" has already ended (${gate.record.status})`);
      if (!acting) return;
      if (gate.record && isTerminalRunStatus(gate.record.status)) throw new RunEndedError(`run "${claim.runId}" has ended (${gate.record.status}): nothing more starts`);
      if (gate.cancelRequestedAt !== undefined) throw new RunEndedError(`run "${claim.runId}" was cancelled at ${gate.cancelRequestedAt}: nothing more starts`);
      // The run's first attempt: it runs from now on. Written here, before the step acts, never in
      // the attempt's own write, which can come after the run ended (a call that cannot be stopped).
      if (gate.record?.status === 'pending') await store.upsertRun({ runId: claim.runId, pipeline: claim.pipeline, status: 'running' });
    },
    async ended(runId) {
      if (!store) return false;
      const gate = await store.findRunGate(runId);
      return gate.cancelRequestedAt !== undefined || (gate.record !== undefined && isTerminalRunStatus(gate.record.status));
    },
  };
}
