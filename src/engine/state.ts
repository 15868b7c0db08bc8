/**
 * The run's live state: one StepState per step, updated at each transition and published as the
 * orchestration's custom status (and returned as its output). Pure; times are replayed instants.
 */
import type { FailureInfo } from '../core/errors';
import type { Json } from '../core/json';
import type { StepMetrics } from '../steps/protocol';
import { isoAt, secondsBetween } from './clock';
import type { PipelineRetryWait, PoolWait, RunInput, RunState, RunStatus, StepAttemptSummary, StepState, StepStatus } from './types';

/** What the tracker needs of a run: a whole run, or one step of it (the step sub-orchestration). */
export interface TrackedRun {
  readonly runId: string;
  readonly pipeline: { readonly name: string; readonly steps: readonly { readonly id: string }[] };
  readonly resumeFrom?: RunInput['resumeFrom'];
}

export class RunTracker {
  private readonly steps = new Map<string, StepState>();
  private readonly attemptStarts = new Map<string, number>();
  pipelineAttempt = 1;
  /** The pipeline retry the run waits for, while it waits (runPipeline.ts). */
  pipelineRetry: PipelineRetryWait | undefined;
  /** The run-level pool the run waits for, while it waits (pools.ts). */
  poolWait: PoolWait | undefined;

  constructor(
    private readonly input: TrackedRun,
    private readonly startedMs: number,
  ) {
    const carried = input.resumeFrom?.steps ?? {};
    for (const step of input.pipeline.steps) {
      // Own properties only: a step id like `constructor` must not find Object.prototype's member.
      const reused = Object.hasOwn(carried, step.id) ? carried[step.id] : undefined;
      this.steps.set(
        step.id,
        reused
          ? {
              id: step.id,
              status: 'reused',
              attempts: [],
              ...(reused.output === undefined ? {} : { output: reused.output }),
              ...(reused.metrics === undefined ? {} : { metrics: reused.metrics }),
            }
          : { id: step.id, status: 'pending', attempts: [] },
      );
    }
  }

  /** Replaces a step's state wholesale (a step run by a sub-orchestration reports back). */
  replace(state: StepState): void {
    this.get(state.id);
    this.put(state);
  }

  /** Marks a step handed to a sub-orchestration as running (its attempts are tracked there). */
  running(id: string): void {
    const step = this.get(id);
    this.put({ id, status: 'running', attempts: step.attempts });
  }

  status(id: string): StepStatus {
    return this.get(id).status;
  }

  step(id: string): StepState {
    return this.get(id);
  }

  /** Attempts made of a step so far in this run, every pipeline attempt included. */
  attemptCount(id: string): number {
    return this.get(id).attempts.length;
  }

  attemptStarted(id: string, attempt: number, nowMs: number): void {
    const step = this.get(id);
    const summary: StepAttemptSummary = { attempt, startedAt: isoAt(nowMs), status: 'running' };
    this.attemptStarts.set(`${id}#${attempt}`, nowMs);
    this.put({ id, status: 'running', attempts: [...step.attempts, summary] });
  }

  attemptSucceeded(id: string, nowMs: number, output: Json | undefined, metrics: StepMetrics | undefined): void {
    const step = this.get(id);
    this.put({
      id,
      status: 'succeeded',
      attempts: this.endLast(id, step.attempts, nowMs, 'succeeded'),
      ...(output === undefined ? {} : { output }),
      ...(metrics === undefined ? {} : { metrics }),
    });
  }

  attemptFailed(id: string, nowMs: number, error: FailureInfo): void {
    const step = this.get(id);
    this.put({ id, status: 'running', attempts: this.endLast(id, step.attempts, nowMs, 'failed', error), error });
  }

  /** Waiting for a slot of a shared pool (the attempt has not started). */
  waitingForPool(id: string, pool: PoolWait): void {
    const { nextAt: _next, ...step } = this.get(id);
    this.put({ ...step, status: 'waiting', pool });
  }

  /** Waiting for a retry delay. */
  waiting(id: string, untilMs: number): void {
    const step = this.get(id);
    this.put({ ...step, status: 'waiting', nextAt: isoAt(untilMs) });
  }

  stepFailed(id: string, error: FailureInfo): void {
    const step = this.get(id);
    this.put({ id, status: 'failed', attempts: step.attempts, error });
  }

  skip(id: string): void {
    const step = this.get(id);
    this.put({ id, status: 'skipped', attempts: step.attempts });
  }

  /** Ends an in-flight step because the run was cancelled or timed out. */
  interrupt(id: string, nowMs: number, error: FailureInfo): void {
    const step = this.get(id);
    const last = step.attempts[step.attempts.length - 1];
    const attempts = last?.status === 'running' ? this.endLast(id, step.attempts, nowMs, 'failed', error) : step.attempts;
    this.put({ id, status: 'cancelled', attempts, error });
  }

  /** Pipeline retry: steps that did not succeed become pending again; their attempts are kept. */
  resetUnsucceeded(): string[] {
    const reset: string[] = [];
    for (const step of this.steps.values()) {
      if (step.status === 'succeeded' || step.status === 'reused') continue;
      this.put({ id: step.id, status: 'pending', attempts: step.attempts });
      reset.push(step.id);
    }
    return reset;
  }

  snapshot(status: RunStatus, endedMs?: number, error?: RunState['error']): RunState {
    return {
      runId: this.input.runId,
      pipeline: this.input.pipeline.name,
      status,
      pipelineAttempt: this.pipelineAttempt,
      // Only a running run waits: an ended one never carries a wait.
      ...(this.pipelineRetry === undefined || status !== 'running' ? {} : { pipelineRetry: this.pipelineRetry }),
      ...(this.poolWait === undefined || status !== 'running' ? {} : { pool: this.poolWait }),
      startedAt: isoAt(this.startedMs),
      ...(endedMs === undefined ? {} : { endedAt: isoAt(endedMs), durationSeconds: secondsBetween(this.startedMs, endedMs) }),
      steps: this.input.pipeline.steps.map((s) => this.get(s.id)),
      ...(error === undefined ? {} : { error }),
    };
  }

  private endLast(
    id: string,
    attempts: readonly StepAttemptSummary[],
    nowMs: number,
    status: 'succeeded' | 'failed',
    error?: FailureInfo,
  ): StepAttemptSummary[] {
    const last = attempts[attempts.length - 1];
    if (!last) return [...attempts];
    const startedMs = this.attemptStarts.get(`${id}#${last.attempt}`) ?? nowMs;
    const ended: StepAttemptSummary = {
      attempt: last.attempt,
      startedAt: last.startedAt,
      endedAt: isoAt(nowMs),
      durationSeconds: secondsBetween(startedMs, nowMs),
      status,
      ...(error === undefined ? {} : { error }),
    };
    return [...attempts.slice(0, -1), ended];
  }

  private get(id: string): StepState {
    const step = this.steps.get(id);
    if (!step) throw new Error(`unknown step "${id}"`);
    return step;
  }

  private put(step: StepState): void {
    this.steps.set(step.id, step);
  }
}
