/**
 * `runPipeline`: the one generic orchestrator. It runs a pipeline definition as a DAG — whenever
 * steps are ready (dependencies succeeded) it starts them, each retrying by its own policy with
 * durable timers — then retries the whole run (only what did not succeed) and ends with `finishRun`.
 *
 * Orchestrator code is replayed from history on every wake-up, so everything here is a pure
 * function of the history: time comes from `context.df.currentUtcDateTime`, jitter from a hash, the
 * definition from a content-addressed lookup (definitions.ts).
 *
 * An execution: `reconcileRun` first (the run must match the record the API or the scheduler
 * created; a continued execution also asks after what its predecessor could not hear), then the
 * dataflow (dataflow.ts), pipeline retries, and on a cancel or the run's timeout the stop
 * (stopping.ts). Past its history budget it continues as new with a compact carry (carry.ts),
 * its steps' full states archived (archive.ts).
 */
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import type { FailureInfo } from '../core/errors';
import type { JsonObject } from '../core/json';
import type { PipelineDefinition } from '../pipelines/schema';
import { formatDuration } from '../pipelines/duration';
import { ACTIVITY_NAMES } from '../steps/protocol';
import { collectArchived, writeArchive } from './archive';
import { CarriedSteps, encodeSteps, inFlightOf } from './carry';
import { dateAt, isoAt } from './clock';
import { fittedWhenSerialized, forCustomStatus } from './customStatus';
import { runRound } from './dataflow';
import { isHandled, readySteps, unreachableSteps } from './dag';
import { definitionOf, missingDefinitionMessage, type DefinitionSource } from './definitions';
import { readTaskFailure } from './failure';
import { CANCEL_EVENT, interruptsFor } from './interrupts';
import { DEFAULT_POLLS_PER_EXECUTION } from './pollStep';
import { reconcileNow } from './reconcile';
import { finalizeForEach, itemValueFor, liveShape } from './items';
import { parseItemStepId } from '../pipelines/items';
import { carryKept, referenceMapOf, restoreKept, upstreamFor } from './referenced';
import { budgetFor, HISTORY_COST, isDone, type RunScope, type RunShape } from './scope';
import { RunTracker } from './state';
import { cancelTimers, createStepEnv, drive } from './stepRoutine';
import { endInterrupted, tellStepsToStop } from './stopping';
import type { RunCarry, RunInput, RunState, StepStatus, Stop } from './types';
import { acquirePools, releasePools, runClaimId } from './pools';

export { CANCEL_EVENT } from './interrupts';
export { CHECK_IN_MS } from './dataflow';
export { HISTORY_BOUND } from './scope';

/**
 * Input of the `finishRun` activity. No alerts or title: the activity takes them from the deployed
 * definition, so a crafted run cannot send its summary to a webhook of its choosing.
 */
export interface FinishRunInput {
  readonly run: RunState;
  readonly trigger: RunInput['trigger'];
  readonly parameters: JsonObject;
}

export interface RunPipelineOptions {
  /** Where the orchestrators find a run's definition by its version (definitions.ts). */
  readonly definitions: DefinitionSource;
  /** Polls per execution of the polling sub-orchestration before it continues as new. */
  readonly maxPollsPerExecution?: number;
  /** Events one execution may hold before it continues as new (`HISTORY_BOUND`; tests lower it). */
  readonly historyBound?: number;
}

const NO_STEPS: RunShape = { steps: [], concurrencyGroups: {} };

export function createRunPipeline(options: RunPipelineOptions): OrchestrationHandler {
  const maxPollsPerExecution = options.maxPollsPerExecution ?? DEFAULT_POLLS_PER_EXECUTION;
  return function* runPipeline(context: OrchestrationContext): Generator<Task, RunState, unknown> {
    const df = context.df;
    const input = df.getInput<RunInput>();
    const { carry } = input;
    const startedMs = carry?.startedMs ?? df.currentUtcDateTime.getTime();
    const definition = definitionOf(options.definitions, input.pipeline, input.definitionVersion);
    const shape = liveShape(definition ?? NO_STEPS, carry?.expanded);
    const forEachSteps = new Set(shape.defined.filter((s) => s.forEach !== undefined).map((s) => s.id));
    const tracker = new RunTracker(
      { runId: input.runId, pipeline: { name: input.pipeline, steps: shape.steps }, ...(input.resumeFrom ? { resumeFrom: input.resumeFrom } : {}) },
      startedMs,
      carry && definition ? new CarriedSteps(carry, shape.defined.map((s) => s.id), shape.steps.length) : undefined,
      { references: referenceMapOf({ steps: [...shape.defined] }), kept: restoreKept(carry?.values, carry?.oversize), forEachSteps, expanded: shape.expanded, ...(carry?.itemFailures ? { itemFailures: carry.itemFailures } : {}) },
    );
    const definedSteps = definition?.steps ?? [];
    if (carry) tracker.pipelineAttempt = carry.pipelineAttempt;
    const env = createStepEnv(
      context,
      { runId: input.runId, pipelineName: input.pipeline, definitionVersion: input.definitionVersion, parameters: input.parameters, trigger: input.trigger },
      tracker,
      {
        maxPollsPerExecution,
        upstream: (id) => {
          // An item refers to what its step refers to (its `when` and items are its step's business).
          const ownId = parseItemStepId(id)?.stepId ?? id;
          const step = definedSteps.find((s) => s.id === ownId);
          return step ? upstreamFor(step, tracker.kept).upstream : undefined;
        },
        item: (id) => itemValueFor(shape, id, { parameters: input.parameters, kept: tracker.kept }),
        publish: () => {
          const snapshot = tracker.liveSnapshot();
          df.setCustomStatus(fittedWhenSerialized(() => forCustomStatus(snapshot)));
        },
      },
    );
    const timeout = definition?.timeout;
    const deadlineMs = timeout === undefined ? undefined : startedMs + timeout * 1000;
    const scope: RunScope = {
      env,
      input,
      definition: shape,
      interrupts: interruptsFor(context, CANCEL_EVENT, deadlineMs),
      deadlineMs,
      // A running forEach step runs through its items, not in a sub-orchestration of its own.
      inFlight: new Map(carry && definition ? inFlightOf(input.runId, tracker, shape.defined.flatMap((s) => (forEachSteps.has(s.id) ? [] : [s.id]))) : []),
      budget: budgetFor(options.historyBound),
      missing: new Set(carry?.missing ?? []),
      open: [],
    };

    // The run must be one the API or the scheduler created (a refusal ends the orchestration here,
    // writing nothing). A continued execution asks twice: events batched with the first answer of
    // a new execution can be discarded (Azure/durabletask#1399); the second answer, read after the
    // first one was taken, sees what they said.
    let stop: Stop | undefined = carry?.stop;
    const found = yield* reconcileNow(scope, [...scope.inFlight.values()], !carry);
    const foundAgain = carry ? yield* reconcileNow(scope, [...scope.inFlight.values()], false) : undefined;
    stop ??= found ?? foundAgain;
    if (!definition) return yield* finish(scope, tracker, failedWithoutDefinition(tracker, input, env.nowMs()), undefined);
    env.publish();
    // Run-level pools (pools.ts): taken before the first step; a continued execution holds them already.
    const runPools = definition.pools ?? [];
    if (!carry && !stop && runPools.length > 0) {
      const acquiring = acquirePools(env, runPools, runClaimId(input.runId), (wait) => {
        tracker.poolWait = wait;
        env.publish();
      });
      stop = yield* drive(env, acquiring, scope.interrupts);
      tracker.poolWait = undefined;
      env.publish();
    }

    let retriesLeft = carry?.retriesLeft ?? definition.pipelineRetry.retries;
    // An execution that inherits a stop was born after the steps were told.
    const told = carry?.stop !== undefined;
    let endedMs: number | undefined;
    /** The interrupt cut a pipeline-retry wait short: the run was waiting, not settled. */
    let retryWaitCut = false;
    const continueRun = function* (stopping: Stop | undefined): Generator<Task, RunState, unknown> {
      const archived = tracker.takeArchive();
      const archives = (carry?.archives ?? 0) + (archived.length > 0 ? 1 : 0);
      if (archived.length > 0) yield* writeArchive(scope, archives, archived);
      const next: RunCarry = {
        startedMs,
        pipelineAttempt: tracker.pipelineAttempt,
        retriesLeft,
        continued: (carry?.continued ?? 0) + 1,
        ...encodeSteps(tracker.carried()),
        archives,
        ...carryKept(tracker.kept),
        ...(shape.expanded.length > 0 ? { expanded: shape.expanded } : {}),
        ...(tracker.carriedItemFailures() === undefined ? {} : { itemFailures: tracker.carriedItemFailures() }),
        ...(stopping ? { stop: stopping } : {}),
        ...(scope.missing.size > 0 ? { missing: [...scope.missing] } : {}),
      };
      env.log(`history bound reached: continuing as new (execution ${next.continued + 1}), ${scope.inFlight.size} steps in flight`);
      const { resumeFrom: _firstExecutionOnly, carry: _previous, ...run } = input;
      df.continueAsNew({ ...run, carry: next } satisfies RunInput);
      return tracker.snapshot('running');
    };

    for (;;) {
      if (!stop) {
        const end = yield* runRound(scope, true);
        if (end?.kind === 'continue') return yield* continueRun(undefined);
        stop = end;
      }
      if (!stop) {
        if (!firstFailed(shape, tracker) || retriesLeft <= 0) break;
        // A permanent failure (bad credentials, missing secret, SQL that does not compile) fails the
        // same way on every run: waiting `delay` for it only hides it, unless the definition says so.
        if (!definition.pipelineRetry.retryPermanent && onlyPermanentFailures(shape, tracker)) break;
        retriesLeft--;
        const delay = definition.pipelineRetry.delay;
        env.log(`run failed; pipeline retry in ${delay}s (${retriesLeft} left after this one)`);
        const retryAtMs = env.nowMs() + delay * 1000;
        // The wait is part of the run's state, so every view can say "pipeline attempt 2 at 02:10".
        tracker.pipelineRetry = { attempt: tracker.pipelineAttempt + 1, at: isoAt(retryAtMs) };
        env.publish();
        const timer = df.createTimer(dateAt(retryAtMs));
        const fresh = scope.interrupts.make();
        scope.budget.events += HISTORY_COST.wakeUp + HISTORY_COST.timer * fresh.length;
        yield df.Task.any([timer, ...fresh]);
        const fired = fresh.find(isDone);
        cancelTimers(fresh);
        tracker.pipelineRetry = undefined;
        if (!fired) {
          tracker.resetUnsucceeded();
          tracker.pipelineAttempt++;
          continue;
        }
        stop = scope.interrupts.read(fired);
        retryWaitCut = true;
      }
      if (scope.inFlight.size > 0) {
        if (!told) yield* tellStepsToStop(scope, stop);
        const end = yield* runRound(scope, false);
        if (end?.kind === 'continue') return yield* continueRun(stop);
      }
      // Every step had ended by the interrupt's instant (an end at t counts as before it) and nothing
      // more would start: the run had settled, and ends as it settled — unless a pipeline retry
      // would now wait, which the interrupt cuts short.
      endedMs = stop.atMs;
      if (!retryWaitCut && settledBefore(shape, tracker) && !wouldRetry(definition, tracker, retriesLeft)) {
        for (const { id, reason } of unreachableSteps(shape.steps, (s) => tracker.status(s))) tracker.skip(id, reason);
        stop = undefined;
      } else {
        endInterrupted(scope, stop);
      }
      break;
    }
    // Every slot and place the run and its steps hold, whatever ended it (success, failure, cancel, timeout).
    yield* releasePools(env, poolsOf(definition));
    return yield* finish(scope, tracker, finalState(definition.timeout, shape, tracker, stop, endedMs ?? env.nowMs()), carry?.archives);
  };
}

/** Puts the archived states back (a continued run), records the run's end, and returns it. */
function* finish(scope: RunScope, tracker: RunTracker, end: () => RunState, archives: number | undefined): Generator<Task, RunState, unknown> {
  const { env, input } = scope;
  const df = env.context.df;
  if (archives !== undefined && archives > 0) {
    const archived = yield* collectArchived(scope, archives);
    if (archived) tracker.restoreArchived(archived);
  }
  finalizeForEach(scope.definition, tracker);
  const final = end();
  df.setCustomStatus(fittedWhenSerialized(() => forCustomStatus(final)));
  env.log(`run ${final.status}${final.error ? `: ${final.error.message}` : ''}`);
  const request: FinishRunInput = { run: final, trigger: input.trigger, parameters: input.parameters };
  // The run store down when the run ends (issue 26's fault suite: Azurite stopped for a minute) must
  // not leave its record running: finishRun fails when its write fails, and is tried again on
  // durable timers for about a quarter of an hour. A first try that succeeds adds nothing to the
  // history, so the histories of earlier engines replay unchanged.
  for (let attempt = 1; ; attempt++) {
    try {
      yield df.callActivity(ACTIVITY_NAMES.finishRun, request);
      break;
    } catch (error) {
      const failure = readTaskFailure(error);
      if (failure.class === 'permanent' || attempt >= FINISH_ATTEMPTS) {
        // The run's outcome stands even if recording it failed; the output still carries it.
        env.log(`finishRun failed (${attempt} tries, given up): ${failure.message}`);
        break;
      }
      yield df.createTimer(dateAt(env.nowMs() + FINISH_RETRY_MS * 2 ** (attempt - 1)));
    }
  }
  return final;
}

/** Every pool a pipeline names, run-level and step-level. */
function poolsOf(pipeline: PipelineDefinition): string[] {
  return [...new Set([...(pipeline.pools ?? []), ...pipeline.steps.flatMap((s) => s.pools ?? [])])];
}

/** Tries of `finishRun`, 30 s apart and doubling: 15.5 minutes in all. */
const FINISH_ATTEMPTS = 6;
const FINISH_RETRY_MS = 30_000;

function failedWithoutDefinition(tracker: RunTracker, input: RunInput, nowMs: number): () => RunState {
  return () => tracker.snapshot('failed', nowMs, { class: 'permanent', message: missingDefinitionMessage(input.pipeline, input.definitionVersion), code: 'definition-changed' });
}

/** Nothing was in progress, waiting or ready when the run stopped: its DAG had settled. */
function settledBefore(shape: RunShape, tracker: RunTracker): boolean {
  const status = (id: string) => tracker.status(id);
  if (shape.steps.some((s) => ['running', 'waiting', 'cancelled'].includes(status(s.id)))) return false;
  return readySteps(shape.steps, status).length === 0;
}

function wouldRetry(definition: PipelineDefinition, tracker: RunTracker, retriesLeft: number): boolean {
  if (!firstFailed(definition, tracker) || retriesLeft <= 0) return false;
  return definition.pipelineRetry.retryPermanent || !onlyPermanentFailures(definition, tracker);
}

/** The first failed step no `failed` dependent handled (dag.ts `isHandled`): what fails the run. */
function firstFailed(shape: RunShape, tracker: RunTracker): { id: string; error?: FailureInfo } | undefined {
  const status = (id: string) => tracker.status(id);
  for (const step of shape.steps) {
    if (status(step.id) !== 'failed') continue;
    const state = tracker.step(step.id);
    if (!isHandled(shape.steps, status, step.id)) return { id: step.id, ...(state.error ? { error: state.error } : {}) };
  }
  return undefined;
}

function onlyPermanentFailures(shape: RunShape, tracker: RunTracker): boolean {
  const status = (id: string) => tracker.status(id);
  const failed = shape.steps.filter((s) => status(s.id) === 'failed' && !isHandled(shape.steps, status, s.id));
  return failed.length > 0 && failed.every((s) => tracker.failedPermanently(s.id));
}

const ENDED: ReadonlySet<StepStatus> = new Set<StepStatus>(['succeeded', 'failed', 'skipped', 'cancelled', 'reused']);

function finalState(timeout: number | undefined, shape: RunShape, tracker: RunTracker, stop: Stop | undefined, nowMs: number): () => RunState {
  return () => {
    if (stop?.kind === 'cancelled') {
      return tracker.snapshot('cancelled', nowMs, { class: 'cancelled', message: stop.reason ? `run cancelled: ${stop.reason}` : 'run cancelled' });
    }
    if (stop?.kind === 'timedOut') {
      return tracker.snapshot('failed', nowMs, { class: 'timeout', message: `run exceeded its timeout of ${formatDuration(timeout ?? 0)}` });
    }
    const failed = firstFailed(shape, tracker);
    // A run that settled with a step still open ended by mistake, not by success: say so rather
    // than paint it green (a guard; no known path reaches it).
    const open = failed ? undefined : shape.steps.find((s) => !ENDED.has(tracker.status(s.id)));
    if (open) return tracker.snapshot('failed', nowMs, { class: 'permanent', message: `the run ended with step "${open.id}" still ${tracker.status(open.id)} (an engine fault: please report it)`, stepId: open.id });
    if (!failed) return tracker.snapshot('succeeded', nowMs);
    const error = failed.error ?? { class: 'permanent' as const, message: `step "${failed.id}" failed` };
    return tracker.snapshot('failed', nowMs, { ...error, stepId: failed.id });
  };
}
