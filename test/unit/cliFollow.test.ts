/**
 * What `--follow` makes of a run's view: the pipeline retry the engine publishes, said once by
 * `run --follow` and `logs --follow` alike, how the run's end line reads, and the time order of
 * steps and log lines. The views are shaped like GET /api/runs/{id} answers.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiClient, TransientCliError } from '../../src/cli/client';
import { CliError, EXIT } from '../../src/cli/exitCodes';
import { FOLLOW_TRIES, follow, logText, type RunViewJson } from '../../src/cli/follow';

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
  const run = async (polls: readonly { view: RunViewJson; lines: ReturnType<typeof log>[] }[], steps: boolean): Promise<string[]> => {
    const out: string[] = [];
    await follow(new ScriptedApi(polls), 'r1', { json: false, intervalMs: 0, write: (line) => out.push(line), steps });
    return out;
  };

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

  test('the pipeline retry the engine publishes is said once, by run --follow and logs --follow: "pipeline attempt 2 at 02:07"', async () => {
    const failedRound = failedLoad('transient');
    const waiting = { ...failedRound, asOf: t(130), pipelineRetry: { attempt: 2, at: '2026-11-29T02:07:07.000Z' } };
    const polls = [
      { view: waiting, lines: [log(126, 'load', 'step load attempt 2 failed (transient): locked', 'c1')] },
      { view: { ...waiting, asOf: t(200) }, lines: [] },
      { view: { ...failedRound, status: 'failed', pipelineAttempt: 2, asOf: t(500), endedAt: t(450), error: { message: 'locked', stepId: 'load' } }, lines: [] },
    ];
    for (const steps of [true, false]) {
      const out = await run(polls, steps);
      const notices = out.filter((l) => /pipeline attempt 2 at 02:07 UTC/.test(l));
      assert.deepEqual(notices, ['02:02:07               run failed (pipeline attempt 1); pipeline attempt 2 at 02:07 UTC'], out.join('\n'));
    }
  });

  test('no notice without a published wait, whatever the steps look like (the CLI computes nothing)', async () => {
    const out = await run([{ view: { ...failedLoad('transient'), status: 'failed', asOf: t(500) }, lines: [] }], true);
    assert.equal(out.filter((l) => /pipeline attempt/.test(l)).length, 0, out.join('\n'));
  });
});

describe('--follow rides out a front end that stumbles (red-team pass 2, F7)', () => {
  const running: RunViewJson = { runId: 'r1', pipeline: 'p', status: 'running', metrics: {}, steps: [] };
  const done: RunViewJson = { ...running, status: 'succeeded' };
  /** Answers from a script: each entry is a view, or a transient failure (502, reset, stall). */
  class StumblingApi extends ApiClient {
    readonly calls: string[] = [];
    constructor(private readonly views: readonly (RunViewJson | 'fail')[]) {
      super({ baseUrl: 'http://127.0.0.1:1' });
    }
    override get<T>(path: string): Promise<T> {
      this.calls.push(path);
      if (path.endsWith('/logs')) return Promise.resolve({ lines: [], nextCursor: null } as T);
      const next = this.views[Math.min(this.calls.filter((c) => !c.endsWith('/logs')).length - 1, this.views.length - 1)];
      if (next === 'fail') return Promise.reject(new TransientCliError('server error (HTTP 502): Bad Gateway', EXIT.failed));
      return Promise.resolve(next as T);
    }
  }

  test('a few 502s while the run runs are retried; the exit code is the run\'s own', async () => {
    const api = new StumblingApi([running, 'fail', 'fail', 'fail', running, done]);
    const { exitCode } = await follow(api, 'r1', { json: false, intervalMs: 0, write: () => undefined, steps: true, retryDelayMs: 1 });
    assert.equal(exitCode, EXIT.ok);
  });

  test('a server lost for good exits "could not follow" (8), never 1 ("the run failed"), naming how to resume', async () => {
    const api = new StumblingApi([running, 'fail']);
    await assert.rejects(follow(api, 'r1', { json: false, intervalMs: 0, write: () => undefined, steps: true, retryDelayMs: 1 }), (error: CliError) => {
      assert.equal(error.exitCode, EXIT.couldNotFollow);
      assert.equal(EXIT.couldNotFollow, 8);
      assert.match(error.message, /could not follow run r1 after 6 tries: server error \(HTTP 502\).*durable-pipelines logs r1 --follow/);
      return true;
    });
    assert.equal(api.calls.filter((c) => c === 'runs/r1').length, 1 + FOLLOW_TRIES);
  });
});
