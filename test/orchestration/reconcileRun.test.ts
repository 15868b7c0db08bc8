/**
 * `reconcileRun` through the real DurableClient over the development host's extension endpoints:
 * what a run that continued as new asks after (src/engine/runPipeline.ts).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import { reconcileRun } from '../../src/activities/reconcileRun';
import type { Registration } from '../../src/app/registry';
import { readFailure } from '../../src/core/errors';
import { DevHost } from '../../src/devhost';

const T0 = new Date('2026-03-02T10:07:00Z');

const step: Registration = {
  kind: 'orchestration',
  name: 'step',
  handler: function* (context: OrchestrationContext): Generator<Task, unknown, unknown> {
    const outcome = (yield context.df.waitForExternalEvent('end')) as string;
    if (outcome === 'crash') throw new Error('step orchestration crashed');
    return { id: context.df.getInput<string>(), status: 'succeeded', attempts: [] };
  } as OrchestrationHandler,
};

void describe('reconcileRun', () => {
  void test('returns finished steps` results and crashes, leaves running ones, and reads the cancel request', async () => {
    const host = await DevHost.start({ clock: 'virtual', startTime: T0, httpPort: false, hostJson: {}, registrations: [step] });
    try {
      for (const id of ['a', 'b', 'c']) await host.client.startNew('step', { instanceId: `run-1:${id}:from1`, input: id });
      await host.client.raiseEvent('run-1:a:from1', 'end', 'ok');
      await host.client.raiseEvent('run-1:c:from1', 'end', 'crash');
      await host.runUntilIdle();
      const cancels = { findCancel: (runId: string) => Promise.resolve(runId === 'run-1' ? '2026-03-02T10:08:00.000Z' : undefined) };
      const answer = await reconcileRun({ runId: 'run-1', instanceIds: ['run-1:a:from1', 'run-1:b:from1', 'run-1:c:from1'] }, host.client, cancels);
      assert.deepEqual(answer.results, [{ instanceId: 'run-1:a:from1', state: { id: 'a', status: 'succeeded', attempts: [] } }]);
      assert.deepEqual(answer.failed.map((f) => f.instanceId), ['run-1:c:from1']);
      assert.match(answer.failed[0]?.message ?? '', /crashed/);
      assert.equal(answer.cancelRequestedAt, '2026-03-02T10:08:00.000Z');
      assert.equal((await reconcileRun({ runId: 'run-1', instanceIds: [] }, host.client)).cancelRequestedAt, null, 'no store, no cancel request');
    } finally {
      await host.stop();
    }
  });

  void test('refuses, permanently, an instance that is not a step of the run', async () => {
    const host = await DevHost.start({ clock: 'virtual', startTime: T0, httpPort: false, hostJson: {}, registrations: [step] });
    try {
      const error = await reconcileRun({ runId: 'run-1', instanceIds: ['run-2:a:from1'] }, host.client).then(
        () => assert.fail('accepted another run`s instance'),
        (e: unknown) => e,
      );
      assert.equal(readFailure(error instanceof Error ? error.message : String(error))?.class, 'permanent');
      assert.match(String(error), /not a step of run "run-1"/);
    } finally {
      await host.stop();
    }
  });
});
