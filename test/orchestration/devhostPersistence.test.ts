/**
 * The dev host's Durable state on disk (stateDirectory): a host started on the folder a previous
 * one left resumes its unfinished instances — activities that never answered run again, buffered
 * external events are kept, sub-orchestrations carry on, pending durable timers fire (at once when
 * past due). The first host is abandoned with an activity still hanging, as a killed process leaves
 * it; test/integration/devhostRestart.test.ts kills a real process.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import type { Registration } from '../../src/app/registry';
import { DevHost, EventType } from '../../src/devhost';

const T0 = new Date('2026-03-02T10:07:00Z');
const folders: string[] = [];

after(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

function stateFolder(): string {
  const folder = mkdtempSync(join(tmpdir(), 'devhost-state-'));
  folders.push(folder);
  return folder;
}

function orchestration(name: string, body: (context: OrchestrationContext) => Generator<Task, unknown, unknown>): Registration {
  return { kind: 'orchestration', name, handler: body as OrchestrationHandler };
}

function activity(name: string, handler: (input: unknown) => unknown): Registration {
  return { kind: 'activity', name, handler: async (input: unknown) => await handler(input) };
}

function start(stateDirectory: string, registrations: Registration[], options: Partial<Parameters<typeof DevHost.start>[0]> = {}): Promise<DevHost> {
  return DevHost.start({ clock: 'virtual', startTime: T0, httpPort: false, hostJson: {}, stateDirectory, registrations, ...options });
}

/** Lets the host's pending callbacks run until `done` holds (the first host cannot settle: an activity hangs). */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 10_000 && !done(); i++) await new Promise<void>((resolve) => setImmediate(resolve));
  assert.ok(done(), 'the host never reached the expected state');
}

void describe('dev host state on disk', () => {
  void test('a host on the same folder finishes the run: the unanswered activity runs again, the buffered event and the sub-orchestration carry on', async () => {
    const folder = stateFolder();
    const calls: string[] = [];
    const registrations = [
      activity('load', (input) => {
        calls.push(String(input));
        return `loaded ${String(input)}`;
      }),
      orchestration('child', function* (context) {
        return yield context.df.callActivity('load', context.df.getInput<string>());
      }),
      orchestration('parent', function* (context) {
        const loaded = yield context.df.callSubOrchestrator('child', 'orders');
        const approval = yield context.df.waitForExternalEvent('approve');
        return { loaded, approval };
      }),
    ];
    // The first host's `load` never answers: the process "dies" while it runs.
    let hanging = 0;
    const first = await start(folder, registrations, { replaceHandlers: { load: () => { hanging++; return new Promise<never>(() => undefined); } } });
    const id = await first.client.startNew('parent', { instanceId: 'run-1' });
    await until(() => hanging === 1);
    await first.client.raiseEvent(id, 'approve', { by: 'ana' });
    await until(() => first.history(id).some((e) => e.EventType === EventType.EventRaised) && first.history(id).at(-1)?.EventType === EventType.OrchestratorCompleted);
    await first.stop();

    const second = await start(folder, registrations);
    try {
      const status = await second.waitFor(id);
      assert.equal(status.runtimeStatus, 'Completed');
      assert.deepEqual(status.output, { loaded: 'loaded orders', approval: { by: 'ana' } });
      assert.deepEqual(calls, ['orders'], 'the activity ran once more, in the new host');
      const child = second.instanceIds().find((other) => other !== id);
      assert.ok(child, 'the sub-orchestration is still known');
      assert.equal(second.status(child)?.runtimeStatus, 'Completed');
      const scheduled = second.history(child).filter((e) => e.EventType === EventType.TaskScheduled);
      assert.equal(scheduled.length, 1, 'the re-run answers the task the child scheduled before the restart');
    } finally {
      await second.stop();
    }
  });

  void test('a durable timer that fell due while no host ran fires at once; a finished instance stays finished', async () => {
    const folder = stateFolder();
    let counted = 0;
    const registrations = [
      activity('count', () => ++counted),
      orchestration('wait', function* (context) {
        yield context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + 10 * 60_000));
        return yield context.df.callActivity('count');
      }),
    ];
    const first = await start(folder, registrations);
    const id = await first.client.startNew('wait', { instanceId: 'wait-1' });
    await first.fireTimers();
    assert.equal(first.status(id)?.runtimeStatus, 'Running');
    await first.stop();

    const anHourLater = new Date(T0.getTime() + 3_600_000);
    const second = await start(folder, registrations, { startTime: anHourLater });
    try {
      const status = await second.waitFor(id);
      assert.equal(status.runtimeStatus, 'Completed');
      assert.equal(status.output, 1);
      assert.equal(second.now().toISOString(), anHourLater.toISOString(), 'fired at once, without waiting');
      const fired = second.history(id).find((e) => e.EventType === EventType.TimerFired);
      assert.equal(fired?.['FireAt'], new Date(T0.getTime() + 10 * 60_000).toISOString());
    } finally {
      await second.stop();
    }

    const third = await start(folder, registrations, { startTime: anHourLater });
    try {
      assert.equal(third.status(id)?.runtimeStatus, 'Completed');
      // the extension answers 410 Gone to terminating a finished instance (HttpApiHandler)
      const terminate = await fetch(`${third.rpcBaseUrl}instances/${id}/terminate?reason=late`, { method: 'POST' });
      assert.equal(terminate.status, 410);
      assert.equal(counted, 1);
    } finally {
      await third.stop();
    }
  });

  void test('a file it cannot read is set aside and named in the log, the others load', async () => {
    const folder = stateFolder();
    const registrations = [orchestration('noop', function* () {
      yield* [];
      return 'done';
    })];
    const first = await start(folder, registrations);
    const id = await first.client.startNew('noop', { instanceId: 'ok-1' });
    await first.waitFor(id);
    await first.stop();
    writeFileSync(join(folder, 'broken.json'), '{"version": 1, "instanceId": ');

    const lines: string[] = [];
    const second = await start(folder, registrations, { log: (line) => lines.push(line) });
    try {
      assert.equal(second.status(id)?.runtimeStatus, 'Completed');
      assert.ok(lines.some((line) => line.includes('broken.json') && line.includes('set aside')), lines.join('\n'));
      assert.ok(readdirSync(folder).includes('broken.json.unreadable'));
    } finally {
      await second.stop();
    }
  });
});
