/**
 * The development host is as strict as the Durable extension where a user would notice: custom
 * status size, activity failure text, the replay schema it announces, HTTP answers of the status
 * and start endpoints, and calls to functions nobody registered. Each rule cites its source in
 * src/devhost/extension-rules.ts and docs/devhost.md.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { InvocationContext } from '@azure/functions';
import { EntityId, type OrchestrationContext, type OrchestrationHandler, type Task } from 'durable-functions';
import type { Registration } from '../../src/app/registry';
import { DevHost, EventType } from '../../src/devhost';

const T0 = new Date('2026-03-02T10:07:00Z');

function orchestration(name: string, body: (context: OrchestrationContext) => Generator<Task, unknown, unknown>): Registration {
  return { kind: 'orchestration', name, handler: body as OrchestrationHandler };
}

function activity(name: string, handler: (input: unknown, context: InvocationContext) => unknown): Registration {
  return { kind: 'activity', name, handler: async (input: unknown, context: InvocationContext) => await handler(input, context) };
}

async function withHost(registrations: Registration[], run: (host: DevHost) => Promise<void>): Promise<void> {
  const host = await DevHost.start({ clock: 'virtual', startTime: T0, httpPort: false, hostJson: {}, registrations });
  try {
    await run(host);
  } finally {
    await host.stop();
  }
}

/** A string whose JSON (quotes included) is `units` UTF-16 units long. */
function jsonOfUnits(units: number): string {
  return 'x'.repeat(units - 2);
}

async function rawStatus(host: DevHost, id: string, query = ''): Promise<{ code: number; body: Record<string, unknown> }> {
  const response = await fetch(`${host.rpcBaseUrl}instances/${encodeURIComponent(id)}${query}`);
  return { code: response.status, body: (await response.json()) as Record<string, unknown> };
}

void describe('development host held to the Durable extension', () => {
  void test('a custom status over 16 KB of UTF-16 fails the orchestration with the extension’s message; the last accepted status stays', async () => {
    const ran: string[] = [];
    const registrations = [
      activity('step', (input) => {
        ran.push(String(input));
        return null;
      }),
      orchestration('publisher', function* (context) {
        const units = context.df.getInput<number>();
        context.df.setCustomStatus({ phase: 'small' });
        yield context.df.callActivity('step', 'first');
        context.df.setCustomStatus(jsonOfUnits(units));
        yield context.df.callActivity('step', 'second');
        return 'done';
      }),
    ];
    await withHost(registrations, async (host) => {
      // (int)(bytes / 1024.0) > 16 fails: 17,406 bytes (16 KB after truncation) pass, 17,408 do not
      const fits = await host.client.startNew('publisher', { instanceId: 'fits', input: 8703 });
      assert.equal((await host.waitFor(fits)).runtimeStatus, 'Completed');
      assert.deepEqual(ran, ['first', 'second']);

      ran.length = 0;
      const over = await host.client.startNew('publisher', { instanceId: 'over', input: 8704 });
      const status = await host.waitFor(over);
      assert.equal(status.runtimeStatus, 'Failed');
      assert.equal(
        status.output,
        "Orchestrator function 'publisher' failed: The UTF-16 size of the JSON-serialized payload must not exceed 16 KB. The current payload size is 17 KB.",
      );
      assert.deepEqual(status.customStatus, { phase: 'small' }, 'the refused status is not shown');
      assert.deepEqual(ran, ['first'], 'nothing the refused wake-up asked for is scheduled');
    });
  });

  void test('non-ASCII custom status text counts two bytes per UTF-16 unit (8,000 “é” = 16,004 bytes pass; 9,000 do not)', async () => {
    const registrations = [
      orchestration('accented', function* (context) {
        yield* [];
        context.df.setCustomStatus('é'.repeat(context.df.getInput<number>()));
        return 'done';
      }),
    ];
    await withHost(registrations, async (host) => {
      assert.equal((await host.waitFor(await host.client.startNew('accented', { input: 8000 }))).runtimeStatus, 'Completed');
      const failed = await host.waitFor(await host.client.startNew('accented', { input: 9000 }));
      assert.equal(failed.runtimeStatus, 'Failed');
      assert.match(String(failed.output), /The current payload size is 17 KB\.$/);
    });
  });

  void test('an orchestrator that throws with an oversized status fails with the bare size message (DTFx FailOrchestration)', async () => {
    const registrations = [
      orchestration('throwing', function* (context) {
        yield* [];
        context.df.setCustomStatus(jsonOfUnits(40_000));
        throw new Error('boom');
      }),
    ];
    await withHost(registrations, async (host) => {
      const status = await host.waitFor(await host.client.startNew('throwing'));
      assert.equal(status.runtimeStatus, 'Failed');
      assert.equal(status.output, 'The UTF-16 size of the JSON-serialized payload must not exceed 16 KB. The current payload size is 78 KB.');
    });
  });

  void test('an activity failure’s Reason is the worker’s message as TaskActivityShim extracts it', async () => {
    const registrations = [
      activity('throwsError', () => {
        throw new Error('HTTP 503 from the export function');
      }),
      activity('throwsString', () => {
        throw 'plain text';
      }),
      activity('throwsObject', () => {
        throw { code: 42 };
      }),
      orchestration('catcher', function* (context) {
        const seen: string[] = [];
        for (const name of ['throwsError', 'throwsString', 'throwsObject']) {
          try {
            yield context.df.callActivity(name);
          } catch (error) {
            seen.push((error as Error).message.split(' \n ')[0] ?? '');
          }
        }
        return seen;
      }),
    ];
    await withHost(registrations, async (host) => {
      const id = await host.client.startNew('catcher');
      const status = await host.waitFor(id);
      const reasons = [
        "Activity function 'throwsError' failed:  HTTP 503 from the export function",
        "Activity function 'throwsString' failed:  plain text",
        'Activity function \'throwsObject\' failed:  {"code":42}',
      ];
      assert.deepEqual(status.output, reasons, 'the orchestrator sees Reason, then " \\n ", then Details');
      const failed = host.history(id).filter((e) => e.EventType === EventType.TaskFailed);
      assert.deepEqual(failed.map((e) => e['Reason']), reasons);
      const details = JSON.parse(String(failed[0]?.['Details'])) as { Message: string; InnerException: { RemoteMessage: string } };
      assert.equal(details.Message, ' HTTP 503 from the export function');
      assert.equal(details.InnerException.RemoteMessage, 'HTTP 503 from the export function');
    });
  });

  void test('the SDK runs at the replay schema the extension announces (V3): entity locks are refused as in Azure', async () => {
    const registrations = [
      orchestration('locker', function* (context) {
        yield* [];
        try {
          context.df.lock(new EntityId('counter', 'one'));
          return 'locked';
        } catch (error) {
          return (error as Error).message;
        }
      }),
    ];
    await withHost(registrations, async (host) => {
      const status = await host.waitFor(await host.client.startNew('locker'));
      assert.match(String(status.output), /requires a Durable Functions extension that supports OOProc schema V4 or higher \(this extension supports up to V3\)/);
    });
  });

  void test('status answers 200 for Completed, Failed and Terminated, 202 while running, 500 for Failed only when asked', async () => {
    const registrations = [
      orchestration('ok', function* () {
        yield* [];
        return 'fine';
      }),
      orchestration('bad', function* () {
        yield* [];
        throw new Error('definition has a cycle');
      }),
      orchestration('waits', function* (context) {
        return (yield context.df.waitForExternalEvent('go'));
      }),
    ];
    await withHost(registrations, async (host) => {
      await host.waitFor(await host.client.startNew('ok', { instanceId: 'ok-1' }));
      await host.waitFor(await host.client.startNew('bad', { instanceId: 'bad-1' }));
      await host.client.startNew('waits', { instanceId: 'waits-1' });
      await host.client.startNew('waits', { instanceId: 'waits-2' });
      await host.runUntilIdle();
      assert.equal((await rawStatus(host, 'waits-1')).code, 202);
      await host.client.terminate('waits-2', 'operator stop');
      assert.equal((await rawStatus(host, 'ok-1')).code, 200);
      const failed = await rawStatus(host, 'bad-1');
      assert.equal(failed.code, 200);
      assert.equal(failed.body['runtimeStatus'], 'Failed');
      assert.equal((await rawStatus(host, 'bad-1', '?returnInternalServerErrorOnFailure=true')).code, 500);
      const terminated = await rawStatus(host, 'waits-2');
      assert.equal(terminated.code, 200);
      assert.equal(terminated.body['runtimeStatus'], 'Terminated');
      // durable-functions' client reads both as statuses, as it does against Azure
      assert.equal((await host.client.getStatus('bad-1')).runtimeStatus, 'Failed');
    });
  });

  void test('a start over a running instance answers 500 with the extension’s error body', async () => {
    const registrations = [
      orchestration('waits', function* (context) {
        return (yield context.df.waitForExternalEvent('go'));
      }),
    ];
    await withHost(registrations, async (host) => {
      await host.client.startNew('waits', { instanceId: 'dup' });
      await host.runUntilIdle();
      const response = await fetch(`${host.rpcBaseUrl}orchestrators/waits/dup`, { method: 'POST', body: '"again"', headers: { 'content-type': 'application/json' } });
      assert.equal(response.status, 500);
      const body = (await response.json()) as Record<string, unknown>;
      assert.equal(body['Message'], 'Something went wrong while processing your request');
      assert.equal(body['ExceptionMessage'], 'An Orchestration instance with the status Running already exists.');
      assert.equal(body['ExceptionType'], 'DurableTask.Core.Exceptions.OrchestrationAlreadyExistsException');
    });
  });

  void test('a call to an activity or sub-orchestrator nobody registered is never answered, as in Azure', async () => {
    const ran: string[] = [];
    const registrations = [
      activity('known', () => {
        ran.push('known');
        return 1;
      }),
      orchestration('callsGhost', function* (context) {
        yield context.df.callActivity(context.df.getInput<string>());
        return 'unreachable';
      }),
      orchestration('callsGhostChild', function* (context) {
        yield context.df.callSubOrchestrator('ghostOrchestrator');
        return 'unreachable';
      }),
    ];
    await withHost(registrations, async (host) => {
      const id = await host.client.startNew('callsGhost', { instanceId: 'ghost-1', input: 'ghostActivity' });
      const child = await host.client.startNew('callsGhostChild', { instanceId: 'ghost-2' });
      await host.runUntilIdle();
      for (const instance of [id, child]) {
        assert.equal(host.status(instance)?.runtimeStatus, 'Running');
        const kinds = host.history(instance).map((e) => e.EventType);
        assert.ok(!kinds.includes(EventType.TaskScheduled) && !kinds.includes(EventType.SubOrchestrationInstanceCreated), 'nothing was scheduled');
      }
      await assert.rejects(host.waitFor(id, { timeoutMs: 200 }), /did not finish in time \(status Running/);
      assert.deepEqual(ran, []);
    });
  });
});
