/**
 * What the Portal's workbook and alert will find in Application Insights: the seed pipeline run
 * by the whole app (development host, stand-ins, Azurite) — a scheduled run that succeeds, then,
 * after downtime, a late slot caught up whose run fails and a slot missed — with every log call
 * made through the invocations' `InvocationContext` turned into the `traces` row the Functions
 * host writes for it (test/support/telemetry.ts follows the host's sources). Each query in
 * infra/app/queries must find every event and field it reads in those rows.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startApp, type AppHarness } from '../support/appHarness';
import { TelemetryCapture } from '../support/telemetry';
import { withSchedules } from '../support/schedulerPipelines';
import { eventFieldsRead, queryFiles } from '../support/kqlSources';
import { loadCatalog } from '../../src/pipelines/catalog';
import seed from '../../src/pipelines/definitions/data-pipeline';
import { EVENT_SCHEMAS, type EventName } from '../../src/logging/events';

let app: AppHarness | undefined;
const capture = new TelemetryCapture('host.json', () => app?.host.now() ?? new Date());
const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

async function runEnded(runId: string): Promise<string> {
  const harness = app;
  assert.ok(harness);
  return harness.until(`run ${runId} to end`, async () => {
    const run = await harness.api<{ status: string }>('GET', `runs/${encodeURIComponent(runId)}`);
    return run.status === 200 && TERMINAL.has(run.json.status) ? run.json.status : undefined;
  }, { timeoutMs: 120_000 });
}

/** Reads a dotted path of a parsed event line. */
function at(fields: Record<string, unknown>, path: readonly string[]): unknown {
  let value: unknown = fields;
  for (const key of path) value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  return value;
}

const OK_RUN = 'sched:hourly:hourly:20261126T1000Z';
const LATE_RUN = 'sched:hourly:hourly:20261126T1200Z';

before(async () => {
  app = await startApp({
    startTime: new Date('2026-11-26T10:00:00Z'),
    settings: { SCHEDULER_ENABLED: 'true', LOG_LEVEL: 'info' },
    wrapRegistrations: capture.wrap,
    // Deployed with this catalog: the tick the host runs at start-up (runOnStartup) fires 10:00.
    catalog: loadCatalog([withSchedules(seed, 'hourly', [{ name: 'hourly', cron: '0 * * * *' }])]),
  });

  await app.host.invokeTimer('schedulerTick');
  assert.equal(await runEnded(OK_RUN), 'succeeded');

  // Down from 10:xx to 12:30: the 11:00 slot is missed, 12:00 is caught up late, and fails.
  app.setFailStep('transform');
  await app.restartHost(new Date('2026-11-26T12:30:00Z'));
  await app.host.invokeTimer('schedulerTick');
  assert.equal(await runEnded(LATE_RUN), 'failed');
  await app.host.runUntilIdle();
});
after(async () => {
  await app?.stop();
});

describe('telemetry the Portal reads, as Application Insights would receive it', () => {
  test('each finished run logs run.finished and one step.finished per step, with what a user looks for', () => {
    const events = capture.events();
    const runs = events.filter((e) => e.fields['event'] === 'run.finished');
    const ok = runs.find((e) => e.fields['runId'] === OK_RUN)?.fields;
    const failed = runs.find((e) => e.fields['runId'] === LATE_RUN);
    assert.ok(ok, 'run.finished for the succeeded run');
    assert.ok(failed, 'run.finished for the failed run');
    assert.equal(ok['status'], 'succeeded');
    assert.equal(ok['pipeline'], 'hourly');
    assert.equal(ok['trigger'], 'schedule');
    assert.equal(ok['origin'], 'hourly');
    assert.equal(typeof ok['durationSeconds'], 'number');
    assert.ok((ok['rowsLoaded'] as number) > 0, 'rows loaded by COPY INTO');
    assert.equal(failed.fields['status'], 'failed');
    assert.equal(failed.fields['failedStep'], 'transform');
    assert.equal(typeof at(failed.fields, ['error', 'message']), 'string');
    // A failed run is an Error in Application Insights' own views (severityLevel 3).
    assert.equal(failed.row.severityLevel, 3);
    assert.equal(failed.row.customDimensions['Category'], 'Function.finishRun.User');
    assert.equal(failed.row.customDimensions['LogLevel'], 'Error');

    const steps = (runId: string) => events.filter((e) => e.fields['event'] === 'step.finished' && e.fields['runId'] === runId).map((e) => e.fields);
    assert.deepEqual(steps(OK_RUN).map((s) => [s['stepId'], s['status'], s['attempts']]), [['export', 'succeeded', 1], ['load', 'succeeded', 1], ['transform', 'succeeded', 1]]);
    const load = steps(OK_RUN).find((s) => s['stepId'] === 'load');
    assert.ok(load && (at(load, ['metrics', 'rowsLoaded']) as number) > 0);
    const transform = steps(OK_RUN).find((s) => s['stepId'] === 'transform');
    assert.ok(transform && typeof at(transform, ['metrics', 'modelsSucceeded']) === 'number', 'dbt models on the transform step');
    const failedStep = steps(LATE_RUN).find((s) => s['stepId'] === 'transform');
    assert.equal(failedStep?.['status'], 'failed');
    assert.ok((failedStep?.['attempts'] as number) > 1, 'the failed step was retried');
    assert.equal(typeof at(failedStep ?? {}, ['error', 'message']), 'string');
  });

  test('the scheduler logs each slot: fired, missed, and late', () => {
    const slots = capture.events().filter((e) => String(e.fields['event']).startsWith('slot.')).map((e) => [e.fields['event'], e.fields['slot'], e.fields['outcome']]);
    assert.deepEqual(
      slots.filter(([, slot]) => slot !== '2026-11-26T13:00:00Z').sort(),
      [
        ['slot.fired', '2026-11-26T10:00:00Z', 'fired'],
        ['slot.fired', '2026-11-26T12:00:00Z', 'caught-up'],
        ['slot.late', '2026-11-26T11:00:00Z', 'missed'],
        ['slot.late', '2026-11-26T12:00:00Z', 'caught-up'],
        ['slot.missed', '2026-11-26T11:00:00Z', 'missed'],
      ].sort(),
    );
  });

  test('every event line matches its definition in src/logging/events.ts, and none is filtered out by host.json', () => {
    const events = capture.events();
    assert.ok(events.length > 0);
    for (const { fields } of events) {
      const name = String(fields['event']);
      assert.ok(name in EVENT_SCHEMAS, `unknown event ${name}`);
      const parsed = EVENT_SCHEMAS[name as EventName].safeParse(fields);
      assert.ok(parsed.success, `${name}: ${parsed.success ? '' : parsed.error.message}`);
    }
    assert.deepEqual(capture.dropped.filter((r) => r.message.includes('"event":')), [], 'host.json log levels drop event lines');
    // Adaptive sampling would thin out the event lines: traces are excluded from it.
    const hostJson = JSON.parse(readFileSync('host.json', 'utf8')) as { logging?: { applicationInsights?: { samplingSettings?: { isEnabled?: boolean; excludedTypes?: string } } } };
    const sampling = hostJson.logging?.applicationInsights?.samplingSettings;
    assert.ok(sampling?.isEnabled === false || (sampling?.excludedTypes ?? '').split(';').includes('Trace'), 'traces are sampled');
  });

  test('each query finds every event and field it reads in the captured traces', () => {
    const events = capture.events();
    for (const query of queryFiles()) {
      const read = eventFieldsRead(query.text);
      assert.ok(read.events.length > 0, `${query.path} reads no event`);
      for (const name of read.events) assert.ok(events.some((e) => e.fields['event'] === name), `${query.path}: no ${name} line was logged`);
      const rows = events.filter((e) => read.events.includes(e.fields['event'] as EventName));
      for (const path of read.fields) {
        assert.ok(rows.some((e) => at(e.fields, path) !== undefined), `${query.path}: no ${read.events.join('/')} line has e.${path.join('.')}`);
      }
    }
  });
});
