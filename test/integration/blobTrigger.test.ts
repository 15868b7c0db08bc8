/**
 * Blob-created triggers end to end: an Event Grid stand-in that follows Event Grid's documented
 * webhook protocol (validation handshake, Event Grid schema, retries, at-least-once) delivers
 * to the app in the development host; runs start once per blob version; unmatched paths are
 * answered and dropped; Event Grid's Entra identity is admitted by its app role only.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { encodePrincipal } from '../../src/auth/principal';
import { buildProgram } from '../../src/cli/main';
import { loadCatalog } from '../../src/pipelines/catalog';
import { pipelineInputs } from '../../src/pipelines/definitions';
import type { PipelineInput } from '../../src/pipelines/schema';
import { createEventGridStandIn } from '../../src/standins/eventGrid';
import { triggeredRunId } from '../../src/triggers/fire';
import { FUNCTION_KEY, startApp, type AppHarness } from '../support/appHarness';
import { TelemetryCapture } from '../support/telemetry';

const landing: PipelineInput = {
  name: 'landing',
  title: 'Load when the export lands',
  parameters: { day: { type: 'date' }, marker: { type: 'string' } },
  triggers: [{ name: 'export-done', blobCreated: { container: 'exports', path: 'daily/{day}/done.json' }, parameters: { marker: { blob: 'url' } } }],
  steps: [{ id: 'check', kind: 'waitFor', blob: { container: { setting: 'DBT_RESULTS_CONTAINER_URL' }, path: 'reports/{param.day}.json' }, checkEvery: '1m', timeout: '10m' }],
};

interface RunJson {
  status: string;
  parameters: Record<string, unknown>;
  trigger: { kind: string; origin: string; by?: string };
}

let principal: string | undefined;
const telemetry = new TelemetryCapture();

void describe('blob created trigger (Event Grid)', () => {
  let app: AppHarness;
  before(async () => {
    app = await startApp({
      startTime: new Date('2026-03-28T06:00:00Z'),
      catalog: loadCatalog([...pipelineInputs, landing]),
      platformPrincipal: () => principal,
      settings: { WEBSITE_AUTH_ENABLED: 'True', LOG_LEVEL: 'info' },
      wrapRegistrations: telemetry.wrap,
    });
    app.world.dbt.blobs.set('/dbtresults/reports/2026-03-27.json', '{}');
  });
  after(() => app.stop());

  const endpoint = () => `${app.baseUrl}/api/events/blob-created?code=${FUNCTION_KEY}`;
  const waits: number[] = [];
  const eventGrid = (url = endpoint()) => createEventGridStandIn({ endpoint: url, wait: (s) => Promise.resolve(void waits.push(s)) });
  const run = async (runId: string) => app.api<RunJson>('GET', `runs/${encodeURIComponent(runId)}`);
  const runId = (eTag: string, day = '2026-03-27') => triggeredRunId('landing', 'export-done', `exportsacct/exports/daily/${day}/done.json@${eTag}`);

  void test('the subscription validation handshake: the validation code is echoed; a malformed validation is refused 400', async () => {
    const grid = eventGrid();
    assert.equal(await grid.subscribe(), true);
    const bad = await app.api<{ invalidFields: { field: string }[] }>('POST', 'events/blob-created', [{ id: '1', subject: '', eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent', eventTime: '2026-03-28T06:00:00Z', data: {} }], { headers: { 'aeg-event-type': 'SubscriptionValidation' } });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.json.invalidFields.map((f) => f.field), ['body[0].data.validationCode']);
    const notEvents = await app.api<{ invalidFields: { field: string }[] }>('POST', 'events/blob-created', { hello: 'world' });
    assert.equal(notEvents.status, 400);
    assert.match(notEvents.headers.get('content-type') ?? '', /problem\+json/);
  });

  void test('a blob landing starts one run per blob version, with the path\'s parameters; a duplicate delivery starts nothing', async () => {
    const grid = eventGrid();
    assert.ok(await grid.subscribe());
    const first = await grid.publishBlobCreated({ container: 'exports', path: 'daily/2026-03-27/done.json', eTag: '0x8DC1', contentLength: 12 });
    assert.equal(first.outcome, 'delivered');
    const id = runId('0x8DC1');
    const started = await app.until('the triggered run', async () => {
      const r = await run(id);
      return r.status === 200 && r.json.status === 'succeeded' ? r.json : undefined;
    });
    assert.deepEqual(started.parameters, { day: '2026-03-27', marker: 'https://exportsacct.blob.core.windows.net/exports/daily/2026-03-27/done.json' });
    assert.deepEqual([started.trigger.kind, started.trigger.origin, started.trigger.by], ['event', 'https://exportsacct.blob.core.windows.net/exports/daily/2026-03-27/done.json', 'trigger:export-done']);
    // At-least-once: the same event again, twice.
    assert.equal(await grid.redeliver(first.event), 'delivered');
    assert.equal(await grid.redeliver(first.event), 'delivered');
    assert.equal(app.runInstances('trig:landing').length, 1);
    assert.match(grid.deliveries.at(-1)?.body ?? '', /"outcome":"duplicate"/);
    // The blob rewritten: a new version, a new run.
    await grid.publishBlobCreated({ container: 'exports', path: 'daily/2026-03-27/done.json', eTag: '0x8DC2' });
    await app.host.runUntilIdle();
    assert.equal(app.runInstances('trig:landing').length, 2);
    const lines: string[] = [];
    await buildProgram((l) => lines.push(l), () => undefined).parseAsync(['node', 'durable-pipelines', '--url', app.baseUrl, '--key', FUNCTION_KEY, 'triggers', 'history', 'landing', 'export-done']);
    const outcomes = lines.join('\n').split('\n').filter((l) => l.startsWith('2026-')).map((l) => l.split(/\s+/)[1]);
    assert.deepEqual(outcomes.sort(), ['duplicate', 'duplicate', 'started', 'started']);
  });

  void test('paths and events no trigger listens to are answered 200 and dropped: nothing is retried, nothing starts', async () => {
    const grid = eventGrid();
    assert.ok(await grid.subscribe());
    const before = app.runInstances().length;
    const other = await grid.publishBlobCreated({ container: 'exports', path: 'weekly/2026-03-27/done.json', eTag: '0x1' });
    assert.equal(other.outcome, 'delivered');
    assert.match(grid.deliveries.at(-1)?.body ?? '', /"outcome":"unmatched"/);
    const otherContainer = await grid.publishBlobCreated({ container: 'archive', path: 'daily/2026-03-27/done.json', eTag: '0x1' });
    assert.equal(otherContainer.outcome, 'delivered');
    const deleted = await grid.deliver({ ...other.event, id: 'del-1', eventType: 'Microsoft.Storage.BlobDeleted' });
    assert.equal(deleted, 'delivered');
    assert.equal(grid.deliveries.filter((d) => d.attempt > 1).length, 0);
    // Each dropped event leaves a log line saying what it was.
    const unmatched = telemetry.events().filter((e) => e.fields['event'] === 'trigger.unmatched').map((e) => [e.fields['container'] ?? e.fields['eventType'], e.fields['path'] ?? null]);
    assert.deepEqual(unmatched, [['exports', 'weekly/2026-03-27/done.json'], ['archive', 'daily/2026-03-27/done.json'], ['Microsoft.Storage.BlobDeleted', null]]);
    await app.host.runUntilIdle();
    assert.equal(app.runInstances().length, before);
  });

  void test('Event Grid retries on its schedule while the endpoint fails, and the retry starts the run once', async () => {
    // A front end that fails the first two deliveries (503, then no route: 502), then passes them on.
    let failures = 2;
    const proxy: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.headers['aeg-event-type'] === 'Notification' && failures > 0) {
          res.writeHead(failures-- === 2 ? 503 : 502).end();
          return;
        }
        void fetch(endpoint(), { method: 'POST', headers: Object.fromEntries(Object.entries(req.headers).filter(([k]) => k.startsWith('aeg-') || k === 'content-type')) as Record<string, string>, body: Buffer.concat(chunks) })
          .then(async (r) => res.writeHead(r.status, { 'content-type': 'application/json' }).end(await r.text()));
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      waits.length = 0;
      const grid = eventGrid(`http://127.0.0.1:${(proxy.address() as AddressInfo).port}/`);
      assert.ok(await grid.subscribe());
      const published = await grid.publishBlobCreated({ container: 'exports', path: 'daily/2026-03-26/done.json', eTag: '0xAA' });
      assert.equal(published.outcome, 'delivered');
      assert.deepEqual(grid.deliveries.map((d) => d.status), [503, 502, 200]);
      assert.deepEqual(waits, [10, 30]);
      await app.host.runUntilIdle();
      assert.equal(app.runInstances(runId('0xAA', '2026-03-26')).length, 1);
    } finally {
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  void test('through the Entra door: Event Grid\'s identity needs the Pipelines.Events role; a user with Operate is refused', async () => {
    const grid = createEventGridStandIn({ endpoint: `${app.baseUrl}/api/console/events/blob-created`, wait: () => Promise.resolve() });
    principal = encodePrincipal({ name: 'operator@contoso.com', roles: ['Pipelines.Read', 'Pipelines.Operate'] });
    assert.equal(await grid.subscribe(), false, 'an operator is not Event Grid');
    const deliveries = grid.deliveries.length;
    principal = Buffer.from(JSON.stringify({ auth_typ: 'aad', claims: [{ typ: 'appid', val: '4962773b-9cdb-44cf-a8bf-237846a00ab7' }, { typ: 'roles', val: 'Pipelines.Events' }] })).toString('base64');
    assert.equal(await grid.subscribe(), true);
    const published = await grid.publishBlobCreated({ container: 'exports', path: 'daily/2026-03-25/done.json', eTag: '0xBB' });
    assert.equal(published.outcome, 'delivered');
    assert.equal(grid.deliveries.length, deliveries + 1);
    principal = undefined;
  });
});
