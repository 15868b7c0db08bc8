/**
 * Hostile input against the served app (the app harness: src/index registrations on the development
 * host, the stand-ins, Azurite), tried as an attacker on loopback would (issue 11). Every case
 * asserts the status, that the answer is application/problem+json, that no secret and no stack
 * trace is in it, and that the server still answers afterwards. Each case's answer is collected and
 * printed at the end (TEST_REPORT=1) for the record.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { loadCatalog } from '../../src/pipelines/catalog';
import dataPipeline from '../../src/pipelines/definitions/data-pipeline';
import { FUNCTION_KEY, startApp, type AppHarness } from '../support/appHarness';
import { runCli } from '../support/demoProcess';

let app: AppHarness;
const answers: { case: string; status: number; title: string }[] = [];

before(async () => {
  app = await startApp();
});
after(async () => {
  if (process.env['TEST_REPORT']) console.log(answers.map((a) => `${a.status}  ${a.title.padEnd(24)} ${a.case}`).join('\n'));
  await app.stop();
});

interface Answer {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
}

/** A raw call to the host: any path, method, headers and body. */
async function raw(method: string, path: string, options: { headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Answer> {
  const response = await fetch(`${app.baseUrl}${path}`, { method, headers: options.headers ?? {}, ...(options.body === undefined ? {} : { body: options.body }) });
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', text: await response.text() };
}

/** The checks every refused hostile request gets; records the answer for the report. */
async function refused(what: string, answer: Answer, status: number): Promise<{ title: string; detail?: string; invalidFields?: { field: string }[] }> {
  assert.equal(answer.status, status, `${what}: ${answer.text}`);
  assert.match(answer.contentType, /^application\/problem\+json/, `${what}: content type ${answer.contentType}`);
  const problem = JSON.parse(answer.text) as { title: string; status: number; detail?: string; invalidFields?: { field: string }[] };
  assert.equal(problem.status, status);
  assert.ok(!answer.text.includes(FUNCTION_KEY), `${what}: the answer carries the function key`);
  assert.doesNotMatch(answer.text, /\n\s+at |\bat .+\.ts:\d+/, `${what}: a stack trace in the answer`);
  answers.push({ case: what, status, title: problem.title });
  await stillServing();
  return problem;
}

async function stillServing(): Promise<void> {
  const health = await app.api('GET', 'pipelines');
  assert.equal(health.status, 200, 'the server stopped answering');
}

async function runToEnd(runId: string): Promise<string> {
  return app.until(`run ${runId} to end`, async () => {
    const run = await app.api<{ status: string }>('GET', `runs/${runId}`);
    return ['succeeded', 'failed', 'cancelled'].includes(run.json.status) ? run.json.status : undefined;
  }, { timeoutMs: 60_000 });
}

const WEBHOOK_START = '/runtime/webhooks/durabletask/orchestrators/runPipeline';

describe('every door checks the key before anything else', () => {
  test('the Durable webhooks refuse a caller without the key (start, status, list, raise, terminate) and start nothing', async () => {
    const before = app.host.instanceIds().length;
    const crafted = JSON.stringify({ pipeline: { name: 'data-pipeline' }, runId: 'crafted', parameters: {} });
    await refused('webhook start without key', await raw('POST', WEBHOOK_START, { headers: { 'content-type': 'application/json' }, body: crafted }), 401);
    await refused('webhook start with a wrong key', await raw('POST', `${WEBHOOK_START}?code=not-the-key`, { headers: { 'content-type': 'application/json' }, body: crafted }), 401);
    await refused('webhook list instances without key', await raw('GET', '/runtime/webhooks/durabletask/instances/'), 401);
    await refused('webhook status without key', await raw('GET', '/runtime/webhooks/durabletask/instances/anything?taskHub=integration&connection=Storage'), 401);
    await refused('webhook raiseEvent without key', await raw('POST', '/runtime/webhooks/durabletask/instances/x/raiseEvent/cancel', { headers: { 'content-type': 'application/json' }, body: '{}' }), 401);
    await refused('webhook terminate without key', await raw('POST', '/runtime/webhooks/durabletask/instances/x/terminate?reason=x'), 401);
    assert.equal(app.host.instanceIds().length, before, 'a keyless call started an instance');
  });

  test('the worker RPC endpoint is not reachable without the host\'s own path secret', async () => {
    const before = app.host.instanceIds().length;
    await refused('RPC start at the bare prefix', await raw('POST', '/durabletask/orchestrators/runPipeline', { headers: { 'content-type': 'application/json' }, body: '{}' }), 401);
    await refused('RPC list with a guessed token', await raw('GET', '/durabletask/guess/instances/'), 401);
    assert.equal(app.host.instanceIds().length, before);
  });

  test('a form-encoded or text/plain POST (a cross-site browser request) never starts anything, key or not', async () => {
    const before = app.host.instanceIds().length;
    const form = 'input=%7B%22runId%22%3A%22x%22%7D';
    await refused('form POST to the webhook without key', await raw('POST', WEBHOOK_START, { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form }), 401);
    await refused('form POST to the webhook with the key', await raw('POST', `${WEBHOOK_START}?code=${FUNCTION_KEY}`, { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form }), 415);
    await refused('empty form POST to the webhook with the key', await raw('POST', `${WEBHOOK_START}?code=${FUNCTION_KEY}`, { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' }), 415);
    await refused('text/plain POST to the webhook with the key', await raw('POST', `${WEBHOOK_START}?code=${FUNCTION_KEY}`, { headers: { 'content-type': 'text/plain' }, body: '{}' }), 415);
    await refused('form POST to start a run with the key', await raw('POST', `/api/pipelines/data-pipeline/runs?code=${FUNCTION_KEY}`, { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'idempotencyKey=x' }), 415);
    await refused('application/xml with a JSON body', await app.api('POST', 'pipelines/data-pipeline/runs', undefined, { rawBody: '{}', headers: { 'content-type': 'application/xml' } }).then(toAnswer), 415);
    assert.equal(app.host.instanceIds().length, before, 'a non-JSON POST started an instance');
  });

  test('the webhooks work with the key, and only then do their status URLs carry it', async () => {
    const listed = await raw('GET', `/runtime/webhooks/durabletask/instances/?code=${FUNCTION_KEY}`);
    assert.equal(listed.status, 200);
    const keyless = await raw('GET', '/runtime/webhooks/durabletask/instances/');
    assert.ok(!keyless.text.includes(FUNCTION_KEY));
  });

  test('API routes: no key, a wrong key → 401; unknown routes and wrong methods → 404 (as the Functions host: the method is a route constraint), all problem+json', async () => {
    await refused('GET /api/runs without key', await app.api('GET', 'runs', undefined, { key: null }).then(toAnswer), 401);
    await refused('GET /api/runs with a wrong key', await app.api('GET', 'runs', undefined, { key: 'wrong' }).then(toAnswer), 401);
    await refused('GET /api/runs with a key one character short', await app.api('GET', 'runs', undefined, { key: FUNCTION_KEY.slice(0, -1) }).then(toAnswer), 401);
    await refused('POST start without key', await app.api('POST', 'pipelines/data-pipeline/runs', {}, { key: null }).then(toAnswer), 401);
    await refused('unknown API route', await app.api('GET', 'nothing-here').then(toAnswer), 404);
    await refused('path outside /api', await raw('GET', '/admin/host/status'), 404);
    await refused('DELETE /api/runs', await app.api('DELETE', 'runs').then(toAnswer), 404);
  });
});

describe('bounded parsing', () => {
  test('malformed percent-encoding: 401 without the key, 400 naming the parameter with it', async () => {
    await refused('/api/runs/%ZZ without key', await raw('GET', '/api/runs/%ZZ'), 401);
    const problem = await refused('/api/runs/%ZZ with key', await raw('GET', '/api/runs/%ZZ', { headers: { 'x-functions-key': FUNCTION_KEY } }), 400);
    assert.deepEqual(problem.invalidFields?.map((f) => f.field), ['path.runId']);
    await refused('webhook path with %ZZ with key', await raw('GET', `/runtime/webhooks/durabletask/instances/%ZZ?code=${FUNCTION_KEY}`), 400);
  });

  test('?code= authenticates every route and is no query input', async () => {
    for (const path of ['/api/runs', '/api/runs?limit=1', '/api/pipelines']) {
      const answer = await raw('GET', `${path}${path.includes('?') ? '&' : '?'}code=${FUNCTION_KEY}`);
      assert.equal(answer.status, 200, `${path}: ${answer.text}`);
    }
    const started = await app.api<{ runId: string }>('POST', 'pipelines/data-pipeline/runs', {});
    await runToEnd(started.json.runId);
    const logs = await raw('GET', `/api/runs/${started.json.runId}/logs?code=${FUNCTION_KEY}`);
    assert.equal(logs.status, 200, logs.text);
  });

  test('prototype names in the query string are unknown fields, not silently dropped', async () => {
    for (const name of ['__proto__', 'constructor', 'toString']) {
      const problem = await refused(`?${name}=`, await raw('GET', `/api/runs?${name}=x`, { headers: { 'x-functions-key': FUNCTION_KEY } }), 400);
      assert.ok(JSON.stringify(problem).includes(name), `the answer names ${name}: ${JSON.stringify(problem)}`);
    }
  });

  test('parameters nested 10,000 deep: 400 naming where the depth limit is crossed', async () => {
    const depth = 10_000;
    const body = `{"parameters":{"p":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}}`;
    const problem = await refused('parameters nested 10,000 deep', await app.api('POST', 'pipelines/data-pipeline/runs', undefined, { rawBody: body }).then(toAnswer), 400);
    assert.match(problem.invalidFields?.[0]?.field ?? '', /^body\.parameters\.p(\.a)+$/);
  });

  test('a body over the API limit → 413; over the host cap → 413 with the connection closed', async () => {
    const big = JSON.stringify({ parameters: { p: 'x'.repeat(300 * 1024) } });
    await refused('300 KiB body', await app.api('POST', 'pipelines/data-pipeline/runs', undefined, { rawBody: big }).then(toAnswer), 413);
    const huge = JSON.stringify({ parameters: { p: 'x'.repeat(2 * 1024 * 1024) } });
    await refused('2 MiB body', await app.api('POST', 'pipelines/data-pipeline/runs', undefined, { rawBody: huge }).then(toAnswer), 413);
  });

  test('a date parameter must be a real calendar day', async () => {
    // The seed's `day` is a date (defaulting to the run's logical date): a day that does not exist is refused.
    const problem = await refused('date parameter 2026-02-30', await app.api('POST', 'pipelines/data-pipeline/runs', { parameters: { day: '2026-02-30' } }).then(toAnswer), 400);
    assert.deepEqual(problem.invalidFields?.map((f) => f.field), ['body.parameters.day']);
  });

  test('300 MB sent without the key: 401, and the server reads almost none of it and keeps none', async () => {
    const gc = exposeGc();
    gc();
    const heapBefore = memory();
    const receivedBefore = app.host.bytesReceived();
    const collectedBefore = app.host.bodyBytesRead();
    const offered = 300 * 1024 * 1024;
    const status = await sendLarge('/api/pipelines/data-pipeline/runs', offered, {});
    assert.equal(status.status, 401);
    assert.match(status.contentType, /^application\/problem\+json/);
    gc();
    const read = app.host.bytesReceived() - receivedBefore;
    assert.ok(read < 32 * 1024 * 1024, `the server read ${read} of ${offered} bytes offered`);
    assert.equal(app.host.bodyBytesRead() - collectedBefore, 0, 'the refused body was collected');
    assert.ok(memory() - heapBefore < 64 * 1024 * 1024, `memory grew by ${memory() - heapBefore} bytes`);
    answers.push({ case: `300 MB without key (server read ${read} bytes)`, status: status.status, title: 'Unauthorized' });

    // Chunked, so no declared length gives it away: the cap holds while the body streams in.
    const withKey = await sendLarge('/api/pipelines/data-pipeline/runs', offered, { 'x-functions-key': FUNCTION_KEY, 'content-type': 'application/json' }, { chunked: true });
    assert.equal(withKey.status, 413);
    const collected = app.host.bodyBytesRead() - collectedBefore;
    assert.ok(collected <= 2 * 1024 * 1024, `the server collected ${collected} bytes of a refused body`);
    answers.push({ case: `300 MB with key, streamed (collected ${collected} bytes)`, status: withKey.status, title: 'Body too large' });
    await stillServing();
  });
});

describe('idempotent operations', () => {
  test('50 concurrent cancels: every caller gets the same 202, one cancel event is raised', async () => {
    app.setExportDelay(15_000);
    try {
      const started = await app.api<{ runId: string }>('POST', 'pipelines/data-pipeline/runs', {});
      const runId = started.json.runId;
      // Not app.until: it settles activities in flight, and this one must stay in flight.
      for (const deadline = Date.now() + 10_000; ; ) {
        const run = await app.api<{ steps: { id: string; status: string }[] }>('GET', `runs/${runId}`);
        if (run.json.steps.some((s) => s.id === 'export' && s.status === 'running')) break;
        assert.ok(Date.now() < deadline, `the export never started: ${run.text}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const cancels = await Promise.all(Array.from({ length: 50 }, () => app.api<{ status: string; requestedAt: string }>('POST', `runs/${runId}/cancel`)));
      assert.deepEqual([...new Set(cancels.map((c) => c.status))], [202]);
      assert.equal(new Set(cancels.map((c) => c.json.requestedAt)).size, 1, 'callers were told different requests');
      const raised = app.host.executions(runId).flat().filter((e) => (e as { EventType?: number; Name?: string }).EventType === 15 && (e as { Name?: string }).Name === 'cancel');
      assert.equal(raised.length, 1, `${raised.length} cancel events`);
      answers.push({ case: '50 concurrent cancels → 50 × 202, 1 event', status: 202, title: 'cancelling' });
      assert.equal(await runToEnd(runId), 'cancelled');
      const retried = await app.api<{ requestedAt: string }>('POST', `runs/${runId}/cancel`);
      assert.equal(retried.status, 202, 'a cancel retried after the run was cancelled is answered like the first');
      assert.equal(retried.json.requestedAt, cancels[0]?.json.requestedAt);
    } finally {
      app.setExportDelay(undefined);
    }
    const finished = (await app.api<{ runId: string }>('POST', 'pipelines/data-pipeline/runs', {})).json.runId;
    assert.equal(await runToEnd(finished), 'succeeded');
    await refused('cancel of a run that succeeded', await app.api('POST', `runs/${finished}/cancel`).then(toAnswer), 409);
  });

  test('five concurrent reruns with one idempotency key → one run; 50 concurrent starts with one key → one run', async () => {
    app.setFailStep('transform');
    let failedId: string;
    try {
      failedId = (await app.api<{ runId: string }>('POST', 'pipelines/data-pipeline/runs', {})).json.runId;
      assert.equal(await runToEnd(failedId), 'failed');
    } finally {
      app.setFailStep(undefined);
    }
    const key = randomUUID();
    const reruns = await Promise.all(Array.from({ length: 5 }, () => app.api<{ runId: string; created: boolean }>('POST', `runs/${failedId}/rerun`, { idempotencyKey: key })));
    assert.deepEqual([...new Set(reruns.map((r) => r.status))], [202]);
    assert.equal(new Set(reruns.map((r) => r.json.runId)).size, 1, 'one key gave several reruns');
    assert.equal(reruns.filter((r) => r.json.created).length, 1);
    assert.equal(await runToEnd(reruns[0]!.json.runId), 'succeeded');
    answers.push({ case: '5 concurrent reruns, one key → one run', status: 202, title: 'rerun' });

    const startKey = randomUUID();
    const starts = await Promise.all(Array.from({ length: 50 }, () => app.api<{ runId: string }>('POST', 'pipelines/data-pipeline/runs', { idempotencyKey: startKey })));
    assert.deepEqual([...new Set(starts.map((s) => s.status))], [202]);
    assert.equal(new Set(starts.map((s) => s.json.runId)).size, 1);
    await runToEnd(starts[0]!.json.runId);
    answers.push({ case: '50 concurrent starts, one key → one run', status: 202, title: 'start' });
  });

  test('a list cursor edited and re-encoded is refused; the one issued works', async () => {
    const page = await app.api<{ runs: { runId: string }[]; nextCursor: string }>('GET', 'runs?limit=1');
    assert.equal(page.status, 200);
    const cursor = page.json.nextCursor;
    assert.ok(cursor, 'needs a second page');
    const next = await app.api<{ runs: { runId: string }[] }>('GET', `runs?limit=1&cursor=${encodeURIComponent(cursor)}`);
    assert.equal(next.status, 200);
    assert.notEqual(next.json.runs[0]?.runId, page.json.runs[0]?.runId);

    const [body = '', signature = ''] = cursor.split('.');
    const decoded = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as { b: string; r: string };
    // Point the cursor one character elsewhere (a different last character, whatever it was).
    const edited = Buffer.from(JSON.stringify({ ...decoded, r: `${decoded.r.slice(0, -1)}${decoded.r.endsWith('0') ? '1' : '0'}` })).toString('base64url');
    assert.notEqual(edited, body);
    for (const [what, tampered] of [['edited and re-encoded', `${edited}.${signature}`], ['signature dropped', body], ['forged signature', `${body}.${'A'.repeat(43)}`]] as const) {
      const problem = await refused(`cursor ${what}`, await app.api('GET', `runs?limit=1&cursor=${encodeURIComponent(tampered)}`).then(toAnswer), 400);
      assert.deepEqual(problem.invalidFields?.map((f) => f.field), ['query.cursor']);
    }
  });
});

describe('secrets stay masked', () => {
  test('a function key that exists only as ?code= inside the export URL secret never shows in errors, logs, answers or history', async () => {
    const canary = `canary${randomUUID().replace(/-/g, '')}`;
    const originalKey = app.world.exportFunction.config.key;
    // The export step sends no x-functions-key: the key lives only in the URL secret, as ?code=.
    app.useCatalog(loadCatalog([{ ...dataPipeline, steps: dataPipeline.steps.map((step) => (step.kind === 'azureFunction' ? withoutFunctionKey(step) : step)) }]));
    app.world.exportFunction.config.key = canary;
    app.world.keyVault.setSecret('azure-function-url', `${app.world.exportFunction.baseUrl}/api/echo-key-fail?code=${canary}&action=export`);
    app.services.secrets.invalidate('azure-function-url');
    let runId: string;
    try {
      runId = (await app.api<{ runId: string }>('POST', 'pipelines/data-pipeline/runs', {})).json.runId;
      assert.equal(await runToEnd(runId), 'failed');
    } finally {
      app.world.exportFunction.config.key = originalKey;
      app.useCatalog(loadCatalog([dataPipeline]));
      app.setFailStep(undefined);
    }
    const echoed = app.world.exportFunction.callsTo('/api/echo-key-fail');
    assert.ok(echoed.some((c) => c.query['code'] === canary), 'the export function received the key in the URL');
    const run = await app.api<{ error?: { message: string } }>('GET', `runs/${runId}`);
    assert.match(run.json.error?.message ?? '', /\*\*\*/, 'the step error quotes the echo, masked');
    const texts = [run.text, (await app.api('GET', `runs/${runId}/logs?limit=1000`)).text, (await app.api('GET', 'runs?limit=100')).text];
    for (const text of texts) assert.ok(!text.includes(canary), `the key leaked into an answer: ${text.slice(0, 300)}`);
    assert.ok(!JSON.stringify(await app.store.getAttempts(runId)).includes(canary), 'the key is in an attempt record');
    for (const id of app.host.instanceIds()) {
      assert.ok(!JSON.stringify(app.host.executions(id)).includes(canary), `the key is in the history of ${id}`);
      assert.ok(!JSON.stringify(app.host.status(id)).includes(canary), `the key is in the status of ${id}`);
    }
    answers.push({ case: 'key only inside the URL secret, echoed by the export', status: 200, title: 'masked (***)' });
  });
});

describe('the CLI prints no control characters from server data', () => {
  // eslint-disable-next-line no-control-regex -- looking for control characters is the point
  const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

  test('ESC/OSC/BEL/C1/bidi in errors and log lines, a newline in a metric key: shown escaped, the table intact', async () => {
    const runId = `data-pipeline-20260101T000000Z-${randomUUID().slice(0, 6)}`;
    const now = new Date().toISOString();
    const evil = 'export failed \u001b]0;pwned\u0007\u001b[2K\u009b31m\u202eevil\u202c';
    await app.store.upsertRun({
      runId, pipeline: 'data-pipeline', status: 'failed', trigger: { kind: 'manual' }, parameters: {}, createdAt: now, startedAt: now, endedAt: now,
      durationSeconds: 1, error: { message: evil, class: 'permanent', stepId: 'export' },
      metrics: { load: { 'rows\nLOADED  forged': 5, 'files\u001b[31m': 2 } },
    });
    await app.store.recordAttempt({ runId, pipeline: 'data-pipeline', stepId: 'export', attempt: 1, status: 'failed', startedAt: now, endedAt: now, error: { message: evil, class: 'permanent' } });
    await app.store.recordAttempt({ runId, pipeline: 'data-pipeline', stepId: 'load', attempt: 1, status: 'succeeded', startedAt: now, endedAt: now, metrics: { 'rows\nLOADED  forged': 5 } });
    await app.store.appendLogs(runId, [{ time: now, level: 'error', msg: `${evil}\n2026-01-01T00:00:00Z  export  INFO  forged line`, stepId: 'export' }]);

    const env = { DURABLE_PIPELINES_URL: app.baseUrl, DURABLE_PIPELINES_KEY: FUNCTION_KEY };
    const [show, logs, follow, showJson] = await Promise.all([
      runCli(['runs', 'show', runId], env),
      runCli(['logs', runId], env),
      runCli(['logs', runId, '--follow', '--interval', '0.1'], env),
      runCli(['--json', 'runs', 'show', runId], env),
    ]);
    for (const [what, result] of [['runs show', show], ['logs', logs], ['logs --follow', follow], ['--json runs show', showJson]] as const) {
      assert.doesNotMatch(result.stdout, CONTROL, `${what} printed a control character: ${JSON.stringify(result.stdout)}`);
      assert.doesNotMatch(result.stderr, CONTROL, `${what} printed a control character on stderr`);
      assert.match(result.stdout, /\\u001b\]0;pwned\\u0007/, `${what} does not show the escape sequence as text`);
    }
    assert.equal(logs.stdout.trim().split('\n').length, 1, `a log message with a newline forged a second line:\n${logs.stdout}`);
    assert.ok(!follow.stdout.split('\n').some((l) => /^\S+\s+export\s+INFO\s+forged line/.test(l)), 'logs --follow printed a forged line');
    // Every row of the steps table starts with a step id: a metric key's newline made no row of its own.
    const tableRows = show.stdout.split('\n').slice(show.stdout.split('\n').findIndex((l) => l.startsWith('STEP')) + 2).filter((l) => l.trim() !== '');
    for (const row of tableRows) assert.match(row, /^(export|load|transform)\s/, `a broken table row: ${JSON.stringify(row)}`);
    const parsed = JSON.parse(showJson.stdout) as { error: { message: string } };
    assert.equal(parsed.error.message, evil, '--json keeps the exact text (escaped, still valid JSON)');
    answers.push({ case: 'CLI: ESC/OSC/BEL/C1/bidi + newline in metric key', status: 0, title: 'shown as \\uXXXX' });
  });
});

function withoutFunctionKey<S extends { functionKey?: unknown }>(step: S): Omit<S, 'functionKey'> {
  const { functionKey: _dropped, ...rest } = step;
  return rest;
}

function toAnswer(response: { status: number; headers: Headers; text: string }): Answer {
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', text: response.text };
}

/** Streams `bytes` of a JSON-looking body; resolves with the answer as soon as it arrives, then stops sending. */
function sendLarge(path: string, bytes: number, headers: Record<string, string>, options: { chunked?: boolean } = {}): Promise<Answer> {
  const url = new URL(path, app.baseUrl);
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  let sent = 0;
  const body = new Readable({
    read() {
      if (sent >= bytes) {
        this.push(null);
        return;
      }
      sent += chunk.length;
      this.push(chunk);
    },
  });
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { ...headers, ...(options.chunked ? {} : { 'content-length': String(bytes) }) } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c));
      res.on('end', () => {
        body.destroy();
        req.destroy();
        resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), text });
      });
    });
    // Writes fail once the server closed the connection: expected, the answer decides.
    req.on('error', (error: NodeJS.ErrnoException) => (['EPIPE', 'ECONNRESET'].includes(error.code ?? '') ? undefined : reject(error)));
    body.on('error', () => undefined);
    body.pipe(req);
  });
}

function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

function memory(): number {
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}
