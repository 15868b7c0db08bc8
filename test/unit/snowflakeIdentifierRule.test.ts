/**
 * One identifier rule for definition validation and the COPY INTO builder: what the validator
 * accepts, the builder builds; what the builder would refuse at run time is refused when the
 * definition loads, with a message naming the field (issue 11, item 7). The hostile-identifier
 * cases of the builder itself stay in copyInto.test.ts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import seed from '../../src/pipelines/definitions/data-pipeline';
import { copyIntoSchema, type PipelineInput } from '../../src/pipelines/schema';
import { validatePipeline } from '../../src/pipelines/validate';
import { buildCopyInto, UnsafeSqlInputError } from '../../src/steps/snowflake/copyInto';
import { random } from '../support/random';

const LOAD = 'data-pipeline.steps[1].statement.copyInto';

/** The seed with its load step's copyInto fields patched. */
function seedWithCopyInto(patch: Record<string, unknown>): PipelineInput {
  return {
    ...seed,
    steps: seed.steps.map((step) => (step.id === 'load' && step.kind === 'snowflake' && 'copyInto' in step.statement ? { ...step, statement: { copyInto: { ...step.statement.copyInto, ...patch } } } : step)),
  };
}

function problemsOf(input: PipelineInput): { path: string; message: string }[] {
  const result = validatePipeline(input);
  return result.ok ? [] : result.problems;
}

const baseSpec = { table: 'ma_table_destination', stage: 'mon_stage_azure', path: 'chemin/vers/fichiers', fileFormat: { type: 'JSON' }, onError: 'CONTINUE' };

describe('identifiers the COPY INTO builder refuses are refused at validation', () => {
  const cases: { what: string; patch: Record<string, unknown>; field: string; character: string }[] = [
    { what: 'a right-to-left override in a quoted table name', patch: { table: '"\u202etable"' }, field: 'table', character: 'U+202E' },
    { what: 'a zero-width space in a quoted stage name', patch: { stage: '"ta\u200bble"' }, field: 'stage', character: 'U+200B' },
    { what: 'a newline in a pattern', patch: { pattern: '.*\n--x' }, field: 'pattern', character: 'U+000A' },
    { what: 'a right-to-left override in a format option value', patch: { fileFormat: { type: 'CSV', options: { NULL_IF: 'a\u202eb' } } }, field: 'fileFormat.options.NULL_IF', character: 'U+202E' },
    { what: 'a zero-width space in a file format name', patch: { fileFormat: { name: 'db."fmt\u200b"' } }, field: 'fileFormat.name', character: 'U+200B' },
  ];
  for (const c of cases) {
    test(`${c.what}: refused naming the field and the character`, () => {
      const problems = problemsOf(seedWithCopyInto(c.patch));
      assert.equal(problems.length, 1, JSON.stringify(problems));
      assert.equal(problems[0]?.path, `${LOAD}.${c.field}`);
      assert.ok(problems[0]?.message.includes(c.character), problems[0]?.message);
      // And the builder, reached by another road, refuses the same thing.
      assert.throws(() => buildCopyInto({ ...copyIntoSchema.parse(baseSpec), ...c.patch }), UnsafeSqlInputError);
    });
  }
});


/** Pieces of identifiers, plain and hostile: letters, quotes, dots, SQL punctuation, look-alikes, controls, invisibles. */
const FRAGMENTS = ['a', 'Z', '_', '$', '7', 'tbl', '"', '""', '.', ' ', 'é', 'Ω', 'а', 'ｍ', "'", ';', '--', '/*', '//', '\\', '(', ')', '\n', '\r', '\t', '\u0000', '\u007f', '\u0085', '\u200b', '\u200e', '\u2028', '\u202e', '\u2066', '\ufeff', '😀'];

function* generatedIdentifiers(): Generator<string> {
  // Every sequence of up to two fragments, bare and quoted…
  for (const a of FRAGMENTS) {
    yield a;
    for (const b of FRAGMENTS) {
      yield a + b;
      yield `"${a}${b}"`;
      yield `${a}.x${b}`;
    }
  }
  // …every fragment inside quotes and in each part of a qualified name…
  for (const f of FRAGMENTS) {
    yield `"${f}"`;
    yield `"x${f}y"`;
    yield `db."${f}".t`;
    yield `db.s."t${f}"`;
  }
  // …and longer random mixes, including at the 255-character limit.
  const next = random(20261129);
  for (let i = 0; i < 3000; i++) {
    const length = 1 + Math.floor(next() * 12);
    let name = '';
    for (let j = 0; j < length; j++) name += FRAGMENTS[Math.floor(next() * FRAGMENTS.length)] ?? '';
    yield name;
  }
  yield 'a'.repeat(255);
  yield 'a'.repeat(256);
  yield `"${'b'.repeat(255)}"`;
  yield `"${'b'.repeat(256)}"`;
}

describe('whatever validates, builds', () => {
  test('every generated identifier the schema accepts as table, stage or file format name builds into a statement', () => {
    let accepted = 0;
    let rejected = 0;
    for (const name of generatedIdentifiers()) {
      for (const patch of [{ table: name }, { stage: name }, { fileFormat: { name } }]) {
        const parsed = copyIntoSchema.safeParse({ ...baseSpec, ...patch });
        if (!parsed.success) {
          rejected++;
          continue;
        }
        accepted++;
        assert.doesNotThrow(() => buildCopyInto(parsed.data), `accepted but not built: ${JSON.stringify(patch)}`);
      }
    }
    // The set exercises both sides of the rule.
    assert.ok(accepted > 1000 && rejected > 1000, `accepted ${accepted}, rejected ${rejected}`);
  });

  test('every generated pattern and format option value the schema accepts builds into a statement', () => {
    let accepted = 0;
    for (const text of generatedIdentifiers()) {
      for (const patch of [{ pattern: text }, { fileFormat: { type: 'CSV', options: { NULL_IF: text } } }]) {
        const parsed = copyIntoSchema.safeParse({ ...baseSpec, ...patch });
        if (!parsed.success) continue;
        accepted++;
        assert.doesNotThrow(() => buildCopyInto(parsed.data), `accepted but not built: ${JSON.stringify(patch)}`);
      }
    }
    assert.ok(accepted > 1000, `accepted ${accepted}`);
  });
});
