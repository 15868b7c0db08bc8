/**
 * Red-team pass 2, F11: parameters the run store cannot keep whole (one Table property) were
 * accepted, stored as a `{$truncated}` placeholder, and a rerun then started from the placeholder.
 * They are refused at the start: 413 problem+json naming the largest parameter; nothing starts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiDeps } from '../../src/api/ports';
import type { ApiRequest } from '../../src/api/request';
import { createRoutes } from '../../src/api/routes';
import { KEY_CALLER } from '../../src/auth/roles';
import { loadCatalog } from '../../src/pipelines/catalog';
import { MAX_JSON_CHARS } from '../../src/runs/entities';

const catalog = loadCatalog([
  {
    name: 'notes-pipeline',
    title: 'takes a free-text note',
    parameters: { note: { type: 'string', default: '' }, tag: { type: 'string', default: 'x' } },
    steps: [{ id: 'export', kind: 'azureFunction', url: 'https://fn.example/api/export' }],
  },
]);

function start(parameters: Record<string, string>) {
  let starts = 0;
  const deps = {
    catalog,
    now: () => new Date('2026-12-01T00:00:00Z'),
    randomSuffix: () => 'abc123',
    durable: { startNew: () => ((starts += 1), Promise.resolve('started')), getStatus: () => Promise.resolve(undefined) } as unknown as ApiDeps['durable'],
  } as Partial<ApiDeps> as ApiDeps;
  const route = createRoutes(deps).find((r) => r.name === 'startRun');
  assert.ok(route);
  const body = JSON.stringify({ parameters });
  const request: ApiRequest = {
    method: 'POST',
    url: 'https://app.example.net/api/pipelines/notes-pipeline/runs',
    headers: new Headers({ 'content-type': 'application/json' }),
    query: new URLSearchParams(),
    params: { name: 'notes-pipeline' },
    text: () => Promise.resolve(body),
  };
  return { answer: route.handle(request, KEY_CALLER), starts: () => starts };
}

describe('parameters a run cannot keep whole', () => {
  test('are refused at the start, 413 naming the largest parameter; no run starts', async () => {
    const { answer, starts } = start({ note: 'a'.repeat(MAX_JSON_CHARS + 10), tag: 'small' });
    const response = await answer;
    assert.equal(response.status, 413);
    const problem = JSON.parse(typeof response.body === 'string' ? response.body : '{}') as { invalidFields: { field: string; message: string }[] };
    assert.equal(problem.invalidFields[0]?.field, 'body.parameters.note');
    assert.match(problem.invalidFields[0]?.message ?? '', /a run keeps at most 30000/);
    assert.equal(starts(), 0);
  });
});
