/**
 * The development host delivers external events around a continue-as-new as DurableTask.AzureStorage
 * does without Azure/durabletask#1399 (src/devhost/continue-window.ts): an event
 * raised after an instance continued as new, batched with the first answer to its new execution,
 * is deleted; with `delivered` it arrives.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { InvocationContext } from '@azure/functions';
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import type { Registration } from '../../src/app/registry';
import { DevHost } from '../../src/devhost';

const T0 = new Date('2026-03-02T10:07:00Z');

/**
 * Input 0 continues as new with 1, input 10 with 2. With 1 the new execution calls `slow`, then
 * waits an hour for `ping`; with 2 it only waits.
 */
const counter: Registration = {
  kind: 'orchestration',
  name: 'counter',
  handler: function* (context: OrchestrationContext): Generator<Task, unknown, unknown> {
    const df = context.df;
    const input = df.getInput<number>();
    if (input === 0 || input === 10) {
      df.continueAsNew(input === 0 ? 1 : 2);
      return undefined;
    }
    if (input === 1) yield df.callActivity('slow', null);
    const ping = df.waitForExternalEvent('ping');
    const timer = df.createTimer(new Date(df.currentUtcDateTime.getTime() + 3600_000));
    const winner = yield df.Task.any([ping, timer]);
    return winner === ping ? 'ping arrived' : 'ping lost';
  } as OrchestrationHandler,
};

/** An activity the test lets answer when it chooses. */
function gatedActivity(): { registration: Registration; started: Promise<void>; answer: () => void } {
  let answer = (): void => undefined;
  let started = (): void => undefined;
  const startedPromise = new Promise<void>((resolve) => (started = resolve));
  const gate = new Promise<void>((resolve) => (answer = resolve));
  const registration: Registration = {
    kind: 'activity',
    name: 'slow',
    handler: async (_input: unknown, _context: InvocationContext) => {
      started();
      await gate;
      return 'done';
    },
  };
  return { registration, started: startedPromise, answer };
}

async function raisedWhileTheFirstAnswerIsPending(mode: 'azureStoragePre1399' | 'delivered' | undefined): Promise<{ output: unknown; log: string[] }> {
  const slow = gatedActivity();
  const log: string[] = [];
  const host = await DevHost.start({
    clock: 'virtual',
    startTime: T0,
    httpPort: false,
    hostJson: {},
    registrations: [counter, slow.registration],
    log: (line) => log.push(line),
    ...(mode === undefined ? {} : { continueAsNewEvents: mode }),
  });
  try {
    await host.client.startNew('counter', { instanceId: 'c1', input: 0 });
    await slow.started;
    // The new execution has asked for `slow`; its answer is not there yet. An event arrives now.
    await host.client.raiseEvent('c1', 'ping', 'hello');
    slow.answer();
    const status = await host.waitFor('c1');
    return { output: status.output, log };
  } finally {
    await host.stop();
  }
}

void describe('external events around a continue-as-new', () => {
  void test('by default, as before Azure/durabletask#1399: an event batched with the new execution`s first answer is deleted, and the host says why', async () => {
    const { output, log } = await raisedWhileTheFirstAnswerIsPending(undefined);
    assert.equal(output, 'ping lost');
    assert.ok(
      log.some((line) => /external event "ping" deleted .*AzureStorageOrchestrationService\.LockNextTaskOrchestrationWorkItemAsync, before Azure\/durabletask#1399/.test(line)),
      log.join('\n'),
    );
  });

  void test('with `delivered` (#1399`s behaviour) the event reaches the new execution', async () => {
    const { output } = await raisedWhileTheFirstAnswerIsPending('delivered');
    assert.equal(output, 'ping arrived');
  });

  void test('a new execution whose first answer comes later (a timer) gets the events raised meanwhile: its history was committed first', async () => {
    const host = await DevHost.start({ clock: 'virtual', startTime: T0, httpPort: false, hostJson: {}, registrations: [counter] });
    try {
      // The new execution only waits for `ping` (its timer is an answer too, but an hour away).
      await host.client.startNew('counter', { instanceId: 'c2', input: 10 });
      await host.runUntilIdle({ maxVirtualMs: 0 });
      assert.equal(host.executions('c2').length, 2, 'it continued as new');
      await host.client.raiseEvent('c2', 'ping', 'hello');
      const status = await host.waitFor('c2');
      assert.equal(status.output, 'ping arrived');
    } finally {
      await host.stop();
    }
  });
});
