/**
 * The `approval` step kind as a polled step: `start` records the request (what is asked, who may
 * decide, until when) and returns a handle; each `poll` reads whether a decision was recorded.
 * Between polls a durable timer waits (src/engine/pollStep.ts): nothing runs while the step waits,
 * however long. Approved, the step succeeds with the decision as its output; rejected, it fails
 * permanently naming who rejected it and why; no decision within the step's `timeout`, the engine
 * fails it with a timeout (and `cancel` takes it off the waiting list).
 */
import { PermanentError } from '../../core/errors';
import type { JsonObject } from '../../core/json';
import { fillTemplate } from '../../pipelines/runValues';
import type { AdapterFor, StepContext } from '../adapter';
import type { StepOutcome } from '../protocol';
import type { ApprovalStep } from './schema';
import type { ApprovalStore } from './store';

export interface ApprovalAdapterDeps {
  /** Undefined without a run store: an approval step then fails at once, saying why. */
  readonly approvals: ApprovalStore | undefined;
  readonly now: () => Date;
}

export function createApprovalAdapter(deps: ApprovalAdapterDeps): AdapterFor<'approval'> {
  const store = (): ApprovalStore => {
    if (!deps.approvals) throw new PermanentError('approval steps need the run store (RUN_STORE_TABLE_URL or RUN_STORE_CONNECTION_STRING): decisions are recorded there');
    return deps.approvals;
  };

  const check = async (step: ApprovalStep, ctx: StepContext): Promise<StepOutcome> => {
    const request = await store().get(ctx.runId, step.id);
    if (request?.decision === 'approved') {
      const output: JsonObject = { decision: 'approved', by: request.decidedBy ?? 'unknown', at: request.decidedAt ?? '', ...(request.comment ? { comment: request.comment } : {}) };
      ctx.report?.({ level: 'info', msg: `approved by ${request.decidedBy ?? 'unknown'}${request.comment ? `: ${request.comment}` : ''}` });
      return { status: 'succeeded', output, metrics: { approvedBy: request.decidedBy ?? null } };
    }
    if (request?.decision === 'rejected') {
      throw new PermanentError(`rejected by ${request.decidedBy ?? 'unknown'} at ${request.decidedAt ?? '?'}${request.comment ? `: ${request.comment}` : ''}`);
    }
    return { status: 'running', handle: { since: request?.since ?? deps.now().toISOString() }, pollAfterSeconds: step.pollInterval };
  };

  return {
    async start(step, ctx) {
      const since = deps.now().toISOString();
      const message = fillTemplate(step.message, { runId: ctx.runId, parameters: ctx.parameters, trigger: ctx.trigger });
      await store().request({
        runId: ctx.runId, pipeline: ctx.pipeline, stepId: step.id, attempt: ctx.attempt, message,
        ...(step.approvers ? { approvers: step.approvers } : {}),
        since, until: new Date(Date.parse(since) + step.timeout * 1000).toISOString(),
      });
      ctx.report?.({ level: 'info', msg: `waiting for approval: ${message}${step.approvers ? ` (approvers: ${step.approvers.join(', ')})` : ''}` });
      return check(step, ctx);
    },
    poll: (step, _handle, ctx) => check(step, ctx),
    async cancel(step, _handle, ctx) {
      try {
        await deps.approvals?.dropWaiting(ctx.runId, step.id);
      } catch (error) {
        ctx.log.warn({ err: error instanceof Error ? error.message : String(error) }, 'approval: could not drop the waiting row');
      }
    },
  };
}
