/**
 * The activities the engine calls: `startStep`, `pollStep`, `cancelStep`, `finishRun`, plus the
 * wrapper for user-registered `activity` steps. Built by a factory that takes its clients and the
 * deployed catalog, so tests pass stand-in adapters, recorders and pipelines.
 *
 * Every handler parses its input (PermanentError when it does not parse), looks the step up in the
 * deployed catalog (deployedStep.ts: the input names a step, it never defines one), dispatches to
 * the adapter of the step's kind, records the attempt, and throws failures as classified errors
 * with secret values masked (`toActivityError`): an error is never returned as a success.
 * Recording and alerting are side effects that must not fail a step: their errors are logged and
 * dropped.
 */
import type { z } from 'zod';
import { PermanentError, TransientError, classify, toActivityError, type FailureInfo } from '../core/errors';
import type { Json, JsonObject } from '../core/json';
import type { FinishRunInput } from '../engine/runPipeline';
import { pollInstanceId } from '../engine/stepRoutine';
import type { RunState } from '../engine/types';
import { emitEvent, emitRunEvents } from '../logging/events';
import type { Logger } from '../logging/logger';
import { maskDeep, maskSecrets, rememberSecretValue } from '../logging/mask';
import { maskCredentialText, maskCredentials } from '../logging/serviceCredentials';
import { runEventFromState, type RunEvent } from '../notify/event';
import type { AlertDefinition, StepDefinition, StepKind } from '../pipelines/schema';
import type { AttemptClaim, AttemptRecord, LogLine, RunGateReader, RunRecorder, RunWrite } from '../runs/recorder';
import { idempotencyKey } from '../steps/azureFunction/adapter';
import { dedupedBy, duplicateStartRisk } from './startClaim';
import type { SecretResolver, SettingsReader } from '../secrets/types';
import type { ChildRunClient, StepAdapter, StepContext } from '../steps/adapter';
import type { StepLogLine } from '../steps/resultLines';
import type { CancelActivityInput, CancelStepAnswer, PollActivityInput, StepActivityInput, StepOutcome } from '../steps/protocol';
import { fillJson } from '../pipelines/runValues';
import { runLabels } from '../projects/runLabels';
import { deployedPipeline, deployedStep, type DeployedPipelines, type DeployedStep, type PinnedDefinitions } from './deployedStep';
import { checkCaller, refuseAfterEnd, RunRefusedError } from './runGate';
import { cancelActivityInputSchema, finishRunInputSchema, pollActivityInputSchema, stepActivityInputSchema } from './schemas';

/** Sends run alerts (src/notify's Notifier): it picks the alerts whose `on` matches the event. */
export interface RunNotifier {
  notify(event: RunEvent, alerts: readonly AlertDefinition[]): Promise<unknown>;
}

export interface StepActivityDeps {
  /** The deployed pipelines: the source of step definitions of the deployed versions, alerts and titles. */
  readonly catalog: DeployedPipelines;
  /** Definitions pinned when runs started, by version: a run started before a deploy follows its own. */
  readonly pinned?: PinnedDefinitions;
  readonly adapters: Partial<Record<StepKind, StepAdapter>>;
  readonly secrets: SecretResolver;
  /** The resolver of a pipeline's project (its scope and vault, src/projects/secrets.ts); `secrets` when absent. */
  readonly secretsFor?: (pipeline: string) => SecretResolver | undefined;
  readonly settings: SettingsReader;
  readonly recorder?: RunRecorder;
  /** The run records the API and the scheduler create: a retry is refused once its run ended (runGate.ts). */
  readonly records?: RunGateReader;
  readonly notifier?: RunNotifier;
  /** Which alerts of a run were sent (the run store): `finishRun` delivered twice alerts once. */
  readonly alerts?: AlertLedger;
  readonly logger: Logger;
  /** The activities' clock (attempt records); tests pass the development host's. */
  readonly clock?: () => Date;
}

/** The run store's record of alerts sent, per run and event (TableRunStore.claimAlert). */
export interface AlertLedger {
  claimAlert(runId: string, event: string): Promise<'first' | 'sent' | 'unknown'>;
  alertSent(runId: string, event: string): Promise<void>;
}

/** What a user's step activity gets: the activity input, the deployed step and its `input`. */
export type UserStepInput = StepActivityInput & { readonly step: StepDefinition; readonly input?: Json };

/** A user's step activity: gets the step input, returns a small JSON result (or nothing). */
export type UserStepHandler = (input: UserStepInput, ctx: { readonly log: Logger }) => Promise<Json | undefined | void>;

/**
 * Each handler takes the instance calling it (the activity trigger's `instanceId` binding data:
 * azure-functions-durable-extension `ActivityTriggerAttributeBindingProvider`): it must be the run
 * its input names or one of that run's step instances (runGate.ts `checkCaller`).
 */
export interface StepActivities {
  /** `durable`: the activity's Durable client, which a `pipeline` step starts and reads its child run through. */
  startStep(input: unknown, caller?: string, durable?: ChildRunClient): Promise<StepOutcome>;
  pollStep(input: unknown, caller?: string, durable?: ChildRunClient): Promise<StepOutcome>;
  /**
   * `stopPolling` raises `interrupt` to the attempt's polling sub-orchestration (the activity's
   * Durable client): the run gave up on the job, so nothing polls it or records it any more.
   */
  cancelStep(input: unknown, caller?: string, stopPolling?: (instanceId: string) => Promise<void>, durable?: ChildRunClient): Promise<CancelStepAnswer>;
  finishRun(input: unknown, caller?: string): Promise<void>;
  /** Turns a user handler into the activity registered as `name`, which `kind: 'activity'` steps naming it call. */
  wrapUserActivity(name: string, handler: UserStepHandler): (input: unknown, caller?: string) => Promise<StepOutcome>;
}

function parse<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) {
    const issues = result.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new PermanentError(`invalid ${what} input: ${issues.join('; ')}`);
  }
  return result.data;
}

/** The error an activity throws: classified, secrets masked, no stack carrying the raw text. */
function activityError(error: unknown): Error {
  const wrapped = toActivityError(error);
  wrapped.message = maskCredentialText(maskSecrets(wrapped.message));
  wrapped.stack = `${wrapped.name}: ${wrapped.message}`;
  return wrapped;
}

/**
 * What a service answered, kept without the credentials it may carry (src/logging/serviceCredentials.ts):
 * the output goes to the run store and to Durable, where Pipelines.Read users read it. A running
 * step's handle is the adapter's own (a status URL it polls) and is left whole.
 */
function withoutServiceCredentials(outcome: StepOutcome): StepOutcome {
  return outcome.status === 'succeeded' && outcome.output !== undefined ? { ...outcome, output: maskCredentials(outcome.output) } : outcome;
}

function maskedFailure(error: unknown): FailureInfo {
  const info = classify(error);
  return { ...info, message: maskCredentialText(maskSecrets(info.message)) };
}

/** Why the run gave up on a polled job, as its attempt record says. */
const JOB_STOPPED: Readonly<Record<CancelActivityInput['reason'], FailureInfo>> = {
  timeout: { class: 'timeout', message: 'step timed out; job stop requested', code: 'step-timed-out' },
  cancelled: { class: 'cancelled', message: 'run cancelled; job stop requested', code: 'run-cancelled' },
  runTimedOut: { class: 'cancelled', message: 'run timed out; job stop requested', code: 'run-timed-out' },
};

/** A poll's answer as "already finished": a result or a failure; nothing while it still runs. */
async function finishedAlready(poll: () => Promise<StepOutcome>): Promise<CancelStepAnswer> {
  try {
    const outcome = await poll();
    if (outcome.status !== 'succeeded') return {};
    return { finished: { status: 'succeeded', ...(outcome.output === undefined ? {} : { output: outcome.output }), ...(outcome.metrics ? { metrics: outcome.metrics } : {}) } };
  } catch (error) {
    return { finished: { status: 'failed', error: maskedFailure(error) } };
  }
}

export function createStepActivities(deps: StepActivityDeps): StepActivities {
  const now = deps.clock ?? (() => new Date());
  const secrets: SecretResolver = {
    async get(name) {
      const value = await deps.secrets.get(name);
      rememberSecretValue(value);
      return value;
    },
    invalidate: (name) => deps.secrets.invalidate(name),
  };

  function adapterFor(step: StepDefinition): StepAdapter {
    const adapter = deps.adapters[step.kind];
    if (!adapter) throw new PermanentError(`no adapter for step kind "${step.kind}" is configured`);
    return adapter;
  }

  /** The pipeline's project's resolver (its scope, its vault), values remembered for masking. */
  function secretsOf(pipeline: string): SecretResolver {
    const own = deps.secretsFor?.(pipeline);
    if (!own) return secrets;
    return {
      async get(name) {
        const value = await own.get(name);
        rememberSecretValue(value);
        return value;
      },
      invalidate: (name) => own.invalidate(name),
    };
  }

  function contextFor(input: StepActivityInput, parameters: JsonObject = input.parameters, durable?: ChildRunClient): StepContext {
    return {
      ...(durable ? { durable } : {}),
      runId: input.runId,
      pipeline: input.pipeline,
      stepId: input.stepId,
      attempt: input.attempt,
      parameters,
      trigger: input.trigger,
      ...(input.upstream === undefined ? {} : { upstream: input.upstream }),
      ...(input.item === undefined ? {} : { item: input.item }),
      secrets: secretsOf(input.pipeline),
      settings: deps.settings,
      log: deps.logger.child({ runId: input.runId, pipeline: input.pipeline, stepId: input.stepId, attempt: input.attempt }),
    };
  }

  /** Runs a side effect that must not fail the step. */
  async function quietly(log: Logger, what: string, effect: () => Promise<unknown>): Promise<void> {
    try {
      await effect();
    } catch (error) {
      log.warn({ err: maskSecrets(error instanceof Error ? error.message : String(error)) }, `${what} failed (ignored)`);
    }
  }

  /**
   * Everything one activity execution writes about the run goes in one `record` call: one request
   * to Table Storage in the common case (docs/run-store.md, "Writes per run").
   */
  async function record(log: Logger, write: RunWrite): Promise<void> {
    const recorder = deps.recorder;
    if (!recorder) return;
    await quietly(log, 'recording the run', () =>
      recorder.record({ ...write, ...(write.attempts ? { attempts: write.attempts.map((a) => maskCredentials(maskDeep(a))) } : {}) }),
    );
  }

  /** A write the run must not go without: its failure fails the activity, as a transient error. */
  async function recordOrThrow(write: RunWrite): Promise<void> {
    const recorder = deps.recorder;
    if (!recorder) return;
    try {
      await recorder.record(write);
    } catch (error) {
      throw activityError(new TransientError(`recording the run's end failed: ${maskSecrets(error instanceof Error ? error.message : String(error))}`, { cause: error }));
    }
  }

  /** One line in the run's log (what `logs --follow` shows), next to the process log. */
  function runLine(input: StepActivityInput, level: LogLine['level'], msg: string, fields?: JsonObject): LogLine {
    return { time: now().toISOString(), level, msg: maskCredentialText(maskSecrets(msg)), stepId: input.stepId, attempt: input.attempt, ...(fields ? { fields: maskCredentials(maskDeep(fields)) } : {}) };
  }

  /**
   * The first attempt of a step marks the run running: no separate "run started" activity. The
   * row is created at a root step (no dependencies), read from the deployed step; when the catalog
   * refuses the step there is none to read, so the write creates the row if it is missing (a
   * refused create falls back to the read-then-write path, which settles an existing row), and the
   * run's record still shows the refusal.
   */
  function startOf(input: StepActivityInput, deployed: DeployedStep | undefined): Pick<RunWrite, 'start'> {
    if (input.attempt !== 1) return {};
    const labels = deployed ? runLabels(deployed.pipeline, input.trigger) : {};
    return { start: { root: deployed ? deployed.step.dependsOn.length === 0 : true, trigger: input.trigger, parameters: input.parameters, ...labels } };
  }

  /**
   * Runs one adapter call on the deployed step and records it in one write: when the execution
   * `starts` the attempt, the run's start and the "started" line, then the attempt as it stands
   * after the call and its log lines. A poll that is still running writes nothing. A step the
   * catalog refuses (unknown, other version, parameters that do not fit) fails the attempt like any
   * permanent error, so the run's record says why.
   */
  async function attempt(
    input: StepActivityInput,
    caller: string | undefined,
    startedAt: string,
    starts: boolean,
    call: (deployed: DeployedStep, ctx: StepContext) => Promise<StepOutcome>,
    durable?: ChildRunClient,
  ): Promise<StepOutcome> {
    // Another run's instance: refused before anything is done or written. A retry of a run that
    // has ended or was cancelled starts nothing (runGate.ts).
    try {
      checkCaller(input.runId, caller);
      if (starts && input.attempt > 1) await refuseAfterEnd(deps.records, input.runId);
    } catch (error) {
      throw activityError(error);
    }
    // The step's own results (StepContext.report), written in the attempt's one write, before its verdict.
    const reported: StepLogLine[] = [];
    const report = (line: StepLogLine): void => void reported.push(line);
    const results = (): LogLine[] => reported.map((l) => runLine(input, l.level, l.msg, l.fields));
    let ctx: StepContext = { ...contextFor(input, input.parameters, durable), report };
    let deployed: DeployedStep | undefined;
    const startLine = starts ? runLine(input, 'info', `step ${input.stepId} attempt ${input.attempt} started`) : undefined;
    const base = { runId: input.runId, pipeline: input.pipeline, stepId: input.stepId, attempt: input.attempt, startedAt };
    // Set when the start was claimed before the call: the run's start and the "started" line are written.
    let claim: AttemptClaim | undefined;
    const write = (lines: readonly LogLine[], attempt: AttemptRecord | undefined): RunWrite => ({
      runId: input.runId,
      pipeline: input.pipeline,
      ...(starts && !claim ? startOf(input, deployed) : {}),
      attempts: attempt ? [attempt] : [],
      // Started and ended here: inserted, so an abandonment the run recorded first marks it late.
      ...(starts && attempt && attempt.status !== 'running' ? { wholeAttempt: true as const } : {}),
      ...(claim?.first === true && claim.etag !== undefined ? { claimedEtag: claim.etag } : {}),
      lines: [...(startLine && !claim ? [startLine] : []), ...lines],
    });
    try {
      deployed = await deployedStep(deps.catalog, input, deps.pinned);
      ctx = { ...contextFor(input, deployed.parameters, durable), report };
      if (starts && startLine) claim = await claimStart(input, deployed, ctx, { ...write([], { ...base, status: 'running' }), lines: [startLine] });
      const outcome = withoutServiceCredentials(maskDeep(await call(deployed, ctx)));
      if (outcome.status === 'succeeded') {
        ctx.log.info({ metrics: outcome.metrics }, 'step attempt succeeded');
        const line = runLine(input, 'info', `step ${input.stepId} attempt ${input.attempt} succeeded`, outcome.metrics);
        await record(
          ctx.log,
          write([...results(), line], {
            ...base,
            status: 'succeeded',
            endedAt: now().toISOString(),
            ...(outcome.metrics === undefined ? {} : { metrics: outcome.metrics }),
            ...(outcome.output === undefined ? {} : { output: outcome.output }),
          }),
        );
      } else if (outcome.status === 'running' && starts) {
        // What the start said (a child run started, an approval asked) is in the log from the start;
        // a claimed start wrote its running row already, so only those lines (and a second
        // delivery's warning) go in then.
        if (!claim) await record(ctx.log, write(results(), { ...base, status: 'running' }));
        else if (reported.length > 0) await record(ctx.log, write(results(), undefined));
      }
      return outcome;
    } catch (error) {
      const failure = maskedFailure(error);
      ctx.log.warn({ failure }, 'step attempt failed');
      const line = runLine(input, failure.class === 'permanent' ? 'error' : 'warn', `step ${input.stepId} attempt ${input.attempt} failed (${failure.class}): ${failure.message}`);
      await record(ctx.log, write([...results(), line], { ...base, status: 'failed', endedAt: now().toISOString(), error: failure }));
      throw activityError(error);
    }
  }

  /**
   * Claims the attempt's start in the run store before the call, for a step whose service cannot
   * tell a second delivery of it (startClaim.ts): `claimWrite` is what the start wrote after the
   * call before, now written first. When an earlier delivery claimed it, the call still goes
   * ahead (the Idempotency-Key lets a function that honours it do nothing twice) and the possible
   * duplicate is said where a user sees it: the run's log, and a `step.duplicateStartPossible`
   * event in the process log (Application Insights). A claim the store refuses is not a failure:
   * the step goes on unclaimed, as it would without a run store, and says it could not tell.
   */
  async function claimStart(input: StepActivityInput, deployed: DeployedStep, ctx: StepContext, claimWrite: RunWrite): Promise<AttemptClaim | undefined> {
    const recorder = deps.recorder;
    if (!recorder?.claimAttempt || dedupedBy(deployed.step) !== undefined) return undefined;
    let claim: AttemptClaim;
    try {
      claim = await recorder.claimAttempt(claimWrite);
    } catch (error) {
      ctx.log.warn({ err: maskSecrets(error instanceof Error ? error.message : String(error)) }, "could not claim the attempt's start in the run store: a second delivery of it would not be noticed; calling anyway");
      return undefined;
    }
    if (!claim.first) {
      const key = idempotencyKey(input);
      const earlier = claim.existing;
      const risk = duplicateStartRisk(deployed.step, key);
      const msg = `duplicate start possible: step ${input.stepId} attempt ${input.attempt} was started before${earlier ? ` (at ${earlier.startedAt}, recorded ${earlier.status})` : ''} and its completion was not recorded; calling again: ${risk}`;
      emitEvent(ctx.log, 'step.duplicateStartPossible', { runId: input.runId, pipeline: input.pipeline, stepId: input.stepId, attempt: input.attempt, kind: deployed.step.kind, idempotencyKey: key, ...(earlier ? { earlierStatus: earlier.status, earlierStartedAt: earlier.startedAt } : {}) }, 'warn');
      ctx.report?.({ level: 'warn', msg, fields: { duplicateStart: 'possible', idempotencyKey: key } });
    }
    return claim;
  }

  /**
   * A cancelled run's error names who cancelled from the API's record, never from the cancel
   * event: anyone holding the Durable webhook key can raise that event with any reason (red-team
   * F9). A cancel with no record came from outside the API and says so.
   */
  async function withRecordedCanceller(run: RunState): Promise<RunState> {
    if (run.status !== 'cancelled' || !deps.records || run.error?.class !== 'cancelled') return run;
    const gate = await deps.records.findRunGate(run.runId).catch(() => undefined);
    if (!gate) return run;
    const message = gate.cancelledBy !== undefined ? `run cancelled: by ${gate.cancelledBy}` : gate.cancelRequestedAt !== undefined ? 'run cancelled' : 'run cancelled: by an event raised outside the API (its reason is not recorded)';
    return { ...run, error: { ...run.error, message } };
  }

  function startedAtFrom(elapsedSeconds: number): string {
    return new Date(now().getTime() - elapsedSeconds * 1000).toISOString();
  }

  return {
    async startStep(raw, caller, durable) {
      const input = parseOrThrow(() => parse(stepActivityInputSchema, raw, 'startStep'));
      const startedAt = now().toISOString();
      return attempt(input, caller, startedAt, true, ({ step }, ctx) => adapterFor(step).start(step, ctx), durable);
    },

    async pollStep(raw, caller, durable) {
      const input: PollActivityInput = parseOrThrow(() => parse(pollActivityInputSchema, raw, 'pollStep'));
      return attempt(input, caller, startedAtFrom(input.elapsedSeconds), false, ({ step }, ctx) => {
        const adapter = adapterFor(step);
        if (!adapter.poll) throw new PermanentError(`step kind "${step.kind}" cannot be polled`);
        return adapter.poll(step, input.handle, ctx);
      }, durable);
    },

    async cancelStep(raw, caller, stopPolling, durable) {
      const input: CancelActivityInput = parseOrThrow(() => parse(cancelActivityInputSchema, raw, 'cancelStep'));
      parseOrThrow(() => checkCaller(input.runId, caller));
      const ctx = contextFor(input);
      // The run gave up on the attempt: its polling sub-orchestration stops too (it polls nothing
      // more and records nothing). A step timeout comes from that instance itself.
      if (input.reason !== 'timeout' && stopPolling) {
        await quietly(ctx.log, 'stopping the polling', () => stopPolling(pollInstanceId(input.runId, input.stepId, input.attempt)));
      }
      let answer: CancelStepAnswer = {};
      // Stopping is best-effort: a step the catalog refuses is not stopped (nothing of ours started it).
      await quietly(ctx.log, `stopping the job (${input.reason})`, async () => {
        const { step, parameters } = await deployedStep(deps.catalog, input, deps.pinned);
        const adapter = deps.adapters[step.kind];
        const stepCtx = contextFor(input, parameters, durable);
        // The run stopped: a job that finished before it did keeps its outcome. (A step timeout
        // comes right after the poll at its deadline: no need to look again.)
        if (input.reason !== 'timeout' && adapter?.poll) answer = await finishedAlready(() => adapter.poll!(step, input.handle, stepCtx));
        if (answer.finished === undefined && adapter?.cancel) await adapter.cancel(step, input.handle, stepCtx);
      });
      const finished = answer.finished;
      if (finished) {
        ctx.log.info({ status: finished.status }, 'the job had already finished when the run stopped');
        const at = now().toISOString();
        const outcome: AttemptRecord =
          finished.status === 'succeeded'
            ? { runId: input.runId, pipeline: input.pipeline, stepId: input.stepId, attempt: input.attempt, status: 'succeeded', startedAt: at, endedAt: at, ...(finished.metrics ? { metrics: finished.metrics } : {}), ...(finished.output === undefined ? {} : { output: finished.output }) }
            : { runId: input.runId, pipeline: input.pipeline, stepId: input.stepId, attempt: input.attempt, status: 'failed', startedAt: at, endedAt: at, error: finished.error };
        // Written over the attempt's `running` row, whose start it keeps (abandonedOver).
        await record(ctx.log, { runId: input.runId, pipeline: input.pipeline, abandoned: [outcome] });
        return answer;
      }
      ctx.log.info({ reason: input.reason }, 'step job stop requested');
      // The attempt ends here for the run record: the orchestrator gave up on it (an answer that
      // got there first is kept, marked late).
      const error = JOB_STOPPED[input.reason];
      await record(ctx.log, {
        runId: input.runId,
        pipeline: input.pipeline,
        abandoned: [{ runId: input.runId, pipeline: input.pipeline, stepId: input.stepId, attempt: input.attempt, status: input.reason === 'timeout' ? 'failed' : 'cancelled', startedAt: now().toISOString(), endedAt: now().toISOString(), error }],
      });
      return answer;
    },

    async finishRun(raw, caller) {
      const input = parseOrThrow(() => parse(finishRunInputSchema, raw, 'finishRun')) as FinishRunInput;
      const run = await withRecordedCanceller(input.run);
      // Only the run itself records its end.
      if (caller !== undefined && caller !== run.runId) throw activityError(new RunRefusedError(`instance "${caller}" is not run "${run.runId}"`));
      const log = deps.logger.child({ runId: run.runId, pipeline: run.pipeline });
      // The Portal's workbook and alert read these events (src/logging/events.ts). Through the
      // unbound logger: the events carry runId and pipeline themselves, and a child's bindings
      // would repeat those keys in the JSON line.
      emitRunEvents(deps.logger, input);
      // fromEntries defines own properties whatever the step id is.
      const metrics: Record<string, NonNullable<RunState['steps'][number]['metrics']>> = Object.fromEntries(
        run.steps.flatMap((step) => (step.metrics ? [[step.id, step.metrics] as const] : [])),
      );
      // Attempts the orchestrator abandoned (run cancelled or timed out, step timeout that the
      // activity never saw) are only known here; an answer recorded before stays, marked late.
      const recordOf = (stepId: string, a: RunState['steps'][number]['attempts'][number]): AttemptRecord => ({
        runId: run.runId,
        pipeline: run.pipeline,
        stepId,
        attempt: a.attempt,
        status: a.status,
        startedAt: a.startedAt,
        ...(a.endedAt === undefined ? {} : { endedAt: a.endedAt }),
        ...(a.error === undefined ? {} : { error: a.error }),
      });
      const isAbandoned = (a: RunState['steps'][number]['attempts'][number]): boolean => a.status === 'cancelled' || (a.status === 'failed' && a.error?.class === 'timeout');
      const abandoned: AttemptRecord[] = run.steps.flatMap((step) => step.attempts.filter(isAbandoned).map((a) => recordOf(step.id, a)));
      const endedAttempts: AttemptRecord[] = run.steps.flatMap((step) =>
        step.attempts
          .filter((a) => (a.status === 'succeeded' || a.status === 'failed') && a.endedAt !== undefined && !isAbandoned(a))
          .map((a) => maskDeep(recordOf(step.id, a))),
      );
      // Not quietly: a run's end that was not written leaves its record running, so the run tries
      // again (src/engine/runPipeline.ts `finish`).
      await recordOrThrow({
        runId: run.runId,
        pipeline: run.pipeline,
        finish: {
          status: run.status,
          trigger: input.trigger,
          parameters: input.parameters,
          startedAt: run.startedAt,
          ...(run.endedAt === undefined ? {} : { endedAt: run.endedAt }),
          ...(run.durationSeconds === undefined ? {} : { durationSeconds: run.durationSeconds }),
          pipelineAttempt: run.pipelineAttempt,
          ...(run.error === undefined ? {} : { error: run.error }),
          metrics,
          ...(input.trigger.kind === 'rerun' && input.trigger.origin ? { rerunOf: input.trigger.origin } : {}),
        },
        // The attempts the run saw end, again: a row whose activity met the store down (its write
        // is not retried) is repaired here, with the run's end (docs/run-store.md).
        attempts: endedAttempts,
        abandoned,
        lines: [{ time: now().toISOString(), level: run.status === 'failed' ? 'error' : 'info', msg: maskSecrets(runEndMessage(run)) }],
      });
      // Alerts and title come from the deployed definition, never from the run's input: a crafted
      // run must not be able to send its summary to a webhook secret of its choosing.
      const notifier = deps.notifier;
      let pipeline;
      try {
        pipeline = deployedPipeline(deps.catalog, run.pipeline);
      } catch (error) {
        log.warn({ err: (error as Error).message }, 'no alert sent');
        return;
      }
      const { title } = pipeline;
      // The pipeline's own alerts, then its project's (per-project routing, src/projects).
      const alerts = deps.catalog.alertsOf?.(pipeline) ?? pipeline.alerts;
      const event = runEventFromState(run, title);
      if (notifier && event && alerts.some((a) => a.on.includes(event.kind))) {
        // Activities run at least once: a second delivery of this finishRun must not alert again.
        const ledger = deps.alerts;
        const claim = ledger ? await ledger.claimAlert(run.runId, event.kind).catch((error: unknown) => {
          log.warn({ err: error instanceof Error ? error.message : String(error) }, 'could not claim the alert in the run store; sending it');
          return 'first' as const;
        }) : 'first';
        if (claim === 'sent') {
          log.info({ event: event.kind }, 'alert already sent for this run and event (finishRun delivered again): not sent twice');
          return;
        }
        // Webhooks (Slack, Teams) take no idempotency key: a delivery that died mid-send may have
        // reached them, so this one sends again and says so.
        if (claim === 'unknown') {
          const msg = `duplicate alert possible: an earlier delivery of finishRun claimed the ${event.kind} alert and did not record it sent; sending again (webhooks take no idempotency key)`;
          emitEvent(log, 'alert.duplicatePossible', { runId: run.runId, pipeline: run.pipeline, alertEvent: event.kind }, 'warn');
          await record(log, { runId: run.runId, pipeline: run.pipeline, lines: [{ time: now().toISOString(), level: 'warn', msg, fields: { duplicateAlert: 'possible' } }] });
        }
        // An alert that is not delivered fails nothing: say so in the run's own log (one more
        // write, only then), where `logs` and the console show it.
        const undelivered = await notifier.notify(event, alerts).then(undeliveredAlerts, (error: unknown) => [
          { channel: 'alerts', webhook: alerts.map((a) => a.webhook.secret).join(', '), error: error instanceof Error ? error.message : String(error), attempts: 0 },
        ]);
        if (ledger) await quietly(log, 'recording the alert sent', () => ledger.alertSent(run.runId, event.kind));
        if (undelivered.length > 0) {
          const time = now().toISOString();
          await record(log, {
            runId: run.runId,
            pipeline: run.pipeline,
            lines: undelivered.map((a) => ({
              time,
              level: 'error' as const,
              msg: maskSecrets(`${event.kind} alert to ${a.channel} (webhook secret ${a.webhook}) not delivered${a.attempts > 1 ? ` after ${a.attempts} tries` : ''}: ${a.error}`),
              fields: maskDeep({ alert: { channel: a.channel, webhook: a.webhook, error: a.error, attempts: a.attempts } }),
            })),
          });
        }
      }
    },

    wrapUserActivity(name, handler) {
      return async (raw, caller) => {
        const input = parseOrThrow(() => parse(stepActivityInputSchema, raw, 'step activity'));
        const startedAt = now().toISOString();
        return attempt(input, caller, startedAt, true, async ({ step, parameters }, ctx) => {
          // Only a deployed step that names this activity may call it.
          if (step.kind !== 'activity' || step.activity !== name) {
            throw new PermanentError(`step "${step.id}" of pipeline "${input.pipeline}" does not call activity "${name}"`, { code: 'unknown-step' });
          }
          // Run values and upstream results in the input are filled here, as the adapters fill theirs.
          const stepInput = step.input === undefined ? undefined : fillJson(step.input as Json, { runId: input.runId, parameters, trigger: input.trigger, upstream: input.upstream, item: input.item });
          const result = await handler({ ...input, parameters, step, ...(stepInput === undefined ? {} : { input: stepInput }) }, { log: ctx.log });
          return result === undefined ? { status: 'succeeded' } : { status: 'succeeded', output: result };
        });
      };
    },
  };
}

interface UndeliveredAlert {
  readonly channel: string;
  readonly webhook: string;
  readonly error: string;
  readonly attempts: number;
}

/** The alerts a notifier's answer says were not delivered (src/notify's NotifyResult: `ok: false`). */
function undeliveredAlerts(results: unknown): UndeliveredAlert[] {
  if (!Array.isArray(results)) return [];
  return results.flatMap((r: unknown) => {
    const result = r as { ok?: unknown; channel?: unknown; webhook?: unknown; error?: unknown; attempts?: unknown };
    if (typeof result !== 'object' || result === null || result.ok !== false) return [];
    return [{ channel: String(result.channel), webhook: String(result.webhook), error: typeof result.error === 'string' ? result.error : 'not delivered', attempts: typeof result.attempts === 'number' ? result.attempts : 1 }];
  });
}

function parseOrThrow<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw activityError(error);
  }
}

/**
 * The run's last log line: its status, then the error unless the error already says it
 * ("run cancelled: by user:…" rather than "run cancelled: run cancelled: by user:…").
 */
export function runEndMessage(run: Pick<RunState, 'status' | 'error'>): string {
  const head = `run ${run.status}`;
  const message = run.error?.message;
  if (message === undefined || message === '') return head;
  return message.startsWith(head) ? message : `${head}: ${message}`;
}
