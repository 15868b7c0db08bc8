/**
 * `reconcileRun` through the real DurableClient over the development host's extension endpoints:
 * what a run asks after (src/engine/reconcile.ts), and the check against the run's record.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import { reconcileRun, type ReconcileStore } from '../../src/activities/reconcileRun';
import type { Registration } from '../../src/app/registry';
import { readFailure } from '../../src/core/errors';
import { DevHost } from '../../src/devhost';
import type { RunRecord } from '../../src/runs/recorder';
import { compactInstances } from '../../src/engine/runStep';
import { RUN_REFUSED_CODE } from '../../src/steps/protocol';

const T0 = new Date('2026-03-02T10:07:00Z');

const step: Registration = {
  kind: 'orchestration',
  name: 'step',
  handler: function* (context: OrchestrationContext): Generator<Task, unknown, unknown> {
    const id = context.df.getInput<string>();
    const outcome = (yield context.df.waitForExternalEvent('end')) as string;
    if (outcome === 'crash') throw new Error('step orchestration crashed');
    // Ended; still telling the run (its final state is its custom status until it completes).
    context.df.setCustomStatus({ id, status: outcome === 'partial' ? 'succeeded' : 'succeeded', attempts: [], ...(outcome === 'partial' ? { partial: true } : {}) });
    yield context.df.waitForExternalEvent('told');
    return { id, status: 'succeeded', attempts: [] };
  } as OrchestrationHandler,
};

const record: RunRecord = { runId: 'run-1', pipeline: 'p', status: 'running', trigger: { kind: 'manual', by: 'user:ada' }, parameters: {}, createdAt: T0.toISOString(), definitionVersion: 'sha256:v1' };
const ask = (instanceIds: string[], extra: Record<string, unknown> = {}) => ({
  runId: 'run-1',
  pipeline: 'p',
  definitionVersion: 'sha256:v1',
  trigger: { kind: 'manual', by: 'user:ada' },
  parameters: {},
  steps: compactInstances('run-1', instanceIds),
  ...extra,
});

function storeWith(run: RunRecord | undefined, cancelRequestedAt?: string): ReconcileStore {
  return {
    findRunGate: (runId) => Promise.resolve(runId === run?.runId ? { record: run, ...(cancelRequestedAt ? { cancelRequestedAt } : {}) } : {}),
  };
}

async function refusal(promise: Promise<unknown>): Promise<{ class?: string; code?: string; text: string }> {
  const error = await promise.then(
    () => assert.fail('accepted'),
    (e: unknown) => e,
  );
  const text = error instanceof Error ? error.message : String(error);
  const info = readFailure(text);
  return { ...(info?.class ? { class: info.class } : {}), ...(info?.code ? { code: info.code } : {}), text };
}

void describe('reconcileRun', () => {
  void test('returns finished steps` results (completed, or ended and still telling the run), crashes, missing instances and the cancel request', async () => {
    const host = await DevHost.start({ clock: 'virtual', startTime: T0, httpPort: false, hostJson: {}, registrations: [step] });
    try {
      for (const id of ['a', 'b', 'c', 'd', 'e']) await host.client.startNew('step', { instanceId: `run-1:${id}:from1`, input: id });
      await host.client.raiseEvent('run-1:a:from1', 'end', 'ok');
      await host.client.raiseEvent('run-1:a:from1', 'told', true);
      await host.client.raiseEvent('run-1:c:from1', 'end', 'crash');
      await host.client.raiseEvent('run-1:d:from1', 'end', 'ok');
      await host.client.raiseEvent('run-1:e:from1', 'end', 'partial');
      await host.runUntilIdle();
      const answer = await reconcileRun(
        ask(['run-1:a:from1', 'run-1:b:from1', 'run-1:c:from1', 'run-1:d:from1', 'run-1:e:from1', 'run-1:gone:from1']),
        host.client,
        storeWith(record, '2026-03-02T10:08:00.000Z'),
        'run-1',
      );
      assert.deepEqual(
        [...answer.results].sort((x, y) => x.instanceId.localeCompare(y.instanceId)),
        [
          { instanceId: 'run-1:a:from1', state: { id: 'a', status: 'succeeded', attempts: [] } },
          { instanceId: 'run-1:d:from1', state: { id: 'd', status: 'succeeded', attempts: [] } },
        ],
        'd ended and is still telling the run: its custom status says so; e`s status was cut down to fit and is not taken',
      );
      assert.deepEqual(answer.failed.map((f) => f.instanceId), ['run-1:c:from1']);
      assert.match(answer.failed[0]?.message ?? '', /crashed/);
      assert.deepEqual(answer.missing, ['run-1:gone:from1']);
      assert.equal(answer.cancelRequestedAt, '2026-03-02T10:08:00.000Z');
      assert.equal((await reconcileRun(ask([]), host.client, undefined, 'run-1')).cancelRequestedAt, null, 'no store, no cancel request');
    } finally {
      await host.stop();
    }
  });

  void test('asks only after the run`s own instances; refuses, permanently, a caller that is not the run and a run whose record does not match', async () => {
    const host = await DevHost.start({ clock: 'virtual', startTime: T0, httpPort: false, hostJson: {}, registrations: [step] });
    try {
      // The question names steps, not instances: another run's instance cannot even be named.
      assert.equal(compactInstances('run-1', ['run-2:a:from1', 'run-1:b:from2']), 'b:2');
      const caller = await refusal(reconcileRun(ask([]), host.client, storeWith(record), 'run-2'));
      assert.match(caller.text, /instance "run-2" is not run "run-1"/);
      const noRecord = await refusal(reconcileRun(ask([]), host.client, storeWith(undefined), 'run-1'));
      assert.equal(noRecord.code, RUN_REFUSED_CODE);
      assert.match(noRecord.text, /run "run-1" has no record/);
      const forged = await refusal(reconcileRun(ask([], { trigger: { kind: 'manual', by: 'user:mallory' } }), host.client, storeWith(record), 'run-1'));
      assert.equal(forged.code, RUN_REFUSED_CODE);
      assert.match(forged.text, /started manual by "user:ada", not manual by "user:mallory"/);
      const ended = await refusal(reconcileRun(ask([]), host.client, storeWith({ ...record, status: 'succeeded' }), 'run-1'));
      assert.match(ended.text, /has already ended \(succeeded\)/);
    } finally {
      await host.stop();
    }
  });
});
