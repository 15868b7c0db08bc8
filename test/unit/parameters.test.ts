import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveParameters } from '../../src/pipelines/parameters';
import { validatePipeline } from '../../src/pipelines/validate';
import dataPipeline from '../../src/pipelines/definitions/data-pipeline';

// No schedules here: with a required `day` they could never start a run (tested below).
const result = validatePipeline({
  ...dataPipeline,
  schedules: [],
  parameters: {
    day: { type: 'date' },
    fullRefresh: { type: 'boolean', default: false },
    mode: { type: 'string', enum: ['append', 'replace'], default: 'append' },
    batch: { type: 'integer', min: 1, max: 10, default: 5 },
  },
});
assert.ok(result.ok);
const pipeline = result.pipeline;

test('defaults fill omitted parameters; schedule overrides sit under the caller', () => {
  const r = resolveParameters(pipeline, { day: '2026-11-26' }, { mode: 'replace', batch: 2 });
  assert.deepEqual(r, { ok: true, parameters: { day: '2026-11-26', fullRefresh: false, mode: 'replace', batch: 2 } });
});

test('a missing required, an unknown name and a wrong type are all reported', () => {
  const r = resolveParameters(pipeline, { dya: '2026-11-26', batch: 11, fullRefresh: 'false' });
  assert.equal(r.ok, false);
  if (r.ok) return;
  const paths = r.problems.map((p) => p.path).sort();
  assert.deepEqual(paths, ['parameters.batch', 'parameters.day', 'parameters.dya', 'parameters.fullRefresh']);
});
