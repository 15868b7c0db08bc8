/**
 * Scriptable stand-ins for our own step adapters (dependency-injected, not SDK mocks). Each step
 * id gets a script: one entry per `start` call (success, transient / permanent failure, retry-after
 * hint, or a long job that answers "running" for N polls). Every call is recorded with the time of
 * the clock it was given (the development host's virtual clock in orchestration tests).
 */
import { PermanentError, RetryAfterError, TransientError } from '../../src/core/errors';
import type { Json, JsonObject } from '../../src/core/json';
import type { StepDefinition } from '../../src/pipelines/schema';
import type { StepAdapter, StepContext } from '../../src/steps/adapter';
import type { StepMetrics, StepOutcome } from '../../src/steps/protocol';

export type Finish =
  | { readonly ok: { readonly output?: Json; readonly metrics?: StepMetrics } }
  | { readonly fail: 'transient' | 'permanent'; readonly message?: string; readonly code?: string }
  | { readonly retryAfter: number; readonly message?: string };

/**
 * A start answer: finish at once, or run a long job that answers "running" to every poll before
 * `(polls + 1) × pollAfterSeconds` after its start (the `polls` regular polls it takes), then ends.
 */
export type ScriptEntry = Finish | { readonly running: { readonly polls: number; readonly pollAfterSeconds?: number; readonly then?: Finish } };

export interface RecordedCall {
  readonly method: 'start' | 'poll' | 'cancel';
  readonly runId: string;
  readonly stepId: string;
  readonly attempt: number;
  readonly at: Date;
  readonly handle?: JsonObject;
  /** The upstream values the step's activity was handed (docs/pipelines.md). */
  readonly upstream?: JsonObject;
}

interface Job {
  readonly stepId: string;
  /** When the job ends (epoch ms): a poll before it, however early, finds it running. */
  readonly endsAtMs: number;
  readonly pollAfterSeconds: number;
  readonly then: Finish;
  cancelled: boolean;
}

const SUCCESS: Finish = { ok: {} };

export class FakeAdapter implements StepAdapter {
  readonly calls: RecordedCall[] = [];
  private readonly scripts = new Map<string, ScriptEntry[]>();
  private readonly jobs = new Map<string, Job>();
  private nextJob = 1;

  constructor(private readonly now: () => Date = () => new Date()) {}

  /** Answers for the next `start` calls of a step; once used up, starts succeed. */
  script(stepId: string, entries: readonly ScriptEntry[]): this {
    this.scripts.set(stepId, [...(this.scripts.get(stepId) ?? []), ...entries]);
    return this;
  }

  /** Calls made for one step of one run, in order. */
  callsOf(runId: string, stepId: string, method: RecordedCall['method'] = 'start'): RecordedCall[] {
    return this.calls.filter((c) => c.runId === runId && c.stepId === stepId && c.method === method);
  }

  start(step: StepDefinition, ctx: StepContext): Promise<StepOutcome> {
    this.calls.push({ method: 'start', runId: ctx.runId, stepId: step.id, attempt: ctx.attempt, at: this.now(), ...(ctx.upstream === undefined ? {} : { upstream: ctx.upstream }) });
    const entry = this.scripts.get(step.id)?.shift() ?? SUCCESS;
    if ('running' in entry) {
      const id = `job-${this.nextJob++}`;
      const pollAfterSeconds = entry.running.pollAfterSeconds ?? 30;
      const endsAtMs = this.now().getTime() + (entry.running.polls + 1) * pollAfterSeconds * 1000;
      this.jobs.set(id, { stepId: step.id, endsAtMs, pollAfterSeconds, then: entry.running.then ?? SUCCESS, cancelled: false });
      return Promise.resolve({ status: 'running', handle: { job: id }, pollAfterSeconds });
    }
    return finish(step.id, entry);
  }

  poll(step: StepDefinition, handle: JsonObject, ctx: StepContext): Promise<StepOutcome> {
    this.calls.push({ method: 'poll', runId: ctx.runId, stepId: step.id, attempt: ctx.attempt, at: this.now(), handle });
    const job = this.jobs.get(jobKey(handle));
    if (!job) return Promise.reject(new PermanentError(`unknown job ${JSON.stringify(handle)}`));
    if (job.cancelled) return Promise.reject(new PermanentError(`job ${jobKey(handle)} was cancelled`));
    if (this.now().getTime() < job.endsAtMs) return Promise.resolve({ status: 'running', handle, pollAfterSeconds: job.pollAfterSeconds });
    return finish(step.id, job.then);
  }

  cancel(step: StepDefinition, handle: JsonObject, ctx: StepContext): Promise<void> {
    this.calls.push({ method: 'cancel', runId: ctx.runId, stepId: step.id, attempt: ctx.attempt, at: this.now(), handle });
    const job = this.jobs.get(jobKey(handle));
    if (job) job.cancelled = true;
    return Promise.resolve();
  }
}

function jobKey(handle: JsonObject): string {
  const job = handle['job'];
  return typeof job === 'string' ? job : JSON.stringify(job);
}

function finish(stepId: string, entry: Finish): Promise<StepOutcome> {
  if ('ok' in entry) {
    return Promise.resolve({
      status: 'succeeded',
      output: entry.ok.output ?? { step: stepId },
      ...(entry.ok.metrics === undefined ? {} : { metrics: entry.ok.metrics }),
    });
  }
  if ('retryAfter' in entry) return Promise.reject(new RetryAfterError(entry.message ?? 'HTTP 429 Too Many Requests', entry.retryAfter, { code: '429' }));
  const options = entry.code === undefined ? {} : { code: entry.code };
  if (entry.fail === 'permanent') return Promise.reject(new PermanentError(entry.message ?? 'HTTP 401 Unauthorized', options));
  return Promise.reject(new TransientError(entry.message ?? 'HTTP 503 Service Unavailable', options));
}
