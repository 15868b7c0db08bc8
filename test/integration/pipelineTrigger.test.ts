/**
 * "Pipeline succeeded" triggers end to end: the seed's run succeeds, the downstream pipeline runs
 * once with the upstream's logical date and a step output; a failed upstream run starts nothing;
 * the trigger's history says what happened.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildProgram } from '../../src/cli/main';
import { loadCatalog } from '../../src/pipelines/catalog';
import { pipelineInputs } from '../../src/pipelines/definitions';
import type { PipelineInput } from '../../src/pipelines/schema';
import { triggeredRunId } from '../../src/triggers/fire';
import { FUNCTION_KEY, startApp, type AppHarness } from '../support/appHarness';

const report: PipelineInput = {
  name: 'report',
  title: 'Report after the load',
  parameters: {
    day: { type: 'date' },
    filesTotal: { type: 'integer' },
    upstreamRun: { type: 'string' },
  },
  triggers: [
    {
      name: 'after-load',
      pipelineSucceeded: {
        pipeline: 'data-pipeline',
        parameters: { day: { upstreamParam: 'day' }, filesTotal: { output: { step: 'load', path: '$.filesTotal' } }, upstreamRun: { upstream: 'runId' } },
      },
    },
  ],
  steps: [{ id: 'marker', kind: 'waitFor', blob: { container: { setting: 'DBT_RESULTS_CONTAINER_URL' }, path: 'reports/{param.day}.json' }, checkEvery: '1m', timeout: '10m' }],
};

interface RunJson {
  status: string;
  parameters: Record<string, unknown>;
  trigger: { kind: string; origin: string; requestedAt?: string; by?: string };
}

void describe('pipeline succeeded trigger', () => {
  let app: AppHarness;
  before(async () => {
    app = await startApp({ startTime: new Date('2026-03-28T06:00:00Z'), catalog: loadCatalog([...pipelineInputs, report]) });
    app.world.dbt.blobs.set('/dbtresults/reports/2026-03-25.json', '{}');
  });
  after(() => app.stop());

  const run = async (runId: string) => app.api<RunJson>('GET', `runs/${encodeURIComponent(runId)}`);
  const ended = (runId: string) => app.until(`run ${runId} to end`, async () => {
    const r = await run(runId);
    return r.status === 200 && ['succeeded', 'failed', 'cancelled'].includes(r.json.status) ? r.json : undefined;
  }, { timeoutMs: 60_000 });
  const cli = async (...args: string[]): Promise<string> => {
    const lines: string[] = [];
    await buildProgram((l) => lines.push(l), () => undefined).parseAsync(['node', 'durable-pipelines', '--url', app.baseUrl, '--key', FUNCTION_KEY, ...args]);
    return lines.join('\n');
  };

  void test('a succeeded run starts the downstream run once, with its parameters and a step output', async () => {
    const started = await app.api<{ runId: string }>('POST', 'pipelines/data-pipeline/runs', { parameters: { day: '2026-03-25' } });
    const upstream = started.json.runId;
    assert.equal((await ended(upstream)).status, 'succeeded');
    const downstreamId = triggeredRunId('report', 'after-load', upstream);
    const downstream = await ended(downstreamId);
    assert.equal(downstream.status, 'succeeded');
    assert.deepEqual(downstream.parameters, { day: '2026-03-25', filesTotal: 3, upstreamRun: upstream });
    assert.equal(downstream.trigger.kind, 'pipeline');
    assert.equal(downstream.trigger.origin, upstream);
    assert.equal(downstream.trigger.by, 'trigger:after-load');
    assert.equal(app.runInstances('trig:').length, 1);
    const shown = await cli('runs', 'show', downstreamId);
    assert.match(shown, new RegExp(`started by: after run ${upstream} succeeded \\(trigger after-load\\)`));
    const history = await cli('triggers', 'history', 'report', 'after-load');
    assert.match(history, new RegExp(`started +${downstreamId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} +run ${upstream} of data-pipeline`));
  });

  void test('a failed upstream run starts nothing', async () => {
    app.setFailStep('load');
    try {
      const started = await app.api<{ runId: string }>('POST', 'pipelines/data-pipeline/runs', { parameters: { day: '2026-03-24' } });
      assert.equal((await ended(started.json.runId)).status, 'failed');
      await app.host.runUntilIdle();
      assert.equal((await run(triggeredRunId('report', 'after-load', started.json.runId))).status, 404);
      assert.equal(app.runInstances('trig:').length, 1);
    } finally {
      app.setFailStep(undefined);
    }
  });

  void test('an unknown trigger is a 404 naming the triggers there are', async () => {
    const unknown = await app.api<{ detail: string }>('GET', 'pipelines/report/triggers/nightly/history');
    assert.equal(unknown.status, 404);
    assert.match(unknown.json.detail, /has no trigger "nightly" \(has: after-load\)/);
  });
});
