import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { OrchestrationContext } from 'durable-functions';
import type { Registration } from '../../src/app/registry';
import { DevHost, replayFromScratch } from '../../src/devhost';
import { CANCEL_EVENT } from '../../src/engine';
import { guardFreshCompounds, replayMismatches, seedPipeline, startEngineHost, START, type EngineHost } from './engineHarness';

describe('determinism: finished runs replay from scratch to the same actions', () => {
  let engine: EngineHost;
  before(async () => {
    engine = await startEngineHost({ maxPollsPerExecution: 5 });
  });
  after(() => engine.stop());

  test('retries, polling with continue-as-new, pipeline retry and cancel all replay identically', async () => {
    const seed = seedPipeline();
    engine.fake.script('export', [{ fail: 'transient' }, { retryAfter: 75 }]);
    engine.fake.script('load', [{ running: { polls: 12, pollAfterSeconds: 20 } }]);
    engine.fake.script('transform', [{ fail: 'transient' }, { fail: 'transient' }]);
    await engine.run(seed, 'det-mixed');

    engine.fake.script('load', [{ running: { polls: 100, pollAfterSeconds: 30 } }]);
    await engine.start(seed, 'det-cancel');
    await engine.host.advance(200_000);
    await engine.host.client.raiseEvent('det-cancel', CANCEL_EVENT, {});
    await engine.host.waitFor('det-cancel');
    await engine.host.runUntilIdle();

    const checked = engine.host.instanceIds().filter((id) => ['Completed', 'Failed'].includes(engine.host.status(id)?.runtimeStatus ?? ''));
    assert.ok(checked.length >= 4, `runs and their sub-orchestrations were checked: ${checked.join(', ')}`);
    assert.ok(engine.host.executions('det-mixed:load:1').length >= 3, 'the poller continued as new');
    assert.deepEqual(await replayMismatches(engine), []);
  });

  test('the check catches an orchestrator that is not deterministic', async () => {
    const registrations: Registration[] = [
      {
        kind: 'orchestration',
        name: 'flaky',
        handler: function* flaky(context: OrchestrationContext) {
          // Deliberately wrong: a replay draws a different number.
          yield context.df.callActivity('echo', Math.random());
          return 'done';
        },
      },
      { kind: 'activity', name: 'echo', handler: (input: unknown) => input },
    ];
    const host = await DevHost.start({ registrations, clock: 'virtual', startTime: START, httpPort: false });
    try {
      await host.client.startNew('flaky', { instanceId: 'flaky-1' });
      await host.waitFor('flaky-1');
      const [execution] = host.executions('flaky-1');
      const registration = registrations[0];
      assert.ok(execution && registration?.kind === 'orchestration');
      const report = await replayFromScratch(registration, execution, 'flaky-1');
      assert.ok(report.mismatches.length > 0);
    } finally {
      await host.stop();
    }
  });

  test('the harness guard catches a running task put into a new Task.any (the extension would run it twice)', async () => {
    const registrations: Registration[] = [
      {
        kind: 'orchestration',
        name: 'reuser',
        handler: guardFreshCompounds(function* reuser(context: OrchestrationContext) {
          const slow = context.df.callActivity('echo', 'slow');
          const first = context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + 1000));
          yield context.df.Task.any([slow, first]);
          // Wrong: `slow` is already scheduled.
          yield context.df.Task.any([slow, context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + 1000))]);
          return 'done';
        }),
      },
      { kind: 'activity', name: 'echo', handler: (input: unknown) => new Promise((resolve) => setTimeout(() => resolve(input), 5)) },
    ];
    const host = await DevHost.start({ registrations, clock: 'virtual', startTime: START, httpPort: false });
    try {
      await host.client.startNew('reuser', { instanceId: 'reuser-1' });
      const status = await host.waitFor('reuser-1');
      assert.equal(status.runtimeStatus, 'Failed');
      assert.match(JSON.stringify(status.output), /yielded again inside a new Task.any/);
    } finally {
      await host.stop();
    }
  });
});
