import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { validatePipeline, PipelineValidationError } from '../../src/pipelines/validate';
import { loadCatalog } from '../../src/pipelines/catalog';
import dataPipeline from '../../src/pipelines/definitions/data-pipeline';

/** A deep copy of the seed to break one thing at a time. */
type Loose = { name: string; steps: Record<string, unknown>[]; schedules: Record<string, unknown>[]; [key: string]: unknown };
function seed(): Loose {
  return structuredClone(dataPipeline);
}

function problemsOf(input: unknown): string[] {
  const result = validatePipeline(input);
  assert.equal(result.ok, false, 'expected the definition to be refused');
  return result.ok ? [] : result.problems.map((p) => `${p.path}: ${p.message}`);
}

function assertProblem(input: unknown, path: string, pattern: RegExp): void {
  const problems = problemsOf(input);
  const match = problems.find((p) => p.startsWith(`${path}: `) && pattern.test(p));
  assert.ok(match, `expected a problem at ${path} matching ${pattern}, got:\n  ${problems.join('\n  ')}`);
}

describe('pipeline validation reports each problem at its path', () => {
  test('unknown step kind', () => {
    const p = seed();
    p.steps[1]!['kind'] = 'spark';
    assertProblem(p, 'data-pipeline.steps[1].kind', /Invalid discriminator|expected/i);
  });

  test('duplicate step ids', () => {
    const p = seed();
    p.steps[2]!['id'] = 'export';
    assertProblem(p, 'data-pipeline.steps[2].id', /duplicate step id "export" \(also steps\[0\]\)/);
  });

  test('unknown dependsOn', () => {
    const p = seed();
    p.steps[2]!['dependsOn'] = ['load', 'lod'];
    assertProblem(p, 'data-pipeline.steps[2].dependsOn[1]', /unknown step "lod"/);
  });

  test('dependency cycle', () => {
    const p = seed();
    p.steps[0]!['dependsOn'] = ['transform'];
    assertProblem(p, 'data-pipeline.steps[0].dependsOn', /dependency cycle: export → transform → load → export|dependency cycle/);
  });

  test('step depending on itself', () => {
    const p = seed();
    p.steps[0]!['dependsOn'] = ['export'];
    assertProblem(p, 'data-pipeline.steps[0].dependsOn[0]', /depends on itself/);
  });

  test('invalid cron: out-of-range value and wrong field count', () => {
    const p = seed();
    p.schedules[0]!['cron'] = '61 2 * * *';
    p.schedules[1]!['cron'] = '0 2 * *';
    assertProblem(p, 'data-pipeline.schedules[0].cron', /invalid cron "61 2 \* \* \*"/);
    assertProblem(p, 'data-pipeline.schedules[1].cron', /cron must have 5 fields \(minute hour day month weekday\); "0 2 \* \*" has 4$/);
  });

  test('unknown time zone', () => {
    const p = seed();
    p.schedules[0]!['timezone'] = 'Europe/Pariss';
    assertProblem(p, 'data-pipeline.schedules[0].timezone', /: unknown IANA time zone "Europe\/Pariss" \(names like "Europe\/Paris" or "UTC"\)$/);
  });

  test('pipelineRetry.retryPermanent: off unless asked, and only a boolean', () => {
    const on = validatePipeline({ ...seed(), pipelineRetry: { retries: 1, delay: '5m', retryPermanent: true } });
    assert.ok(on.ok);
    assert.deepEqual(on.pipeline.pipelineRetry, { retries: 1, delay: 300, retryPermanent: true });
    const off = validatePipeline({ ...seed(), pipelineRetry: { retries: 1 } });
    assert.ok(off.ok);
    assert.equal(off.pipeline.pipelineRetry.retryPermanent, false);
    assertProblem({ ...seed(), pipelineRetry: { retries: 1, retryPermanent: 'yes' } }, 'data-pipeline.pipelineRetry.retryPermanent', /expected boolean/);
  });

  test('secret names Key Vault would reject', () => {
    const p = seed();
    (p.steps[0] as { functionKey: unknown }).functionKey = { secret: 'azure_function_key' };
    (p.steps[1] as { connection: { user: unknown } }).connection.user = { secret: 'x'.repeat(128) };
    assertProblem(p, 'data-pipeline.steps[0].functionKey.secret', /Key Vault secret names/);
    assertProblem(p, 'data-pipeline.steps[1].connection.user.secret', /Key Vault secret names/);
  });

  test('Snowflake identifiers that are not identifiers', () => {
    const p = seed();
    const copy = (p.steps[1] as { statement: { copyInto: Record<string, unknown> } }).statement.copyInto;
    copy['table'] = 'ma_table; DROP TABLE users';
    copy['stage'] = '1stage';
    assertProblem(p, 'data-pipeline.steps[1].statement.copyInto.table', /not a valid Snowflake table identifier/);
    assertProblem(p, 'data-pipeline.steps[1].statement.copyInto.stage', /not a valid Snowflake stage identifier/);
  });

  test('bad duration in a delay list', () => {
    const p = seed();
    p.steps[1]!['retry'] = { attempts: 3, delays: ['2 minutes'] };
    assertProblem(p, 'data-pipeline.steps[1].retry.delays[0]', /not a duration: "2 minutes"/);
  });

  test('every problem at once, field and graph rules together', () => {
    const p = seed();
    p.steps[1]!['kind'] = 'spark';
    p.steps[2]!['id'] = 'export';
    p.schedules[0]!['timezone'] = 'Nowhere/City';
    p.schedules[1]!['cron'] = 'every hour';
    const problems = problemsOf(p);
    assert.ok(problems.some((x) => x.startsWith('data-pipeline.steps[1].kind')));
    assert.ok(problems.some((x) => x.startsWith('data-pipeline.steps[2].id')));
    assert.ok(problems.some((x) => x.startsWith('data-pipeline.schedules[0].timezone')));
    assert.ok(problems.some((x) => x.startsWith('data-pipeline.schedules[1].cron')));
  });

  test('the catalog refuses to load and lists every problem of every pipeline', () => {
    const a = seed();
    a.schedules[0]!['timezone'] = 'Mars/Olympus';
    const b = { ...seed(), name: 'other' };
    b.steps[0]!['dependsOn'] = ['nope'];
    assert.throws(
      () => loadCatalog([a, b] as never),
      (error: unknown) => {
        assert.ok(error instanceof PipelineValidationError);
        assert.match(error.message, /data-pipeline\.schedules\[0\]\.timezone: unknown IANA time zone/);
        assert.match(error.message, /other\.steps\[0\]\.dependsOn\[0\]: unknown step "nope"/);
        return true;
      },
    );
  });

  test('duplicate pipeline names are refused', () => {
    assert.throws(() => loadCatalog([seed(), seed()] as never), /duplicate pipeline name "data-pipeline"/);
  });

  test('durations accept seconds and 90s / 5m / 2h', () => {
    const p = seed();
    p.steps[0]!['timeout'] = '2h';
    p.steps[1]!['timeout'] = 90;
    p.steps[2]!['retry'] = { attempts: 4, delays: { initial: '90s', factor: 2, max: '5m' } };
    const result = validatePipeline(p);
    assert.ok(result.ok);
    assert.equal(result.pipeline.steps[0]!.timeout, 7200);
    assert.equal(result.pipeline.steps[1]!.timeout, 90);
    assert.deepEqual(result.pipeline.steps[2]!.retry.delays, { initial: 90, factor: 2, max: 300 });
  });
});
