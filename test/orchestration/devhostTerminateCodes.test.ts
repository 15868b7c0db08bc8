/**
 * The development host's HTTP answers for terminate and status, as the Durable extension gives
 * them (azure-functions-durable-extension, src/WebJobs.Extensions.DurableTask/HttpApiHandler.cs):
 * HandleTerminateInstanceRequestAsync answers 404 for an instance it does not know, 410 Gone for
 * one that ended (IsCompletedStatus: Completed, Terminated, Canceled, Failed) and 202 otherwise;
 * HandleGetStatusRequestAsync answers a Failed instance 200 unless
 * `returnInternalServerErrorOnFailure=true`.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import type { Registration } from '../../src/app/registry';
import { DevHost } from '../../src/devhost';

const T0 = new Date('2026-11-26T01:00:00Z');

function orchestration(name: string, body: (context: OrchestrationContext) => Generator<Task, unknown, unknown>): Registration {
  return { kind: 'orchestration', name, handler: body as OrchestrationHandler };
}

void describe('development host: terminate and status codes', () => {
  void test('terminate: 202 while running, 410 once ended (also Failed), 404 for an unknown instance; a Failed status answers 200', async () => {
    const host = await DevHost.start({
      clock: 'virtual',
      startTime: T0,
      httpPort: false,
      hostJson: {},
      registrations: [
        orchestration('waits', function* (context) {
          return yield context.df.waitForExternalEvent('go');
        }),
        orchestration('breaks', function* () {
          yield* [];
          throw new Error('broken on purpose');
        }),
      ],
    });
    try {
      await host.client.startNew('waits', { instanceId: 'waits-1' });
      await host.waitFor(await host.client.startNew('breaks', { instanceId: 'breaks-1' }));
      await host.runUntilIdle();
      const terminate = (id: string) => fetch(`${host.rpcBaseUrl}instances/${id}/terminate?reason=stop`, { method: 'POST' }).then((r) => r.status);
      assert.equal(await terminate('waits-1'), 202);
      assert.equal(await terminate('waits-1'), 410);
      assert.equal(await terminate('breaks-1'), 410);
      assert.equal(await terminate('nobody-1'), 404);
      assert.equal((await fetch(`${host.rpcBaseUrl}instances/breaks-1`)).status, 200);
      assert.equal((await fetch(`${host.rpcBaseUrl}instances/breaks-1?returnInternalServerErrorOnFailure=true`)).status, 500);
    } finally {
      await host.stop();
    }
  });
});
