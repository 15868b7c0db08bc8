/**
 * Runs whose full state is far over the extension's custom status limit (16 KB counted as UTF-16
 * bytes) complete on the development host, which now fails an orchestration over that limit as the
 * extension does; the views (src/api/runView.ts) still show every step, from the output when the
 * run is done and from the run store while it runs.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeRunView } from '../../src/api/runView';
import { CUSTOM_STATUS_MAX_BYTES, utf16JsonBytes } from '../../src/engine/customStatus';
import type { DurableOrchestrationStatus } from 'durable-functions';
import type { JsonObject } from '../../src/core/json';
import type { PipelineInput } from '../../src/pipelines/schema';
import { engineHostForSuite, pipeline, snowflakeConnection, type EngineHost } from './engineHarness';

const connection = snowflakeConnection;

type StepInput = PipelineInput['steps'][number];

/** `count` steps, each depending on the one before (the engine runs them inline, one by one). */
function chain(name: string, count: number, step: (id: string) => StepInput): ReturnType<typeof pipeline> {
  const steps = Array.from({ length: count }, (_, i) => {
    const id = `s${String(i).padStart(3, '0')}`;
    return { ...step(id), ...(i === 0 ? {} : { dependsOn: [`s${String(i - 1).padStart(3, '0')}`] }) };
  });
  return pipeline({ name, title: name, steps });
}

/** What the Snowflake adapter returns for a COPY INTO of five files (src/steps/snowflake/adapter.ts). */
function copyOfFiveFiles(id: string): { output: JsonObject; metrics: Record<string, number | string> } {
  const files = Array.from({ length: 5 }, (_, n) => ({
    file: `azure://account.blob.core.windows.net/exports/chemin/vers/fichiers/2026/03/02/${id}/part-${String(n).padStart(5, '0')}-of-00005.json.gz`,
    status: 'PARTIALLY_LOADED',
    rowsParsed: 100_000 + n,
    rowsLoaded: 99_990 + n,
    errorsSeen: 10,
    firstError: `Error parsing JSON: incomplete object value, expected '}' near line ${n + 17}: {"order_id": 12345, "customer": {"name": "Zoë Ångström", "address": "…`.slice(0, 199) + '…',
  }));
  return {
    output: { queryId: `01b2c3d4-0000-${id.slice(1).padStart(4, '0')}-0000-000000000000`, files, filesTotal: 5 },
    metrics: { filesLoaded: 0, filesPartiallyLoaded: 5, filesFailed: 0, rowsParsed: 500_010, rowsLoaded: 499_960, errorsSeen: 50, firstError: 'Error parsing JSON' },
  };
}

/** Every custom status the run instance published was within the limit, and the run's views show every step. */
async function assertFitsAndViews(engine: EngineHost, runId: string, stepCount: number): Promise<void> {
  const status = await engine.host.client.getStatus(runId, { showInput: false });
  assert.equal(status.runtimeStatus, 'Completed', JSON.stringify(status.output).slice(0, 300));
  assert.ok(utf16JsonBytes(status.customStatus) <= CUSTOM_STATUS_MAX_BYTES, `custom status ${utf16JsonBytes(status.customStatus)} bytes`);
  const record = engine.recorder.runs.get(runId);
  assert.equal(record?.status, 'succeeded', 'finishRun recorded the run');
  const attempts = [...engine.recorder.attempts.values()].filter((a) => a.runId === runId);
  const view = mergeRunView(runId, record as Parameters<typeof mergeRunView>[1], attempts, status);
  assert.equal(view?.steps.length, stepCount);
  assert.ok(view?.steps.every((s) => s.status === 'succeeded'));
  // the output keeps the whole state, outputs included
  assert.equal((status.output as { steps: unknown[] }).steps.length, stepCount);

  // while it ran the view read the trimmed custom status or, once summarized, the run store
  const running = { ...status, runtimeStatus: 'Running', output: null } as unknown as DurableOrchestrationStatus;
  const liveView = mergeRunView(runId, { ...record, status: 'running' } as Parameters<typeof mergeRunView>[1], attempts, running);
  assert.equal(liveView?.steps.length, stepCount);
  assert.ok(liveView?.steps.every((s) => s.status === 'succeeded'));
}

describe('custom status within the extension limit, whatever the run holds', () => {
  const engine = engineHostForSuite();

  test('200 steps with 8 KB outputs complete; every view shows 200 steps', async () => {
    const count = 200;
    const p = chain('two-hundred', count, (id) => ({ id, kind: 'azureFunction', url: `https://fn.example/api/export/${id}` }));
    for (const step of p.steps) engine().fake.script(step.id, [{ ok: { output: { body: 'é'.repeat(4 * 1024) + 'x'.repeat(4 * 1024) } } }]);
    const run = await engine().run(p, 'big-200');
    assert.equal(run.status, 'succeeded');
    await assertFitsAndViews(engine(), 'big-200', count);
  });

  test('a 10-step pipeline of 5-file COPY INTO steps completes with every step shown', async () => {
    const count = 10;
    const p = chain('ten-copies', count, (id) => ({
      id,
      kind: 'snowflake',
      connection,
      statement: { copyInto: { table: `T_${id}`, stage: 'mon_stage_azure', path: 'chemin/vers/fichiers', fileFormat: { type: 'JSON' } } },
      retry: { attempts: 2, delays: 1 },
    }));
    for (const step of p.steps) {
      const { output, metrics } = copyOfFiveFiles(step.id);
      // a retried step: the long first attempt's error stays in the attempt list
      engine().fake.script(step.id, [{ fail: 'transient', message: `Snowflake 000625: lock wait timeout on T_${step.id} `.repeat(20) }, { ok: { output, metrics } }]);
    }
    const run = await engine().run(p, 'copies-10');
    assert.equal(run.status, 'succeeded');
    assert.ok(utf16JsonBytes(run) > CUSTOM_STATUS_MAX_BYTES, `the full state (${utf16JsonBytes(run)} bytes) is over the limit`);
    await assertFitsAndViews(engine(), 'copies-10', count);
  });

  test('parallel steps: each step sub-orchestration publishes a status within the limit (8 KB output, long errors)', async () => {
    const p = pipeline({
      name: 'fan-out',
      title: 'fan-out',
      steps: Array.from({ length: 4 }, (_, i) => ({ id: `wide${i}`, kind: 'azureFunction' as const, url: `https://fn.example/api/export/${i}`, retry: { attempts: 30, delays: 1 } })),
    });
    for (const step of p.steps) {
      engine().fake.script(step.id, [
        ...Array.from({ length: 25 }, () => ({ fail: 'transient' as const, message: 'HTTP 503 from the export function: '.padEnd(600, 'é') })),
        { ok: { output: { body: 'x'.repeat(8 * 1024) } } },
      ]);
    }
    const run = await engine().run(p, 'fan-out-1');
    assert.equal(run.status, 'succeeded');
    const children = engine().host.instanceIds().filter((id) => id.startsWith('fan-out-1:wide'));
    assert.equal(children.length, 4, children.join(', '));
    for (const child of children) {
      const status = engine().host.status(child);
      assert.equal(status?.runtimeStatus, 'Completed');
      assert.ok(utf16JsonBytes(status?.customStatus) <= CUSTOM_STATUS_MAX_BYTES, `${child}: ${utf16JsonBytes(status?.customStatus)} bytes`);
    }
    await assertFitsAndViews(engine(), 'fan-out-1', 4);
  });
});
