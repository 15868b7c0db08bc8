/**
 * The `pipeline` step kind as a polled step. `start` starts the child run through the one start
 * door (`startRunOnce`: the child's record first, then its orchestration, under an id derived from
 * the parent run, the step and the attempt — a redelivered activity lands on the same child) and
 * returns a handle naming it; each `poll` reads how the child stands; `cancel` cancels it the way
 * the API does (the request recorded, then the `cancel` event). Between polls a durable timer
 * waits (src/engine/pollStep.ts): nothing runs while the child works.
 *
 * The poll reads the child's record and its Durable status — what is stored, not a notice that
 * could be lost at a `continueAsNew` — so the parent learns the child's end whatever events were
 * dropped (the way `reconcileRun` reads the record: src/engine/reconcile.ts).
 */
import { createHash } from 'node:crypto';
import { findInstance, startRunOnce, type PendingRuns } from '../../app/durableStarter';
import { PermanentError, TransientError } from '../../core/errors';
import type { JsonObject } from '../../core/json';
import type { CarriedStep } from '../../engine/types';
import { CANCEL_EVENT } from '../../engine/interrupts';
import { resolveParameters, runFactsAt } from '../../pipelines/parameters';
import { fillJson } from '../../pipelines/runValues';
import type { PipelineDefinition } from '../../pipelines/schema';
import type { AttemptRecord, RunRecord } from '../../runs/recorder';
import { carriedSteps, failedStepIds } from '../../runs/rerunPlan';
import { mergeRunView, stateFromDurable } from '../../api/runView';
import type { AdapterFor, ChildRunClient, StepContext } from '../adapter';
import type { RunTrigger, StepOutcome } from '../protocol';
import type { PipelineStep } from './schema';

/** The run store as a pipeline step uses it: start a run, read one, record a cancel. */
export interface ChildRunStore extends PendingRuns {
  getRun(runId: string): Promise<RunRecord | undefined>;
  getAttempts(runId: string): Promise<readonly AttemptRecord[]>;
  claimCancel(runId: string, requestedAt: string, by?: string): Promise<{ first: boolean; requestedAt: string }>;
}

export interface PipelineAdapterDeps {
  /** The deployed pipelines: the child's definition. */
  readonly catalog: { get(name: string): PipelineDefinition | undefined };
  /** Undefined without a run store: a pipeline step then fails at once, saying why. */
  readonly store: ChildRunStore | undefined;
  readonly now: () => Date;
}

/** Seconds before the first check of a child still running at the parent step's start. */
const FIRST_CHECK_SECONDS = 30;

/**
 * The child run's id: its pipeline's name, then a digest of (parent run, step, attempt). Derived,
 * not drawn, so an activity delivered twice starts one child; a new attempt (a retry, a pipeline
 * retry) starts a new child.
 */
export function childRunId(pipeline: string, parentRunId: string, stepId: string, attempt: number): string {
  const digest = createHash('sha256').update(`child\u0000${parentRunId}\u0000${stepId}\u0000${attempt}`).digest('hex').slice(0, 24);
  return `${pipeline}-child-${digest}`;
}

/** The trigger of a child run: the parent run and step, and the parent's logical instant. */
export function childTrigger(ctx: Pick<StepContext, 'runId' | 'stepId' | 'trigger'>): RunTrigger {
  const { trigger } = ctx;
  return {
    kind: 'pipeline',
    origin: `${ctx.runId}/${ctx.stepId}`,
    // The child's `{run.logicalDate}` is its parent's (Airflow's TriggerDagRunOperator passes logical_date on).
    ...(trigger.scheduledFor ? { scheduledFor: trigger.scheduledFor } : trigger.requestedAt ? { requestedAt: trigger.requestedAt } : {}),
    ...(trigger.by ? { by: trigger.by } : {}),
    ...(trigger.tags && trigger.tags.length > 0 ? { tags: trigger.tags } : {}),
  };
}

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

export function createPipelineAdapter(deps: PipelineAdapterDeps): AdapterFor<'pipeline'> {
  const store = (): ChildRunStore => {
    if (!deps.store) throw new PermanentError('pipeline steps need the run store (RUN_STORE_TABLE_URL or RUN_STORE_CONNECTION_STRING): a child run has its own record there');
    return deps.store;
  };
  const client = (ctx: StepContext): ChildRunClient => {
    if (!ctx.durable) throw new PermanentError('pipeline steps start their child run through a Durable client: startStep, pollStep and cancelStep are registered with one (src/functions/activities.ts)');
    return ctx.durable;
  };
  const childOf = (step: PipelineStep): PipelineDefinition => {
    const child = deps.catalog.get(step.pipeline);
    if (!child) throw new PermanentError(`no pipeline "${step.pipeline}" is deployed`);
    return child;
  };

  /**
   * In a rerun of the parent, the child that the source run's step started last: when it did not
   * succeed, the new child reruns it from its failed steps (its succeeded steps are reused).
   */
  const resumeFromSource = async (step: PipelineStep, child: PipelineDefinition, ctx: StepContext): Promise<{ runId: string; steps: Record<string, CarriedStep> } | undefined> => {
    if (ctx.trigger.kind !== 'rerun' || ctx.trigger.origin === undefined) return undefined;
    const source = ctx.trigger.origin;
    const attempts = (await store().getAttempts(source)).filter((a) => a.stepId === ctx.stepId);
    const last = attempts.reduce((n, a) => Math.max(n, a.attempt), 0);
    if (last === 0) return undefined;
    const previousId = childRunId(child.name, source, ctx.stepId, last);
    const status = await findInstance(client(ctx), previousId);
    const state = stateFromDurable(status);
    if (!state || state.status === 'succeeded' || !TERMINAL.has(state.status)) return undefined;
    const rerun = failedStepIds(child, state.steps);
    ctx.report?.({ level: 'info', msg: `rerunning child run ${previousId} from its failed steps (${[...rerun].join(', ')})` });
    return { runId: previousId, steps: carriedSteps(state.steps, rerun, previousId) };
  };

  const check = async (step: PipelineStep, childId: string, ctx: StepContext): Promise<StepOutcome> => {
    // The run store down (an outage of its Table service) must not end the attempt while the child
    // runs on: a failed poll fails the attempt, and its retry would start a second child. Durable's
    // status of the child then speaks alone (mergeRunView reads it without a record); the store's
    // error stands only when Durable knows no such instance either.
    const [read, status] = await Promise.all([
      store().getRun(childId).then((record) => ({ record }), (error: unknown) => ({ record: undefined, error })),
      findInstance(client(ctx), childId),
    ]);
    if ('error' in read && !status) throw read.error;
    const { record } = read;
    const view = mergeRunView(childId, record, [], status);
    if (!view) throw new TransientError(`child run ${childId} is not found yet`);
    const steps = stateFromDurable(status)?.steps ?? view.steps;
    const metrics = { childSteps: steps.length, childStepsSucceeded: steps.filter((s) => s.status === 'succeeded' || s.status === 'reused').length };
    if (view.status === 'succeeded') {
      ctx.report?.({ level: 'info', msg: `child run ${childId} (${step.pipeline}) succeeded` });
      return { status: 'succeeded', output: { runId: childId, pipeline: step.pipeline, status: 'succeeded' }, metrics };
    }
    if (view.status === 'failed' || view.status === 'cancelled') {
      const why = view.error?.message ?? view.status;
      const where = view.error?.stepId ? ` at step ${view.error.stepId}` : '';
      // The child's own retries and pipeline retry are spent: the parent's step retry policy decides what comes next.
      throw new PermanentError(`child run ${childId} (${step.pipeline}) ${view.status}${where}: ${why}`, { code: `child-${view.status}` });
    }
    return { status: 'running', handle: { childRunId: childId }, pollAfterSeconds: step.pollInterval, metrics };
  };

  const childIdOf = (handle: JsonObject): string => {
    const id = handle['childRunId'];
    if (typeof id !== 'string') throw new PermanentError('pipeline step: the poll handle names no child run');
    return id;
  };

  return {
    async start(step, ctx) {
      const child = childOf(step);
      const childId = childRunId(child.name, ctx.runId, ctx.stepId, ctx.attempt);
      const given = fillJson(step.parameters, { runId: ctx.runId, parameters: ctx.parameters, trigger: ctx.trigger, upstream: ctx.upstream, item: ctx.item }) as JsonObject;
      const trigger = childTrigger(ctx);
      const instant = trigger.scheduledFor ?? trigger.requestedAt ?? deps.now().toISOString();
      const resolved = resolveParameters(child, given, {}, runFactsAt(instant));
      if (!resolved.ok) throw new PermanentError(`parameters for pipeline "${child.name}": ${resolved.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
      const resumeFrom = await resumeFromSource(step, child, ctx);
      const started = await startRunOnce(client(ctx), { pipeline: child, runId: childId, trigger, parameters: resolved.parameters, ...(resumeFrom ? { resumeFrom } : {}) }, store());
      ctx.report?.({ level: 'info', msg: `${started ? 'started' : 'following'} child run ${childId} (${child.name})` });
      const outcome = await check(step, childId, ctx);
      // The child's wake can reach the parent before its poller exists (a child that ends within
      // moments of its start): a first check soon after the start catches that, then the fallback.
      return outcome.status === 'running' ? { ...outcome, pollAfterSeconds: Math.min(FIRST_CHECK_SECONDS, step.pollInterval) } : outcome;
    },
    poll: (step, handle, ctx) => check(step, childIdOf(handle), ctx),
    async cancel(_step, handle, ctx) {
      // As the API cancels (src/api/routes.ts cancelRun): recorded first, so a lost event cannot lose it.
      // The run store down (the parent's attempt timed out while the child waits on that store), the
      // event is raised all the same: a child left running would do its work beside the retry's child.
      try {
        const childId = childIdOf(handle);
        const requestedAt = deps.now().toISOString();
        const claim = await store()
          .claimCancel(childId, requestedAt, `run ${ctx.runId}`)
          .catch((error: unknown) => {
            ctx.log.warn({ err: error instanceof Error ? error.message : String(error) }, 'pipeline step: could not record the cancel of the child run; cancelling it anyway');
            return { first: true, requestedAt };
          });
        if (claim.first) await client(ctx).raiseEvent(childId, CANCEL_EVENT, { reason: `by run ${ctx.runId}`, requestedAt: claim.requestedAt });
      } catch (error) {
        ctx.log.warn({ err: error instanceof Error ? error.message : String(error) }, 'pipeline step: could not cancel the child run');
      }
    },
  };
}
