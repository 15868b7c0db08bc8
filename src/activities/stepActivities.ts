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
import { PermanentError, classify, toActivityError, type FailureInfo } from '../core/errors';
import type { Json, JsonObject } from '../core/json';
import type { FinishRunInput } from '../engine/runPipeline';
import type { RunState } from '../engine/types';
import { emitRunEvents } from '../logging/events';
import type { Logger } from '../logging/logger';
import { maskDeep, maskSecrets, rememberSecretValue } from '../logging/mask';
import { runEventFromState, type RunEvent } from '../notify/event';
import type { AlertDefinition, StepDefinition, StepKind } from '../pipelines/schema';
import type { AttemptRecord, LogLine, RunRecorder } from '../runs/recorder';
import type { SecretResolver, SettingsReader } from '../secrets/types';
import type { StepAdapter, StepContext } from '../steps/adapter';
import type { CancelActivityInput, PollActivityInput, StepActivityInput, StepOutcome } from '../steps/protocol';
import { deployedPipeline, deployedStep, type DeployedPipelines, type DeployedStep } from './deployedStep';
import { cancelActivityInputSchema, finishRunInputSchema, pollActivityInputSchema, stepActivityInputSchema } from './schemas';

/** Sends run alerts (src/notify's Notifier): it picks the alerts whose `on` matches the event. */
export interface RunNotifier {
  notify(event: RunEvent, alerts: readonly AlertDefinition[]): Promise<unknown>;
}

export interface StepActivityDeps {
  /** The deployed pipelines: the only source of step definitions, alerts and titles. */
  readonly catalog: DeployedPipelines;
  readonly adapters: Partial<Record<StepKind, StepAdapter>>;
  readonly secrets: SecretResolver;
  readonly settings: SettingsReader;
  readonly recorder?: RunRecorder;
  readonly notifier?: RunNotifier;
  readonly logger: Logger;
  /** The activities' clock (attempt records); tests pass the development host's. */
  readonly clock?: () => Date;
}

/** What a user's step activity gets: the activity input, the deployed step and its `input`. */
export type UserStepInput = StepActivityInput & { readonly step: StepDefinition; readonly input?: Json };

/** A user's step activity: gets the step input, returns a small JSON result (or nothing). */
export type UserStepHandler = (input: UserStepInput, ctx: { readonly log: Logger }) => Promise<Json | undefined | void>;

export interface StepActivities {
  startStep(input: unknown): Promise<StepOutcome>;
  pollStep(input: unknown): Promise<StepOutcome>;
  cancelStep(input: unknown): Promise<void>;
  finishRun(input: unknown): Promise<void>;
  /** Turns a user handler into the activity registered as `name`, which `kind: 'activity'` steps naming it call. */
  wrapUserActivity(name: string, handler: UserStepHandler): (input: unknown) => Promise<StepOutcome>;
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
  wrapped.message = maskSecrets(wrapped.message);
  wrapped.stack = `${wrapped.name}: ${wrapped.message}`;
  return wrapped;
}

function maskedFailure(error: unknown): FailureInfo {
  const info = classify(error);
  return { ...info, message: maskSecrets(info.message) };
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

  function contextFor(input: StepActivityInput, parameters: JsonObject = input.parameters): StepContext {
    return {
      runId: input.runId,
      pipeline: input.pipeline,
      stepId: input.stepId,
      attempt: input.attempt,
      parameters,
      trigger: input.trigger,
      secrets,
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

  async function recordAttempt(log: Logger, record: AttemptRecord): Promise<void> {
    const recorder = deps.recorder;
    if (!recorder) return;
    await quietly(log, 'recording the attempt', () => recorder.recordAttempt(maskDeep(record)));
  }

  async function recordStart(input: StepActivityInput, log: Logger, startedAt: string): Promise<void> {
    const recorder = deps.recorder;
    if (!recorder) return;
    // The first step activity of a run marks it running: no separate "run started" activity.
    if (input.attempt === 1) {
      await quietly(log, 'recording the run', () =>
        recorder.upsertRun({ runId: input.runId, pipeline: input.pipeline, status: 'running', trigger: input.trigger, parameters: input.parameters }),
      );
    }
    await recordAttempt(log, { runId: input.runId, pipeline: input.pipeline, stepId: input.stepId, attempt: input.attempt, status: 'running', startedAt });
    await runLog(input, log, 'info', `step ${input.stepId} attempt ${input.attempt} started`);
  }

  async function recordEnd(input: StepActivityInput, log: Logger, startedAt: string, result: { outcome: StepOutcome } | { error: FailureInfo }): Promise<void> {
    if ('outcome' in result && result.outcome.status === 'running') return;
    const base = { runId: input.runId, pipeline: input.pipeline, stepId: input.stepId, attempt: input.attempt, startedAt, endedAt: now().toISOString() };
    if ('error' in result) {
      await recordAttempt(log, { ...base, status: 'failed', error: result.error });
      return;
    }
    const outcome = result.outcome;
    if (outcome.status !== 'succeeded') return;
    await recordAttempt(log, {
      ...base,
      status: 'succeeded',
      ...(outcome.metrics === undefined ? {} : { metrics: outcome.metrics }),
      ...(outcome.output === undefined ? {} : { output: outcome.output }),
    });
  }

  /** One line in the run's log (what `logs --follow` shows), next to the process log. */
  async function runLog(input: StepActivityInput, log: Logger, level: LogLine['level'], msg: string, fields?: JsonObject): Promise<void> {
    const recorder = deps.recorder;
    if (!recorder) return;
    const line: LogLine = { time: now().toISOString(), level, msg: maskSecrets(msg), stepId: input.stepId, attempt: input.attempt, ...(fields ? { fields: maskDeep(fields) } : {}) };
    await quietly(log, 'appending the run log', () => recorder.appendLogs(input.runId, [line]));
  }

  /**
   * Runs one adapter call on the deployed step with recording and error conversion around it. A
   * step the catalog refuses (unknown, other version, parameters that do not fit) fails the
   * attempt like any permanent error, so the run's record says why.
   */
  async function attempt(input: StepActivityInput, startedAt: string, call: (deployed: DeployedStep, ctx: StepContext) => Promise<StepOutcome>): Promise<StepOutcome> {
    let ctx = contextFor(input);
    try {
      const deployed = deployedStep(deps.catalog, input);
      ctx = contextFor(input, deployed.parameters);
      const outcome = maskDeep(await call(deployed, ctx));
      if (outcome.status === 'succeeded') {
        ctx.log.info({ metrics: outcome.metrics }, 'step attempt succeeded');
        await runLog(input, ctx.log, 'info', `step ${input.stepId} attempt ${input.attempt} succeeded`, outcome.metrics);
      }
      await recordEnd(input, ctx.log, startedAt, { outcome });
      return outcome;
    } catch (error) {
      const failure = maskedFailure(error);
      ctx.log.warn({ failure }, 'step attempt failed');
      await runLog(input, ctx.log, failure.class === 'permanent' ? 'error' : 'warn', `step ${input.stepId} attempt ${input.attempt} failed (${failure.class}): ${failure.message}`);
      await recordEnd(input, ctx.log, startedAt, { error: failure });
      throw activityError(error);
    }
  }

  function startedAtFrom(elapsedSeconds: number): string {
    return new Date(now().getTime() - elapsedSeconds * 1000).toISOString();
  }

  return {
    async startStep(raw) {
      const input = parseOrThrow(() => parse(stepActivityInputSchema, raw, 'startStep'));
      const startedAt = now().toISOString();
      await recordStart(input, contextFor(input).log, startedAt);
      return attempt(input, startedAt, ({ step }, ctx) => adapterFor(step).start(step, ctx));
    },

    async pollStep(raw) {
      const input: PollActivityInput = parseOrThrow(() => parse(pollActivityInputSchema, raw, 'pollStep'));
      return attempt(input, startedAtFrom(input.elapsedSeconds), ({ step }, ctx) => {
        const adapter = adapterFor(step);
        if (!adapter.poll) throw new PermanentError(`step kind "${step.kind}" cannot be polled`);
        return adapter.poll(step, input.handle, ctx);
      });
    },

    async cancelStep(raw) {
      const input: CancelActivityInput = parseOrThrow(() => parse(cancelActivityInputSchema, raw, 'cancelStep'));
      const ctx = contextFor(input);
      // Stopping is best-effort: a step the catalog refuses is not stopped (nothing of ours started it).
      await quietly(ctx.log, `stopping the job (${input.reason})`, async () => {
        const { step, parameters } = deployedStep(deps.catalog, input);
        const adapter = deps.adapters[step.kind];
        if (adapter?.cancel) await adapter.cancel(step, input.handle, contextFor(input, parameters));
      });
      ctx.log.info({ reason: input.reason }, 'step job stop requested');
      // The attempt ends here for the run record: the orchestrator gave up on it.
      const error: FailureInfo =
        input.reason === 'timeout' ? { class: 'timeout', message: 'step timed out; job stop requested' } : { class: 'cancelled', message: 'run cancelled; job stop requested' };
      await recordAttempt(ctx.log, {
        runId: input.runId,
        pipeline: input.pipeline,
        stepId: input.stepId,
        attempt: input.attempt,
        status: 'failed',
        startedAt: now().toISOString(),
        endedAt: now().toISOString(),
        error,
      });
    },

    async finishRun(raw) {
      const input = parseOrThrow(() => parse(finishRunInputSchema, raw, 'finishRun')) as FinishRunInput;
      const run = input.run;
      const log = deps.logger.child({ runId: run.runId, pipeline: run.pipeline });
      // The Portal's workbook and alert read these events (src/logging/events.ts). Through the
      // unbound logger: the events carry runId and pipeline themselves, and a child's bindings
      // would repeat those keys in the JSON line.
      emitRunEvents(deps.logger, input);
      const recorder = deps.recorder;
      if (recorder) {
        // fromEntries defines own properties whatever the step id is.
        const metrics: Record<string, NonNullable<RunState['steps'][number]['metrics']>> = Object.fromEntries(
          run.steps.flatMap((step) => (step.metrics ? [[step.id, step.metrics] as const] : [])),
        );
        await quietly(log, 'recording the run', () =>
          recorder.upsertRun({
            runId: run.runId,
            pipeline: run.pipeline,
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
          }),
        );
        const line: LogLine = {
          time: now().toISOString(),
          level: run.status === 'failed' ? 'error' : 'info',
          msg: maskSecrets(`run ${run.status}${run.error ? `: ${run.error.message}` : ''}`),
        };
        await quietly(log, 'appending the run log', () => recorder.appendLogs(run.runId, [line]));
        // Attempts the orchestrator abandoned (run cancelled or timed out, step timeout that the
        // activity never saw) are only known here.
        for (const step of run.steps) {
          for (const a of step.attempts) {
            if (a.status !== 'failed' || (a.error?.class !== 'cancelled' && a.error?.class !== 'timeout')) continue;
            await recordAttempt(log, {
              runId: run.runId,
              pipeline: run.pipeline,
              stepId: step.id,
              attempt: a.attempt,
              status: 'failed',
              startedAt: a.startedAt,
              ...(a.endedAt === undefined ? {} : { endedAt: a.endedAt }),
              ...(a.error === undefined ? {} : { error: a.error }),
            });
          }
        }
      }
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
      const { alerts, title } = pipeline;
      const event = runEventFromState(run, title);
      if (notifier && event && alerts.some((a) => a.on.includes(event.kind))) {
        await quietly(log, 'sending the alert', () => notifier.notify(event, alerts));
      }
    },

    wrapUserActivity(name, handler) {
      return async (raw) => {
        const input = parseOrThrow(() => parse(stepActivityInputSchema, raw, 'step activity'));
        const startedAt = now().toISOString();
        await recordStart(input, contextFor(input).log, startedAt);
        return attempt(input, startedAt, async ({ step, parameters }, ctx) => {
          // Only a deployed step that names this activity may call it.
          if (step.kind !== 'activity' || step.activity !== name) {
            throw new PermanentError(`step "${step.id}" of pipeline "${input.pipeline}" does not call activity "${name}"`, { code: 'unknown-step' });
          }
          const stepInput = step.input;
          const result = await handler({ ...input, parameters, step, ...(stepInput === undefined ? {} : { input: stepInput as Json }) }, { log: ctx.log });
          return result === undefined ? { status: 'succeeded' } : { status: 'succeeded', output: result };
        });
      };
    },
  };
}

function parseOrThrow<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw activityError(error);
  }
}

