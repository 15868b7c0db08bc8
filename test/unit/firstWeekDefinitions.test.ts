/**
 * What a Prefect user writes on their first week (issue 22): retries counted as Prefect counts
 * them, cron mistakes refused with the five-field form suggested, cron macros, and schedules that
 * could never start their pipeline refused when the definition loads — not at every slot.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { validatePipeline } from '../../src/pipelines/validate';
import { resolveParameters, runFactsAt } from '../../src/pipelines/parameters';
import { previewSchedule } from '../../src/scheduler/preview';
import dataPipeline from '../../src/pipelines/definitions/data-pipeline';

type Loose = Record<string, unknown> & { steps: Record<string, unknown>[]; schedules: Record<string, unknown>[] };
const seed = (): Loose => structuredClone(dataPipeline);

function problems(input: unknown): string[] {
  const result = validatePipeline(input);
  return result.ok ? [] : result.problems.map((p) => `${p.path}: ${p.message}`);
}

function valid(input: unknown) {
  const result = validatePipeline(input);
  assert.ok(result.ok, result.ok ? '' : result.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  return result.pipeline;
}

describe('retries, as Prefect counts them', () => {
  test('retries: 3 is four tries in all (Prefect @task(retries=3)), the same as attempts: 4', () => {
    const a = seed();
    a.steps[0]!['retry'] = { retries: 3, delays: '60s' };
    const b = seed();
    b.steps[0]!['retry'] = { attempts: 4, delays: '60s' };
    assert.equal(valid(a).steps[0]?.retry.attempts, 4);
    assert.deepEqual(valid(a).steps[0]?.retry, valid(b).steps[0]?.retry);
  });

  test('retries: 0 is one try; giving both, or neither, is refused with both meanings spelled out', () => {
    const zero = seed();
    zero.steps[0]!['retry'] = { retries: 0 };
    assert.equal(valid(zero).steps[0]?.retry.attempts, 1);
    const both = seed();
    both.steps[0]!['retry'] = { retries: 3, attempts: 3 };
    assert.deepEqual(problems(both), ['data-pipeline.steps[0].retry: give attempts or retries, not both (attempts: 3 counts the first try; retries: 3 does not, as in Prefect: retries: 3 = attempts: 4)']);
    const neither = seed();
    neither.steps[0]!['retry'] = { delays: '60s' };
    assert.match(problems(neither).join('\n'), /^data-pipeline\.steps\[0\]\.retry: say how many times: retries: 3/);
  });

  test('the seed makes the tries of the Prefect flow it replaces: 4, 4 and 3', () => {
    assert.deepEqual(valid(seed()).steps.map((s) => s.retry.attempts), [4, 4, 3]);
  });
});

describe('cron: what it says is what fires', () => {
  const withCron = (cron: string, extra: Record<string, unknown> = {}) => {
    const p = seed();
    p.schedules = [{ name: 'nightly', cron, timezone: 'Europe/Paris', ...extra }];
    return p;
  };

  test('six fields without cronSeconds are refused, with the five-field forms suggested', () => {
    assert.deepEqual(problems(withCron('0 2 * * * *')), [
      'data-pipeline.schedules[0].cron: cron "0 2 * * * *" has 6 fields, which tools read differently (Azure NCRONTAB and croner take the first as seconds, Prefect\'s croniter the last); write 5 fields: "2 * * * *" (the first field read as seconds, as NCRONTAB does) or "0 2 * * *" (the last field one too many); or set cronSeconds: true if the first field really is seconds',
    ]);
  });

  test('six fields with cronSeconds: true fire at those seconds; cronSeconds with five fields is refused', () => {
    const p = valid(withCron('30 0 2 * * *', { cronSeconds: true }));
    assert.equal(previewSchedule(p.schedules[0]!, { from: new Date('2026-11-28T00:00:00Z'), count: 1 })[0]?.utc, '2026-11-28T01:00:30Z');
    assert.match(problems(withCron('0 2 * * *', { cronSeconds: true })).join('\n'), /cronSeconds: true but "0 2 \* \* \*" has 5 fields/);
  });

  test('an expression that never fires is refused', () => {
    assert.deepEqual(problems(withCron('0 2 30 2 *')), ['data-pipeline.schedules[0].cron: cron "0 2 30 2 *" never fires: no date matches its day and month fields (e.g. 30 February)']);
    assert.match(problems(withCron('0 0 31 4,6,9,11 *')).join('\n'), /never fires/);
    // 29 February exists every fourth year: it fires.
    assert.deepEqual(problems(withCron('0 0 29 2 *')), []);
  });

  test('the macros of cron and Prefect (croniter) work and fire when cron says', () => {
    const expected: Record<string, string[]> = {
      '@hourly': ['2026-11-28T00:00:00Z', '2026-11-28T01:00:00Z'],
      '@daily': ['2026-11-28T23:00:00Z', '2026-11-29T23:00:00Z'],
      '@midnight': ['2026-11-28T23:00:00Z', '2026-11-29T23:00:00Z'],
      '@weekly': ['2026-11-28T23:00:00Z', '2026-12-05T23:00:00Z'],
      '@monthly': ['2026-11-30T23:00:00Z', '2026-12-31T23:00:00Z'],
      '@yearly': ['2026-12-31T23:00:00Z', '2027-12-31T23:00:00Z'],
      '@annually': ['2026-12-31T23:00:00Z', '2027-12-31T23:00:00Z'],
    };
    for (const [macro, fires] of Object.entries(expected)) {
      const schedule = valid(withCron(macro)).schedules[0]!;
      // Midnight in Paris (UTC+1 in winter); 2026-11-29 is a Sunday.
      assert.deepEqual(previewSchedule(schedule, { from: new Date('2026-11-27T23:30:00Z'), count: 2 }).map((s) => s.utc), fires, macro);
    }
  });

  test('@reboot and unknown macros are refused, naming the ones that work', () => {
    assert.match(problems(withCron('@reboot')).join('\n'), /@reboot is not a schedule here/);
    assert.match(problems(withCron('@nightly')).join('\n'), /unknown cron macro "@nightly" \(one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly\)/);
  });
});

describe('a schedule must be able to start its pipeline', () => {
  test('a required parameter that no schedule value fills is refused at the schedule, saying how to fix it', () => {
    const p = seed();
    p['parameters'] = { day: { type: 'date' } };
    assert.deepEqual(problems(p), [
      "data-pipeline.schedules[0].parameters.day: required date parameter is missing: this schedule could never start a run; set parameters: { day: … } on the schedule, or give the parameter a default (default: { run: 'logicalDate' } takes the slot's date)",
      "data-pipeline.schedules[1].parameters.day: required date parameter is missing: this schedule could never start a run; set parameters: { day: … } on the schedule, or give the parameter a default (default: { run: 'logicalDate' } takes the slot's date)",
    ]);
    // A schedule that gives the value may start; a value of the wrong shape is refused there too.
    p.schedules[0]!['parameters'] = { day: '2026-11-27' };
    p.schedules[1]!['parameters'] = { day: 'yesterday' };
    assert.deepEqual(problems(p), ['data-pipeline.schedules[1].parameters.day: expected a calendar date as YYYY-MM-DD']);
  });

  test("a date that defaults to the run's logical date takes the slot's UTC date, or the request's", () => {
    const pipeline = valid(seed());
    assert.deepEqual(resolveParameters(pipeline, undefined, {}, runFactsAt('2026-11-28T01:00:00Z')), { ok: true, parameters: { day: '2026-11-28' } });
    assert.deepEqual(resolveParameters(pipeline, { day: '2026-11-27' }, {}, runFactsAt('2026-11-28T01:00:00Z')), { ok: true, parameters: { day: '2026-11-27' } });
    // A malformed day is refused before any work (the API answers 400 naming the field).
    const bad = resolveParameters(pipeline, { day: 'yesterday' }, {}, runFactsAt('2026-11-28T01:00:00Z'));
    assert.deepEqual(bad, { ok: false, problems: [{ path: 'parameters.day', message: 'expected a calendar date as YYYY-MM-DD' }] });
    // Without the run's facts there is no date to take, and it says so.
    assert.deepEqual(resolveParameters(pipeline, undefined), { ok: false, problems: [{ path: 'parameters.day', message: "defaults to the run's logical date, but the run has none" }] });
  });

  test("a date parameter's default is a calendar date or { run: 'logicalDate' }, nothing else", () => {
    const p = seed();
    p['parameters'] = { day: { type: 'date', default: { run: 'id' } } };
    assert.ok(problems(p).some((m) => m.startsWith('data-pipeline.parameters.day.default')), problems(p).join('\n'));
    p['parameters'] = { day: { type: 'date', default: '2026-02-30' } };
    assert.ok(problems(p).some((m) => m.startsWith('data-pipeline.parameters.day.default')), problems(p).join('\n'));
  });
});
