/** A `date` parameter is a real calendar date, not just four-two-two digits. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveParameters } from '../../src/pipelines/parameters';
import { validatePipeline } from '../../src/pipelines/validate';
import dataPipeline from '../../src/pipelines/definitions/data-pipeline';

// No schedules: a required `day` with none given would make each of them unable to start (validate.ts).
const result = validatePipeline({ ...dataPipeline, schedules: [], parameters: { day: { type: 'date' } } });
assert.ok(result.ok);
const pipeline = result.pipeline;

test('days that do not exist are refused, naming the parameter; real ones (leap day included) pass', () => {
  for (const day of ['2026-02-30', '2025-02-29', '2026-04-31', '2026-13-01', '2026-00-10']) {
    const r = resolveParameters(pipeline, { day });
    assert.equal(r.ok, false, day);
    if (!r.ok) assert.deepEqual(r.problems.map((p) => p.path), ['parameters.day'], day);
  }
  for (const day of ['2024-02-29', '2026-12-31', '2026-02-28']) assert.deepEqual(resolveParameters(pipeline, { day }), { ok: true, parameters: { day } });
});
