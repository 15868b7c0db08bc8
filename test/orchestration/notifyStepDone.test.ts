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
import { callerOf } from '../../src/functions/activities';
import { ACTIVITY_NAMES } from '../../src/steps/protocol';

const T0 = new Date('2026-03-02T10:07:00Z');

function orchestration(name: string, body: (context: OrchestrationContext) => Generator<Task, unknown, unknown>): Registration {
  return { kind: 'orchestration', name, handler: body as OrchestrationHandler };
}

registerClientActivity(ACTIVITY_NAMES.notifyStepDone, (input, client, context) => notifyStepDone(input, client, callerOf(context)));
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
      const gone = 'nobody-yet:s:from1';
      const done = await host.client.startNew('child', { instanceId: gone, input: { parentInstanceId: 'nobody-yet', results: [{ instanceId: gone, state: { id: 's', status: 'failed' } }] } });
      // First a parent that never existed: the activity fails permanently, retrying cannot help.
      const failed = await host.waitFor(done);
      assert.equal(failed.runtimeStatus, 'Failed');
      assert.equal(readFailure(String(failed.output))?.class, 'permanent');
      assert.match(String(failed.output), /No instance with ID 'nobody-yet'/);

      const finished = await host.client.startNew('child', { instanceId: `${gone}:t:from1`, input: { parentInstanceId: gone, results: [{ instanceId: `${gone}:t:from1`, state: { id: 't', status: 'failed' } }] } });
      assert.equal((await host.waitFor(finished)).runtimeStatus, 'Completed');
    });
  });

  void test('only a step instance of a run may tell it, and only about its own steps', async () => {
    const parent = orchestration('waiting', function* (context) {
      return yield context.df.waitForExternalEvent(STEP_DONE_EVENT);
    });
    await withHost([parent], async (host) => {
      await host.client.startNew('waiting', { instanceId: 'victim' });
      const state = { id: 'load', status: 'succeeded', attempts: [] };
      // An instance of another run, naming the victim as its parent.
      const intruder = await host.client.startNew('child', { instanceId: 'other:load:from1', input: { parentInstanceId: 'victim', results: [{ instanceId: 'victim:load:from1', state }] } });
      const refused = await host.waitFor(intruder);
      assert.equal(refused.runtimeStatus, 'Failed');
      assert.match(String(refused.output), /instance "other:load:from1" is not a step of run "victim"/);
      // A step of the victim reporting another run's instance.
      const foreign = await host.client.startNew('child', { instanceId: 'victim:load:from1', input: { parentInstanceId: 'victim', results: [{ instanceId: 'other:load:from1', state }] } });
      assert.match(String((await host.waitFor(foreign)).output), /instance "other:load:from1" is not a step of run "victim"/);
      assert.equal(host.status('victim')?.runtimeStatus, 'Running', 'the victim heard nothing');
    });
  });

  void test('an input that does not fit fails permanently and names the field', async () => {
    await withHost([], async (host) => {
      const id = await host.client.startNew('child', { instanceId: 'x:bad:from1', input: { parentInstanceId: 'x', results: [{ instanceId: 'x:bad:from1', state: { status: 'failed' } }] } });
      const status = await host.waitFor(id);
      assert.equal(status.runtimeStatus, 'Failed');
      assert.equal(readFailure(String(status.output))?.class, 'permanent');
      assert.match(String(status.output), /results\[0\]\.state\.id|state\.id/);
    });
  });
});
