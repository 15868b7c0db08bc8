/**
 * Load-time checks of the pipeline language (docs/pipelines.md): references to upstream results,
 * dependency conditions and `when`, each problem at its path; and the `when` expression form.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { PipelineInput } from '../../src/pipelines/schema';
import { validatePipeline } from '../../src/pipelines/validate';
import { evaluateWhen, parseWhen, type WhenRef } from '../../src/pipelines/when';
import { fillJson, fillTemplate } from '../../src/pipelines/runValues';
import { stepsToRerun } from '../../src/api/routes';

const connection = {
  account: 'acct',
  user: 'u',
  auth: { type: 'workloadIdentity' as const },
  warehouse: 'WH',
  database: 'DB',
  schema: 'RAW',
};

function pipeline(steps: PipelineInput['steps']): PipelineInput {
  return { name: 'etl', title: 'ETL', parameters: { mode: { type: 'string', default: 'full' } }, steps };
}

const exportStep = { id: 'export', kind: 'azureFunction' as const, url: 'https://x.test', output: { object: { folder: 'string', tables: { list: 'string' } } } };
const loadStep = { id: 'load', kind: 'snowflake' as const, dependsOn: ['export'], connection, statement: { copyInto: { table: 'T', stage: 'S', fileFormat: { type: 'JSON' as const } } } };

function problems(input: PipelineInput): string[] {
  const result = validatePipeline(input);
  return result.ok ? [] : result.problems.map((p) => `${p.path}: ${p.message}`);
}

describe('references to upstream results, checked at load', () => {
  test('a valid chain is accepted: a template in the stage path, a metric into an activity input, a when over both', () => {
    assert.deepEqual(
      problems(
        pipeline([
          exportStep,
          { ...loadStep, statement: { copyInto: { ...loadStep.statement.copyInto, path: 'x/{steps.export.output.folder}/' } } },
          { id: 'report', kind: 'activity', activity: 'a', dependsOn: ['load'], when: 'steps.load.metrics.rowsLoaded > 0', input: { rows: { step: 'load', path: 'metrics.rowsLoaded' } } },
        ]),
      ),
      [],
    );
  });

  test('each problem names its path: unknown step, not upstream, missing field, wrong type for a template, a bind', () => {
    const found = problems(
      pipeline([
        exportStep,
        { ...loadStep, statement: { sql: 'select ?, ?', binds: [{ step: 'export', path: 'output.tables' }, { step: 'lod', path: 'output.x' }] } },
        { id: 'other', kind: 'activity', activity: 'a', input: { x: { step: 'load', path: 'output.rowCount' } } },
        { id: 'typo', kind: 'activity', activity: 'a', dependsOn: ['load'], input: { x: { step: 'load', path: 'output.rowz' } }, when: "steps.export.output.folder == 'a'" },
        { ...loadStep, id: 'load2', statement: { copyInto: { ...loadStep.statement.copyInto, path: 'x/{steps.export.output.tables}' } } },
      ]),
    );
    assert.deepEqual(found, [
      'etl.steps[1].statement.binds[0]: steps.export.output.tables is list of string: a bind takes a string, number, boolean or null',
      'etl.steps[1].statement.binds[1]: steps.lod.output.x: unknown step "lod" (steps: export, load, other, typo, load2)',
      'etl.steps[2].input.x: steps.load.output.rowCount: step "load" is not upstream of "other": add it to dependsOn (directly or through another step)',
      'etl.steps[3].input.x: steps.load.output.rowz: no field "rowz" in output (fields: queryId, rowCount, rows) of a snowflake step',
      'etl.steps[4].statement.copyInto.path: steps.export.output.tables is list of string: a text template takes a string, number or boolean',
    ]);
  });

  test('a reference in a field that takes no values is refused (the URL), and a path must start at output or metrics', () => {
    const found = problems(
      pipeline([exportStep, { id: 'b', kind: 'azureFunction', dependsOn: ['export'], url: 'https://x.test/{steps.export.output.folder}', body: { y: { step: 'export', path: 'folder' } } }]),
    );
    assert.ok(found.some((p) => p.startsWith('etl.steps[1].url: "{steps.export.output.folder}": run values are not taken here')), found.join('\n'));
    assert.ok(found.includes('etl.steps[1].body.y: steps.export.folder: a result path starts with output or metrics'), found.join('\n'));
  });
});

describe('dependency conditions and when, checked at load', () => {
  test('a condition on a step that is not a dependency, an unknown condition, a when that does not parse', () => {
    const found = problems(
      pipeline([
        exportStep,
        { ...loadStep, conditions: { transform: 'failed' } },
        { id: 'c', kind: 'activity', activity: 'a', dependsOn: ['load'], conditions: { load: 'finished' as 'failed' } },
        { id: 'd', kind: 'activity', activity: 'a', dependsOn: ['load'], when: 'steps.load.metrics.rowsLoaded >' },
      ]),
    );
    assert.deepEqual(found, [
      'etl.steps[2].conditions.load: Invalid option: expected one of "succeeded"|"failed"|"completed"|"skipped"',
      'etl.steps[3].when: expected a value at column 32, found the end',
      'etl.steps[1].conditions.transform: "transform" is not in this step\'s dependsOn (export): add it there',
    ]);
  });

  test('names in when: unknown parameters and run values, steps not upstream, an ordering against a literal of the other type', () => {
    const found = problems(
      pipeline([
        exportStep,
        loadStep,
        { id: 'e', kind: 'activity', activity: 'a', dependsOn: ['load'], when: "param.day == 'x' or run.today == 1 or steps.load.metrics.rowsLoaded > 'many'" },
        { id: 'f', kind: 'activity', activity: 'a', when: 'steps.load.metrics.rowsLoaded > 1' },
      ]),
    );
    assert.deepEqual(found, [
      'etl.steps[2].when: unknown parameter "day" at column 1 (declared: mode)',
      'etl.steps[2].when: run.today at column 21: unknown run value (one of id, logicalDate, scheduledFor)',
      'etl.steps[2].when: ">" at column 69 compares steps.load.metrics.rowsLoaded (integer) with "many": it orders two numbers or two texts',
      'etl.steps[3].when: steps.load.metrics.rowsLoaded: step "load" is not upstream of "f": add it to dependsOn (directly or through another step) (column 1)',
    ]);
  });
});

describe('the when expression form', () => {
  const values: Record<string, unknown> = { 'param.mode': 'full', 'steps.load.metrics.rowsLoaded': 42, 'steps.export.output.tables': ['a', 'b'], 'param.empty': '' };
  const lookup = (ref: WhenRef): unknown => values[ref.root === 'steps' ? `steps.${ref.stepId}.${ref.path.join('.')}` : `${ref.root}.${ref.name}`];
  const run = (text: string): boolean => {
    const parsed = parseWhen(text);
    if (!parsed.ok) throw new Error(parsed.message);
    return evaluateWhen(parsed.node, lookup);
  };

  test('comparisons, and/or/not with precedence, in / not in, empty, parentheses, lists', () => {
    assert.equal(run("param.mode == 'full'"), true);
    assert.equal(run('steps.load.metrics.rowsLoaded >= 42 and steps.load.metrics.rowsLoaded < 43'), true);
    assert.equal(run("not param.mode == 'full' or true and false"), false, 'not binds tighter than and, and than or');
    assert.equal(run("'a' in steps.export.output.tables and 'c' not in steps.export.output.tables"), true);
    assert.equal(run("param.mode in ['full', 'incremental']"), true);
    assert.equal(run('empty(param.empty) and not empty(steps.export.output.tables)'), true);
    assert.equal(run('empty(steps.unknown.output.x)'), true, 'a value the run does not have is empty');
    assert.equal(run('(1 == 2 or 2 == 2) and -1 < 0'), true);
  });

  test('no code: anything but the grammar is a syntax error with its column', () => {
    for (const [text, message] of [
      ['process.exit(1)', /"process.exit" at column 1 is not a value/],
      ['param.mode = 1', /unexpected "=" at column 12/],
      ['constructor', /"constructor" at column 1 is not a value/],
      ["param.mode == 'x", /unterminated text starting at column 15/],
      ['1 +', /unexpected "\+" at column 3/],
    ] as const) {
      const parsed = parseWhen(text);
      assert.equal(parsed.ok, false, text);
      if (!parsed.ok) assert.match(parsed.message, message);
    }
  });
});

describe('filling upstream values', () => {
  const values = { runId: 'r', parameters: { day: '{steps.a.output.x}' }, trigger: {}, upstream: { 'a.output.x': 'X', 'a.metrics.n': 3 } };
  test('a template takes the text, an object reference the value; a parameter holding placeholder text is not expanded again', () => {
    assert.equal(fillTemplate('p/{steps.a.output.x}/{steps.a.metrics.n}/{param.day}', values), 'p/X/3/{steps.a.output.x}');
    assert.deepEqual(fillJson({ n: { step: 'a', path: 'metrics.n' } }, values), { n: 3 });
    assert.throws(() => fillTemplate('{steps.a.output.y}', values), /steps\.a\.output\.y: the step's result has no such value/);
  });
});

describe('rerun of a run with a forEach step (the API picks what runs again)', () => {
  const checked = validatePipeline({
    name: 'fe',
    title: 'fe',
    parameters: { tables: { type: 'list', default: ['a', 'b', 'c'] } },
    steps: [
      { id: 'load', kind: 'activity', activity: 'a', forEach: { items: { param: 'tables' } } },
      { id: 'after', kind: 'activity', activity: 'a', dependsOn: ['load'] },
    ],
  });
  if (!checked.ok) throw new Error(checked.problems.map((p) => p.message).join('; '));
  const steps = [
    { id: 'load', status: 'failed' },
    { id: 'after', status: 'skipped' },
    { id: 'load[0]', status: 'succeeded' },
    { id: 'load[1]', status: 'failed' },
    { id: 'load[2]', status: 'succeeded' },
  ];
  test('from failed: the step, its failed items and what follows; succeeded items are reused', () => {
    assert.deepEqual([...(stepsToRerun(checked.pipeline, steps, 'failed') as Set<string>)].sort(), ['after', 'load', 'load[1]']);
  });
  test('from the forEach step: every item runs again', () => {
    assert.deepEqual([...(stepsToRerun(checked.pipeline, steps, 'load') as Set<string>)].sort(), ['after', 'load', 'load[0]', 'load[1]', 'load[2]']);
  });
});
