/**
 * Red-team pass 2, F3: what a service answers is streamed and dropped past a bound, never read whole
 * into memory. The export function (azureFunction adapter, 1 MiB) fails permanently with a clear
 * message; the dbt Cloud / ARM / Blob client (src/azure/http.ts) likewise past its bound. Local HTTP
 * servers that stream far more than the bound; they count what they could write before the client
 * hung up.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { send } from '../../src/azure/http';
import { PermanentError } from '../../src/core/errors';
import { exportStep } from '../support/exportStep';

const TOTAL_MIB = 64;
let server: http.Server;
let url = '';
const written: number[] = [];

before(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    const chunk = Buffer.alloc(64 * 1024, 'x');
    let sent = 0;
    const index = written.push(0) - 1;
    res.on('error', () => undefined);
    res.write('{"status":"ok","blob":"');
    const pump = (): void => {
      while (sent < TOTAL_MIB * 16) {
        if (res.destroyed) return;
        sent++;
        written[index] = sent * chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end('"}');
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => {
  server.closeAllConnections();
  server.close(() => resolve());
}));

describe('answers are read up to a bound', () => {
  test('an export that answers 64 MiB fails permanently, unread, and says why', async () => {
    const { start, lines } = exportStep(`${url}/export`);
    await assert.rejects(
      start('big-answer-1'),
      /answered HTTP 200 with more than 1 MiB; the answer was not read/,
    );
    assert.match(lines.at(-1)?.msg ?? '', /failed \(permanent\): .*more than 1 MiB; the answer was not read/);
    assert.ok((written.at(-1) ?? 0) < TOTAL_MIB * 1024 * 1024, `the server wrote the whole answer (${written.at(-1) ?? 0} bytes): it was read whole`);
  });

  test('the dbt Cloud / ARM / Blob client refuses an answer past its bound as a permanent failure', async () => {
    await assert.rejects(send(fetch, { method: 'GET', url: `${url}/run_results.json`, maxBytes: 1024 * 1024 }, 'dbt Cloud run_results.json'), (error: Error) => {
      assert.ok(error instanceof PermanentError, String(error));
      assert.match(error.message, /dbt Cloud run_results\.json: the answer is larger than 1 MiB; it was not read/);
      return true;
    });
    assert.ok((written.at(-1) ?? 0) < TOTAL_MIB * 1024 * 1024);
  });
});
