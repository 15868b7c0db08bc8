/**
 * `GET /api/runs/{id}` of a run with a forEach step of 10,000 items: by default the answer carries
 * each forEach step's counts by status and none of its items (so what `runs show` and `--follow`
 * poll stays the size of the definition); `?items=all` carries every item; anything else is a 400
 * naming the field.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DurableOrchestrationStatus } from 'durable-functions';
import type { ApiDeps } from '../../src/api/ports';
import type { ApiRequest } from '../../src/api/request';
import { createRoutes } from '../../src/api/routes';
import { KEY_CALLER } from '../../src/auth/roles';
import type { RunState, StepState } from '../../src/engine/types';
import { loadCatalog } from '../../src/pipelines/catalog';
import type { AttemptRecord, RunRecord } from '../../src/runs/recorder';

const N = 10_000;
const runId = 'fe-10k';
const at = '2026-12-01T00:00:00.000Z';
const item = (i: number): StepState => ({ id: `load[${i}]`, status: 'succeeded', attempts: [{ attempt: 1, startedAt: at, endedAt: at, status: 'succeeded' }], output: { table: `t${i}` } });
const state: RunState = {
  runId,
  pipeline: 'fe-pipeline',
  status: 'succeeded',
  pipelineAttempt: 1,
  startedAt: at,
  endedAt: at,
  steps: [
    { id: 'export', status: 'succeeded', attempts: [{ attempt: 1, startedAt: at, endedAt: at, status: 'succeeded' }] },
    { id: 'load', status: 'succeeded', attempts: [], items: { total: N, succeeded: N } },
    ...Array.from({ length: N }, (_, i) => item(i)),
  ],
};
const record: RunRecord = { runId, pipeline: 'fe-pipeline', status: 'succeeded', trigger: { kind: 'manual' }, parameters: {}, createdAt: at };
const attempts: AttemptRecord[] = [
  { runId, pipeline: 'fe-pipeline', stepId: 'export', attempt: 1, status: 'succeeded', startedAt: at, endedAt: at },
  ...Array.from({ length: N }, (_, i): AttemptRecord => ({ runId, pipeline: 'fe-pipeline', stepId: `load[${i}]`, attempt: 1, status: 'succeeded', startedAt: at, endedAt: at, metrics: { rowsLoaded: 1 } })),
];

function getRun(query: string) {
  const deps = {
    catalog: loadCatalog([]),
    now: () => new Date(at),
    runs: { getRun: () => Promise.resolve(record), getAttempts: () => Promise.resolve(attempts) },
    durable: { getStatus: () => Promise.resolve({ instanceId: runId, name: 'runPipeline', runtimeStatus: 'Completed', output: state } as unknown as DurableOrchestrationStatus) },
  } as unknown as ApiDeps;
  const route = createRoutes(deps).find((r) => r.name === 'getRun');
  assert.ok(route);
  const request: ApiRequest = { method: 'GET', url: `https://app.example.net/api/runs/${runId}${query}`, headers: new Headers(), query: new URLSearchParams(query), params: { runId }, text: () => Promise.resolve('') };
  return route.handle(request, KEY_CALLER);
}

const bodyOf = (response: { body?: unknown; jsonBody?: unknown }): string => (typeof response.body === 'string' ? response.body : JSON.stringify(response.jsonBody));

describe('a run view with 10,000 items', () => {
  test('answers counts by default: no item, no item attempt, a few KB', async () => {
    const response = await getRun('');
    assert.equal(response.status, 200);
    const body = bodyOf(response);
    const view = JSON.parse(body) as { steps: StepState[]; attempts: AttemptRecord[]; items: string };
    assert.deepEqual(view.steps.map((s) => s.id), ['export', 'load']);
    assert.deepEqual(view.steps[1]?.items, { total: N, succeeded: N });
    assert.deepEqual(view.attempts.map((a) => a.stepId), ['export']);
    assert.equal(view.items, 'counts');
    assert.ok(body.length < 4_000, `${body.length} characters`);
  });

  test('answers every item with ?items=all', async () => {
    const view = JSON.parse(bodyOf(await getRun('?items=all'))) as { steps: StepState[]; attempts: AttemptRecord[] };
    assert.equal(view.steps.length, N + 2);
    assert.equal(view.attempts.length, N + 1);
  });

  test('refuses another value, naming the field', async () => {
    await assert.rejects(async () => {
      const response = await getRun('?items=some');
      if (response.status === 400) throw new Error(bodyOf(response));
    }, /items/);
  });
});
