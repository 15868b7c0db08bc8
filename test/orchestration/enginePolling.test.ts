import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CANCEL_EVENT, pollInstanceId, type RunState } from '../../src/engine';
import { pipeline, secondsBetween, seedPipeline, engineHostForSuite } from './engineHarness';

/** Events per execution of the polling sub-orchestration, whatever the job's length (50 polls per execution). */
const POLL_HISTORY_BOUND = 420;

describe('long steps polled with durable timers', () => {
  const engine = engineHostForSuite();

  test('a polled step past its timeout fails as timed out, its job is stopped, and it is retried by its policy', async () => {
    const p = pipeline({
      name: 'slow-dbt',
      title: 'slow dbt',
      steps: [
        {
          id: 'transform',
          kind: 'dbt',
          runner: { type: 'cloud', accountId: '1', jobId: '2', token: { secret: 'dbt-token' } },
          timeout: '10m',
          pollInterval: 30,
          retry: { attempts: 2, delays: 60 },
        },
      ],
    });
    engine().fake.script('transform', [{ running: { polls: 10_000, pollAfterSeconds: 30 } }, { running: { polls: 2, pollAfterSeconds: 30 } }]);
    const run = await engine().run(p, 'poll-timeout');

    assert.equal(run.status, 'succeeded');
    const [first, second] = run.steps[0]!.attempts;
    assert.equal(first?.status, 'failed');
    assert.equal(first?.error?.class, 'timeout');
    assert.match(first?.error?.message ?? '', /timeout of 10m/);
    assert.equal(first?.durationSeconds, 600);
    const cancels = engine().fake.callsOf('poll-timeout', 'transform', 'cancel');
    assert.deepEqual(cancels.map((c) => c.attempt), [1], 'the timed-out job was asked to stop');
    const starts = engine().fake.callsOf('poll-timeout', 'transform');
    assert.equal(secondsBetween(starts[0]!.at, starts[1]!.at), 600 + 60, 'retry 60 s after the timeout');
    assert.equal(second?.status, 'succeeded');
    assert.equal(second?.durationSeconds, 90, 'two "running" answers, then done on the third poll');
  });

  test('cancel during a polling step: Cancelled within one poll interval, the job is stopped, no later step starts', async () => {
    engine().fake.script('load', [{ running: { polls: 10_000, pollAfterSeconds: 30 } }]);
    await engine().start(seedPipeline(), 'cancel-1');
    await engine().host.advance(100_000);
    assert.ok(engine().fake.callsOf('cancel-1', 'load', 'poll').length >= 3, 'load is being polled');
    const live = engine().host.status('cancel-1')?.customStatus as RunState;
    assert.equal(live.status, 'running');
    assert.deepEqual(live.steps.map((s) => s.status), ['succeeded', 'running', 'pending'], 'the live view shows each step');
    const cancelledAt = engine().host.now();
    await engine().host.client.raiseEvent('cancel-1', CANCEL_EVENT, { reason: 'operator request' });
    const status = await engine().host.waitFor('cancel-1');

    const run = status.output as RunState;
    assert.equal(status.runtimeStatus, 'Completed');
    assert.equal(run.status, 'cancelled');
    assert.equal(run.error?.message, 'run cancelled: operator request');
    assert.ok(secondsBetween(cancelledAt, run.endedAt!) <= 30, `ended ${secondsBetween(cancelledAt, run.endedAt!)} s after the cancel`);
    assert.deepEqual(run.steps.map((s) => s.status), ['succeeded', 'cancelled', 'skipped']);
    assert.equal(engine().fake.callsOf('cancel-1', 'load', 'cancel').length, 1);
    await engine().host.runUntilIdle();
    assert.equal(engine().fake.callsOf('cancel-1', 'transform').length, 0);
    assert.equal(engine().recorder.runs.get('cancel-1')?.status, 'cancelled');
  });

  test('terminate ends a run as Terminated and starts nothing more', async () => {
    engine().fake.script('load', [{ running: { polls: 10_000, pollAfterSeconds: 30 } }]);
    await engine().start(seedPipeline(), 'terminate-1');
    await engine().host.advance(60_000);
    await engine().host.client.terminate('terminate-1', 'stop it');
    const status = await engine().host.waitFor('terminate-1');
    assert.equal(status.runtimeStatus, 'Terminated');
    await engine().host.advance(600_000);
    assert.equal(engine().fake.callsOf('terminate-1', 'transform').length, 0);
  });

  test('the pipeline timeout ends the run as failed (timeout), stops the polled job, and is not retried', async () => {
    const p = pipeline({
      name: 'run-timeout',
      title: 'run timeout',
      timeout: '5m',
      pipelineRetry: { retries: 1, delay: 60 },
      steps: [
        { id: 'transform', kind: 'dbt', runner: { type: 'cloud', accountId: '1', jobId: '2', token: { secret: 'dbt-token' } }, pollInterval: 30 },
        { id: 'report', kind: 'azureFunction', url: 'https://fn.example/api/report', dependsOn: ['transform'] },
      ],
    });
    engine().fake.script('transform', [{ running: { polls: 10_000, pollAfterSeconds: 30 } }]);
    const run = await engine().run(p, 'run-timeout');
    assert.equal(run.status, 'failed');
    assert.equal(run.error?.class, 'timeout');
    assert.equal(run.durationSeconds, 300);
    assert.deepEqual(run.steps.map((s) => s.status), ['cancelled', 'skipped']);
    assert.equal(engine().fake.callsOf('run-timeout', 'transform', 'cancel').length, 1);
    assert.equal(engine().fake.callsOf('run-timeout', 'transform').length, 1);
  });

  test('a job polled every 30 s for 6 hours keeps every execution’s history under a fixed bound', async () => {
    const p = pipeline({
      name: 'six-hours',
      title: 'six hours',
      steps: [{ id: 'transform', kind: 'dbt', runner: { type: 'cloud', accountId: '1', jobId: '2', token: { secret: 'dbt-token' } }, timeout: '7h', pollInterval: 30 }],
    });
    engine().fake.script('transform', [{ running: { polls: 719, pollAfterSeconds: 30 } }]);
    const run = await engine().run(p, 'six-hours');

    assert.equal(run.status, 'succeeded');
    assert.equal(run.steps[0]?.attempts[0]?.durationSeconds, 6 * 3600);
    assert.equal(engine().fake.callsOf('six-hours', 'transform', 'poll').length, 720);
    const poller = engine().host.stats(pollInstanceId('six-hours', 'transform', 1));
    const parent = engine().host.stats('six-hours');
    console.log(
      `6 h job, 720 polls: poller ${poller.executions} executions, max ${poller.maxHistoryEvents} history events per execution ` +
        `(bound ${POLL_HISTORY_BOUND}), ${poller.totalHistoryEvents} in all; parent run ${parent.maxHistoryEvents} events`,
    );
    assert.ok(poller.executions >= 14, `continued as new (${poller.executions} executions)`);
    for (const n of poller.historyEventsPerExecution) assert.ok(n <= POLL_HISTORY_BOUND, `an execution had ${n} events`);
    assert.ok(parent.maxHistoryEvents <= 30, `parent history ${parent.maxHistoryEvents}`);
  });
});
