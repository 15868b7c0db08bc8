import { test } from 'node:test';
import assert from 'node:assert/strict';
import { previewSchedule } from '../../src/scheduler/preview';
import { validatePipeline } from '../../src/pipelines/validate';
import dataPipeline from '../../src/pipelines/definitions/data-pipeline';

const seed = validatePipeline(dataPipeline);
assert.ok(seed.ok);
const schedule = (name: string) => {
  const s = seed.ok ? seed.pipeline.schedules.find((x) => x.name === name) : undefined;
  assert.ok(s, name);
  return s;
};

void test('production-daily across the spring change prints the JSON the CLI promises, the gap marked', () => {
  const preview = previewSchedule(schedule('production-daily'), { from: new Date('2026-03-27T12:00:00Z'), count: 4 });
  assert.equal(
    JSON.stringify(preview),
    JSON.stringify([
      { utc: '2026-03-28T01:00:00Z', local: '2026-03-28T02:00:00+01:00', dst: null },
      { utc: '2026-03-29T01:00:00Z', local: '2026-03-29T03:00:00+02:00', dst: 'gap' },
      { utc: '2026-03-30T00:00:00Z', local: '2026-03-30T02:00:00+02:00', dst: null },
      { utc: '2026-03-31T00:00:00Z', local: '2026-03-31T02:00:00+02:00', dst: null },
    ]),
  );
});

void test('production-daily across the autumn change runs once on 2026-10-25, marked overlap', () => {
  const preview = previewSchedule(schedule('production-daily'), { from: new Date('2026-10-24T12:00:00Z'), count: 2 });
  assert.deepEqual(preview, [
    { utc: '2026-10-25T00:00:00Z', local: '2026-10-25T02:00:00+02:00', dst: 'overlap' },
    { utc: '2026-10-26T01:00:00Z', local: '2026-10-26T02:00:00+01:00', dst: null },
  ]);
});

void test('test-hourly (UTC) lists the next hours with +00:00 and no DST marks', () => {
  const preview = previewSchedule(schedule('test-hourly'), { from: new Date('2026-03-29T00:30:00Z'), count: 3 });
  assert.deepEqual(preview, [
    { utc: '2026-03-29T01:00:00Z', local: '2026-03-29T01:00:00+00:00', dst: null },
    { utc: '2026-03-29T02:00:00Z', local: '2026-03-29T02:00:00+00:00', dst: null },
    { utc: '2026-03-29T03:00:00Z', local: '2026-03-29T03:00:00+00:00', dst: null },
  ]);
});

void test('every entry has exactly utc, local and dst; utc is an ISO instant equal to local', () => {
  const preview = previewSchedule({ cron: '0 * * * *', timezone: 'Europe/Paris', dst: { gap: 'next', overlap: 'first' } }, { from: new Date('2026-10-24T22:30:00Z'), count: 5 });
  assert.equal(preview.length, 5);
  for (const p of preview) {
    assert.deepEqual(Object.keys(p), ['utc', 'local', 'dst']);
    assert.match(p.utc, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.match(p.local, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/);
    assert.equal(Date.parse(p.utc), Date.parse(p.local));
  }
  assert.deepEqual(preview.map((p) => p.dst), [null, 'overlap', 'overlap', null, null]);
});

void test('without from, the preview starts now', () => {
  const before = Date.now();
  const [first] = previewSchedule(schedule('test-hourly'), { count: 1 });
  assert.ok(first);
  const at = Date.parse(first.utc);
  assert.ok(at > before - 1000 && at <= before + 3_600_000);
});

void test('a count out of range or a bad from date is refused', () => {
  const s = schedule('test-hourly');
  assert.throws(() => previewSchedule(s, { count: 0 }), RangeError);
  assert.throws(() => previewSchedule(s, { count: 1.5 }), RangeError);
  assert.throws(() => previewSchedule(s, { count: 100_000 }), RangeError);
  assert.throws(() => previewSchedule(s, { from: new Date('nope'), count: 1 }), RangeError);
});
