/**
 * What `--follow` decides from a run's view: when to announce the pipeline retry and for when, and
 * how the run's end line reads. The views are shaped like GET /api/runs/{id} answers.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiClient } from '../../src/cli/client';
import { awaitsPipelineRetry, follow, logText, pipelineRetryDue, type RunViewJson } from '../../src/cli/follow';

const failedLoad = (errorClass: string): RunViewJson => ({
  runId: 'r1',
  pipeline: 'data-pipeline',
  status: 'running',
  pipelineAttempt: 1,
  metrics: {},
  steps: [
    { id: 'export', status: 'succeeded', attempts: [{ attempt: 1, status: 'succeeded', startedAt: '2026-11-29T02:00:00.000Z', endedAt: '2026-11-29T02:00:05.000Z' }] },
    {
      id: 'load',
      status: 'failed',
      attempts: [
        { attempt: 1, status: 'failed', startedAt: '2026-11-29T02:00:05.000Z', endedAt: '2026-11-29T02:00:06.000Z', error: { class: errorClass, message: 'locked' } },
        { attempt: 2, status: 'failed', startedAt: '2026-11-29T02:02:06.000Z', endedAt: '2026-11-29T02:02:07.000Z', error: { class: errorClass, message: 'locked' } },
      ],
      error: { class: errorClass, message: 'locked' },
    },
    { id: 'transform', status: 'skipped', attempts: [] },
  ],
});

describe('--follow and the pipeline retry', () => {
  test('a settled failed round of a running run: retry due at the last failure + delay', () => {
    const run = failedLoad('transient');
    assert.equal(awaitsPipelineRetry(run, 0), true);
    assert.deepEqual(pipelineRetryDue(run, { retries: 1, delay: 300 }), { pipelineAttempt: 1, failedAt: '2026-11-29T02:02:07.000Z', at: '2026-11-29T02:07:07.000Z' });
  });

  test('announced once per pipeline attempt; nothing while a step still runs or once the run ended', () => {
    const run = failedLoad('transient');
    assert.equal(awaitsPipelineRetry(run, 1), false);
    assert.equal(awaitsPipelineRetry({ ...run, steps: run.steps.map((s) => (s.id === 'transform' ? { ...s, status: 'pending' } : s)) }, 0), false);
    assert.equal(awaitsPipelineRetry({ ...run, status: 'failed' }, 0), false);
  });

  test('no retry announced when none is left, or when every failure is permanent and retryPermanent is off', () => {
    assert.equal(pipelineRetryDue({ ...failedLoad('transient'), pipelineAttempt: 2 }, { retries: 1, delay: 300 }), undefined);
    assert.equal(pipelineRetryDue(failedLoad('permanent'), { retries: 1, delay: 300 }), undefined);
    assert.equal(pipelineRetryDue(failedLoad('permanent'), { retries: 1, delay: 300, retryPermanent: true })?.at, '2026-11-29T02:07:07.000Z');
  });
});

describe('the run end line', () => {
  test('a cancellation is said once, with its reason when there is one', () => {
    assert.equal(logText('run cancelled: run cancelled'), 'run cancelled');
    assert.equal(logText('run cancelled: run cancelled: stopped by ops'), 'run cancelled: stopped by ops');
    assert.equal(logText('run failed: load: locked'), 'run failed: load: locked');
    assert.equal(logText('run succeeded'), 'run succeeded');
  });
});

describe('--follow merges the run view and its log in time order', () => {
  const t = (seconds: number) => new Date(Date.parse('2026-11-29T02:00:00.000Z') + seconds * 1000).toISOString();
  const attempt = (startedAt: number, endedAt?: number, status = endedAt === undefined ? 'running' : 'succeeded') => ({
    attempt: 1,
    status,
    startedAt: t(startedAt),
    ...(endedAt === undefined ? {} : { endedAt: t(endedAt) }),
  });
  const log = (seconds: number, stepId: string, msg: string, cursor: string) => ({ time: t(seconds), level: 'info', stepId, msg, cursor });

  /** Answers GET runs/r1 and runs/r1/logs from a script: one view and one log page per poll. */
  class ScriptedApi extends ApiClient {
    private poll = -1;
    constructor(private readonly polls: readonly { view: RunViewJson; lines: ReturnType<typeof log>[] }[]) {
      super({ baseUrl: 'http://127.0.0.1:1' });
    }
    override get<T>(path: string, query: Record<string, string | number | undefined> = {}): Promise<T> {
      if (path === 'runs/r1') {
        this.poll = Math.min(this.poll + 1, this.polls.length - 1);
        return Promise.resolve(this.polls[this.poll]!.view as T);
      }
      // The log as of this poll, after the client's cursor.
      const lines = this.polls.slice(0, this.poll + 1).flatMap((p) => p.lines);
      const after = query['after'];
      const rest = after === undefined ? lines : lines.slice(lines.findIndex((l) => l.cursor === after) + 1);
      return Promise.resolve({ lines: rest, nextCursor: rest.at(-1)?.cursor ?? after ?? null } as T);
    }
  }

  test('log lines newer than the view wait for the view that explains them', async () => {
    const base = { runId: 'r1', pipeline: 'p', pipelineAttempt: 1, metrics: {}, startedAt: t(0) };
    // Poll 1 reads the view while export runs; by the time it reads the log, export has ended and
    // load has started and failed once (the demo's virtual clock skips the retry wait).
    const polls = [
      {
        view: { ...base, status: 'running', asOf: t(0.5), steps: [{ id: 'export', status: 'running', attempts: [attempt(0)] }, { id: 'load', status: 'pending', attempts: [] }] },
        lines: [log(0, 'export', 'step export attempt 1 started', 'c1'), log(0.8, 'export', 'step export attempt 1 succeeded', 'c2'), log(125, 'load', 'step load attempt 1 started', 'c3')],
      },
      {
        view: { ...base, status: 'running', asOf: t(200), steps: [{ id: 'export', status: 'succeeded', attempts: [attempt(0, 0.9)] }, { id: 'load', status: 'running', attempts: [attempt(125)] }] },
        lines: [],
      },
      {
        view: { ...base, status: 'succeeded', asOf: t(300), endedAt: t(260), steps: [{ id: 'export', status: 'succeeded', attempts: [attempt(0, 0.9)] }, { id: 'load', status: 'succeeded', attempts: [attempt(125, 250)] }] },
        lines: [log(250, 'load', 'step load attempt 1 succeeded', 'c4')],
      },
    ];
    const out: string[] = [];
    const { exitCode } = await follow(new ScriptedApi(polls), 'r1', { json: false, intervalMs: 0, write: (line) => out.push(line), steps: true });
    assert.equal(exitCode, 0);
    const at = (pattern: RegExp) => out.findIndex((l) => pattern.test(l));
    assert.ok(at(/export +succeeded \(attempt 1\)/) < at(/step load attempt 1 started/), out.join('\n'));
    assert.ok(at(/step export attempt 1 succeeded/) < at(/export +succeeded \(attempt 1\)/), out.join('\n'));
    const clocks = out.map((l) => l.slice(0, 8)).filter((c) => /^\d\d:\d\d:\d\d$/.test(c));
    assert.deepEqual(clocks, [...clocks].sort(), out.join('\n'));
    assert.match(out.at(-1) ?? '', /run succeeded$/);
  });
});
