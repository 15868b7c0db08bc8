/**
 * No function key, `?code=` or URL credential in any log line, error or CLI message (issue 20,
 * findings 5): the API's 500 path as it logs in Azure (the app's logger, through the invocation's
 * context), and the CLI's "cannot reach" error for a `--url` that carries credentials. The dev
 * host's own request log is covered in devHostTrust.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DurableControl } from '../../src/api/ports';
import { KEY_CALLER } from '../../src/auth/roles';
import { closedPort } from '../support/demoProcess';

const KEY = 'Zm9vYmFyLWZ1bmN0aW9uLWtleS0wMTIzNDU2Nzg5';

describe('the API logs no key', () => {
  test('a request that fails with 500 is logged with its ?code= masked, and answers without it', async () => {
    process.env['LOG_LEVEL'] = 'info';
    process.env['SCHEDULER_ENABLED'] = 'false';
    const { createServices } = await import('../../src/app/services');
    const { createLogger } = await import('../../src/logging/logger');
    const { apiDeps } = await import('../../src/api/fromServices');
    const { createRoutes } = await import('../../src/api/routes');
    const { withInvocation } = await import('../../src/logging/invocation');
    // No run store: pausing a schedule fails inside the handler — an unexpected error, a 500.
    const services = await createServices({ log: createLogger({ level: 'silent' }) });
    const pause = createRoutes(apiDeps(services, {} as DurableControl)).find((r) => r.name === 'pauseSchedule');
    assert.ok(pause);
    const lines: string[] = [];
    const capture = { log: (line: unknown) => lines.push(String(line)), warn: (line: unknown) => lines.push(String(line)), error: (line: unknown) => lines.push(String(line)) };
    const url = `https://pipelines.example.net/api/pipelines/data-pipeline/schedules/production-daily/pause?code=${encodeURIComponent(KEY)}&from=cli`;
    const answer = await withInvocation(capture, () =>
      pause.handle({ method: 'POST', url, headers: new Headers(), query: new URL(url).searchParams, params: { name: 'data-pipeline', schedule: 'production-daily' }, text: () => Promise.resolve('') }, KEY_CALLER),
    );
    assert.equal(answer.status, 500);
    assert.equal(typeof answer.body, 'string');
    assert.ok(!(answer.body as string).includes(KEY), 'the answer carries the key');
    const failure = lines.filter((l) => l.includes('API request failed'));
    assert.equal(failure.length, 1, `the failure is logged once: ${lines.join('\n')}`);
    for (const line of lines) assert.ok(!line.includes(KEY) && !line.includes(encodeURIComponent(KEY)), `a log line carries the key: ${line}`);
    assert.match(failure[0] ?? '', /pause\?code=\*\*\*&from=cli/, 'the URL is logged, its key masked');
  });
});

describe('the CLI prints no credential of its --url', () => {
  test('a --url carrying credentials is refused before anything is sent, its credentials not printed', async () => {
    const { main } = await import('../../src/cli/main');
    const port = await closedPort();
    for (const url of [`http://admin:hunter2-${KEY}@127.0.0.1:${port}`, `http://127.0.0.1:${port}/?code=${KEY}`, `http://${KEY}@127.0.0.1:${port}`]) {
      const errors: string[] = [];
      const code = await main(['node', 'durable-pipelines', '--url', url, 'pipelines', 'ls'], (line) => errors.push(line));
      assert.equal(code, 3, errors.join('\n'));
      const text = errors.join('\n');
      assert.match(text, /--url: http:\/\/.* carries credentials or a query; a URL cannot carry credentials/);
      assert.ok(!text.includes(KEY), `the CLI printed a credential: ${text}`);
      const json: string[] = [];
      await main(['node', 'durable-pipelines', '--json', '--url', url, 'pipelines', 'ls'], (line) => json.push(line));
      assert.ok(!json.join('\n').includes(KEY), `--json printed a credential: ${json.join('\n')}`);
    }
  });
});
