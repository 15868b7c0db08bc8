/**
 * `waitFor` an HTTP condition against a local server: "not yet" while the status or the JSON value
 * differs, met when both hold; header values resolved from secrets inside the activity; the
 * intervals grow by `checkEvery`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { logger } from '../../src/logging/logger';
import { waitForStepSchema } from '../../src/steps/waitFor/schema';
import { createWaitForAdapter } from '../../src/steps/waitFor/adapter';
import type { StepContext } from '../../src/steps/adapter';

void describe('waitFor an HTTP condition', () => {
  let server: Server;
  let answer = { status: 404, body: '{}' };
  const seen: (string | undefined)[] = [];
  before(async () => {
    server = createServer((req, res) => {
      seen.push(req.headers['x-api-key'] as string | undefined);
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  after(() => new Promise((resolve) => server.close(resolve)));

  void test('not yet until the status and the JSON value hold; then the step succeeds', async () => {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/status`;
    const step = waitForStepSchema.parse({
      id: 'ready', kind: 'waitFor',
      http: { url, headers: { 'x-api-key': { secret: 'status-api-key' } }, until: { status: [200], json: { path: '$.export.state', equals: 'done' } } },
      checkEvery: { initial: 30, factor: 3, max: 300 },
    });
    const ctx: StepContext = {
      runId: 'r1', pipeline: 'p', stepId: 'ready', attempt: 1, parameters: {}, trigger: { kind: 'manual' },
      secrets: { get: (name) => Promise.resolve(name === 'status-api-key' ? 's3cret' : ''), invalidate: () => undefined },
      settings: () => undefined,
      log: logger(),
    };
    const adapter = createWaitForAdapter();
    const first = await adapter.start(step, ctx);
    assert.equal(first.status, 'running');
    assert.equal(first.status === 'running' ? first.pollAfterSeconds : 0, 30);
    answer = { status: 200, body: JSON.stringify({ export: { state: 'running' } }) };
    const second = await adapter.poll!(step, first.status === 'running' ? first.handle : {}, ctx);
    assert.equal(second.status, 'running');
    assert.equal(second.status === 'running' ? second.pollAfterSeconds : 0, 90);
    answer = { status: 200, body: JSON.stringify({ export: { state: 'done' } }) };
    const third = await adapter.poll!(step, second.status === 'running' ? second.handle : {}, ctx);
    assert.equal(third.status, 'succeeded');
    assert.deepEqual(third.status === 'succeeded' ? { status: (third.output as { status: number }).status, checks: (third.output as { checks: number }).checks } : {}, { status: 200, checks: 3 });
    assert.deepEqual(seen, ['s3cret', 's3cret', 's3cret']);
  });
});
