/**
 * `notifyStepDone`: an activity registered with a Durable client input raises `stepDone` to the
 * parent run, through the development host's client binding (the real DurableClient over the
 * host's extension endpoints). The signal a parent can wait for afresh at every wait.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import { findRegistration, registerClientActivity, type Registration } from '../../src/app/registry';
import { notifyStepDone, STEP_DONE_EVENT } from '../../src/activities/notifyStepDone';
import { readFailure } from '../../src/core/errors';
import { DevHost, EventType } from '../../src/devhost';
import { ACTIVITY_NAMES } from '../../src/steps/protocol';

const T0 = new Date('2026-03-02T10:07:00Z');

function orchestration(name: string, body: (context: OrchestrationContext) => Generator<Task, unknown, unknown>): Registration {
  return { kind: 'orchestration', name, handler: body as OrchestrationHandler };
}

registerClientActivity(ACTIVITY_NAMES.notifyStepDone, (input, client) => notifyStepDone(input, client));
const notifyRegistration = findRegistration(ACTIVITY_NAMES.notifyStepDone);

/** A step sub-orchestration whose last action is the signal to its parent. */
const child = orchestration('child', function* (context) {
  const input = context.df.getInput<{ parentInstanceId: string; results: unknown }>();
  yield context.df.callActivity(ACTIVITY_NAMES.notifyStepDone, input);
  return 'child done';
});

async function withHost(extra: readonly Registration[], run: (host: DevHost) => Promise<void>): Promise<void> {
  assert.ok(notifyRegistration, 'notifyStepDone is registered');
  const host = await DevHost.start({ clock: 'virtual', startTime: T0, httpPort: false, hostJson: {}, registrations: [notifyRegistration, child, ...extra] });
  try {
    await run(host);
  } finally {
    await host.stop();
  }
}

void describe('notifyStepDone', () => {
  void test('is registered with a Durable client input', () => {
    assert.equal(notifyRegistration?.kind, 'activity');
    assert.equal(notifyRegistration.kind === 'activity' && notifyRegistration.durableClient, true);
  });

  void test('the parent receives stepDone with the step id and state from the child`s activity', async () => {
    const state = { id: 'load', status: 'succeeded', attempts: [] };
    const parent = orchestration('parent', function* (context) {
      const running = context.df.callSubOrchestrator('child', { parentInstanceId: context.df.instanceId, results: [{ instanceId: 'parent-1:load', state }] }, 'parent-1:load');
      const signal = context.df.waitForExternalEvent(STEP_DONE_EVENT);
      const first = yield context.df.Task.any([running, signal]);
      const event = first === signal ? signal.result : yield signal;
      return event;
    });
    await withHost([parent], async (host) => {
      const id = await host.client.startNew('parent', { instanceId: 'parent-1' });
      const status = await host.waitFor(id);
      assert.equal(status.runtimeStatus, 'Completed');
      assert.deepEqual(status.output, { results: [{ instanceId: 'parent-1:load', state }] });
      const raised = host.history(id).filter((e) => e.EventType === EventType.EventRaised).map((e) => e['Name']);
      assert.deepEqual(raised, [STEP_DONE_EVENT]);
      const childStatus = await host.waitFor('parent-1:load');
      assert.equal(childStatus.runtimeStatus, 'Completed', 'the child finishes after signalling');
    });
  });

  void test('a parent that never existed fails it permanently; one that already finished is no failure', async () => {
    await withHost([], async (host) => {
      const done = await host.client.startNew('child', { instanceId: 'gone', input: { parentInstanceId: 'nobody-yet', results: [{ instanceId: 'c', state: { id: 's', status: 'failed' } }] } });
      // First a parent that never existed: the activity fails permanently, retrying cannot help.
      const failed = await host.waitFor(done);
      assert.equal(failed.runtimeStatus, 'Failed');
      assert.equal(readFailure(String(failed.output))?.class, 'permanent');
      assert.match(String(failed.output), /No instance with ID 'nobody-yet'/);

      const finished = await host.client.startNew('child', { instanceId: 'parent-finished', input: { parentInstanceId: 'gone', results: [{ instanceId: 'c', state: { id: 's', status: 'failed' } }] } });
      assert.equal((await host.waitFor(finished)).runtimeStatus, 'Completed');
    });
  });

  void test('an input that does not fit fails permanently and names the field', async () => {
    await withHost([], async (host) => {
      const id = await host.client.startNew('child', { instanceId: 'bad', input: { parentInstanceId: 'x', results: [{ instanceId: 'c', state: { status: 'failed' } }] } });
      const status = await host.waitFor(id);
      assert.equal(status.runtimeStatus, 'Failed');
      assert.equal(readFailure(String(status.output))?.class, 'permanent');
      assert.match(String(status.output), /results\[0\]\.state\.id|state\.id/);
    });
  });
});
