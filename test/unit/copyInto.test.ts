import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCopyInto, UnsafeSqlInputError } from '../../src/steps/snowflake/copyInto';
import { copyIntoSchema, pipelineSchema, type CopyIntoSpec } from '../../src/pipelines/schema';
import seed from '../../src/pipelines/definitions/data-pipeline';
import { statementOf } from '../../src/steps/snowflake/adapter';
import type { RunValues } from '../../src/pipelines/runValues';

/**
 * An independent reading of Snowflake's lexical rules, enough to tell whether a text is one
 * statement with no comment in it: string literals ('…' with '' and backslash escapes), quoted
 * identifiers ("…" with ""), comments (--, //, /* … *\/), $$ strings and the `;` separator.
 */
function lex(sql: string): { tokens: string[]; problems: string[] } {
  const tokens: string[] = [];
  const problems: string[] = [];
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i]!;
    const two = sql.slice(i, i + 2);
    if (/\s/.test(ch)) {
      i += 1;
    } else if (two === '--' || two === '//' || two === '/*') {
      problems.push(`comment at ${i}`);
      i += 2;
    } else if (two === '$$') {
      problems.push(`dollar-quoted string at ${i}`);
      i += 2;
    } else if (ch === ';') {
      problems.push(`statement separator at ${i}`);
      i += 1;
    } else if (ch === "'") {
      let j = i + 1;
      let closed = false;
      while (j < sql.length) {
        if (sql[j] === '\\') j += 2;
        else if (sql[j] === "'" && sql[j + 1] === "'") j += 2;
        else if (sql[j] === "'") {
          closed = true;
          break;
        } else j += 1;
      }
      if (!closed) problems.push(`unterminated literal at ${i}`);
      tokens.push(sql.slice(i, j + 1));
      i = j + 1;
    } else if (ch === '"') {
      let j = i + 1;
      let closed = false;
      while (j < sql.length) {
        if (sql[j] === '"' && sql[j + 1] === '"') j += 2;
        else if (sql[j] === '"') {
          closed = true;
          break;
        } else j += 1;
      }
      if (!closed) problems.push(`unterminated quoted identifier at ${i}`);
      tokens.push(sql.slice(i, j + 1));
      i = j + 1;
    } else if (ch === '(' || ch === ')' || ch === '=') {
      tokens.push(ch);
      i += 1;
    } else {
      // A bare word, which may continue into a quoted part (db."x".t, @stage/"a"): read to a delimiter.
      let j = i;
      while (j < sql.length && !/[\s;'()=]/.test(sql[j]!)) {
        if (sql.slice(j, j + 2) === '--' || sql.slice(j, j + 2) === '//' || sql.slice(j, j + 2) === '/*') break;
        if (sql[j] === '"') {
          j += 1;
          while (j < sql.length && !(sql[j] === '"' && sql[j + 1] !== '"')) j += sql[j] === '"' ? 2 : 1;
        }
        j += 1;
      }
      tokens.push(sql.slice(i, j));
      i = j;
    }
  }
  return { tokens, problems };
}

/** Bare words of the statement (keywords and unquoted names), literals and quoted names left out. */
function bareWords(tokens: string[]): string[] {
  return tokens.filter((t) => /^[A-Za-z_]/.test(t));
}

const base: CopyIntoSpec = copyIntoSchema.parse({
  table: 'ma_table_destination',
  stage: 'mon_stage_azure',
  path: 'chemin/vers/fichiers',
  fileFormat: { type: 'JSON' },
  onError: 'CONTINUE',
});

function expectSafe(sql: string, context: string): void {
  const { tokens, problems } = lex(sql);
  assert.deepEqual(problems, [], `${context}: ${sql}`);
  // No keyword was smuggled in: the bare words are exactly the statement's own (plus plain names).
  const words = bareWords(tokens).filter((w) => /^[A-Z_]+$/.test(w));
  for (const word of words) {
    assert.ok(['COPY', 'INTO', 'FROM', 'FILE_FORMAT', 'TYPE', 'ON_ERROR', 'PATTERN', 'PURGE', 'TRUE', 'FALSE', 'FORCE', 'MATCH_BY_COLUMN_NAME', 'CASE_INSENSITIVE', 'CASE_SENSITIVE', 'NONE', 'FORMAT_NAME', 'SKIP_HEADER', 'STRIP_OUTER_ARRAY', 'FIELD_DELIMITER', 'NULL_IF'].includes(word) || /^[a-z_]/i.test(word), `${context}: unexpected word ${word} in ${sql}`);
  }
  assert.ok(!/\bDROP\b|\bDELETE\b|\bGRANT\b/.test(bareWords(tokens).join(' ')), `${context}: ${sql}`);
}

/** Through the schema (what a definition can hold), then the builder: rejected, or safe SQL. */
function acceptedOrRejected(patch: Record<string, unknown>): string {
  const parsed = copyIntoSchema.safeParse({ ...base, ...patch });
  if (!parsed.success) return 'rejected';
  try {
    return buildCopyInto(parsed.data);
  } catch (error) {
    assert.ok(error instanceof UnsafeSqlInputError, String(error));
    return 'rejected';
  }
}

/** Straight into the builder, as if the schema had been bypassed: refused, or safe SQL. */
function builderAlone(patch: Partial<CopyIntoSpec>): string {
  try {
    return buildCopyInto({ ...base, ...patch });
  } catch (error) {
    assert.ok(error instanceof UnsafeSqlInputError, String(error));
    return 'rejected';
  }
}

const HOSTILE_IDENTIFIERS = [
  'x; DROP TABLE y',
  'x;',
  'x--',
  'x -- comment',
  'x/*c*/',
  'x//c',
  '"x"; DROP TABLE y; --"',
  '"ab""; DROP TABLE t; --"',
  '"x" ; DROP TABLE y',
  'my table',
  '"x\'; DROP TABLE t; --"',
  "x'y",
  'ｍａ_table', // fullwidth letters
  'mа_table', // Cyrillic а
  '"mа_table"',
  'x\nDROP TABLE t',
  '"x\nDROP TABLE t"',
  '"x\r"',
  'x\\y',
  '"x\\"',
  '"\u202etable"', // right-to-left override
  '"ta\u200bble"', // zero-width space
  'db.sch.t.extra',
  '',
  '""',
  '"x" y',
  'x"',
  '"x',
  '$x',
  '1x',
];

void describe('COPY INTO builder', () => {
  void test("the seed pipeline's load step renders the statement of the Prefect flow", () => {
    const pipeline = pipelineSchema.parse(seed);
    const load = pipeline.steps.find((s) => s.id === 'load');
    assert.ok(load && load.kind === 'snowflake' && 'copyInto' in load.statement);
    // `day` defaults to empty: the whole folder, as the Prefect flow loaded it.
    const expected = "COPY INTO ma_table_destination FROM @mon_stage_azure/chemin/vers/fichiers/ FILE_FORMAT = (TYPE = 'JSON') ON_ERROR = 'CONTINUE'";
    const squash = (s: string) => s.replace(/\s+/g, ' ').replace(/\(\s+/g, '(').replace(/\s+\)/g, ')').trim();
    assert.equal(squash(statementOf(load, { runId: 'r', parameters: { day: '' }, trigger: {} }).sqlText), squash(expected));
    assert.match(statementOf(load, { runId: 'r', parameters: { day: '2026-11-27' }, trigger: {} }).sqlText, / FROM @mon_stage_azure\/chemin\/vers\/fichiers\/2026-11-27 /);
  });

  for (const field of ['table', 'stage'] as const) {
    void test(`hostile ${field} names are rejected by the schema or quoted into one safe statement`, () => {
      for (const name of HOSTILE_IDENTIFIERS) {
        for (const result of [acceptedOrRejected({ [field]: name }), builderAlone({ [field]: name })]) {
          if (result === 'rejected') continue;
          expectSafe(result, `${field} ${JSON.stringify(name)}`);
        }
      }
    });
  }

  void test('a quoted name the schema accepts stays quoted, with its case and spaces', () => {
    const sql = acceptedOrRejected({ table: 'raw."Ma Table"', stage: '"Stage Été"' });
    assert.notEqual(sql, 'rejected');
    assert.match(sql, /^COPY INTO raw\."Ma Table" FROM @"Stage Été"\/chemin\/vers\/fichiers /);
  });

  void test('look-alike letters never reach the SQL unquoted', () => {
    for (const name of ['ｍａ_table', 'mа_table']) {
      assert.equal(acceptedOrRejected({ table: name }), 'rejected');
      const sql = builderAlone({ table: name });
      if (sql !== 'rejected') assert.ok(sql.startsWith(`COPY INTO "${name}" `), sql);
    }
  });

  void test('stage paths that could open a comment or a literal are quoted or rejected', () => {
    for (const path of ["a'b", 'a;b', 'a--b', 'a//b', 'a/*b', 'a b', '../..', 'a\\b', 'a\nb', "x'; DROP TABLE t; --", '--', '//']) {
      for (const result of [acceptedOrRejected({ path }), builderAlone({ path })]) {
        if (result === 'rejected') continue;
        expectSafe(result, `path ${JSON.stringify(path)}`);
      }
    }
    // Allowed by the schema but a comment in Snowflake when unquoted: the location becomes a literal.
    assert.match(acceptedOrRejected({ path: 'a--b' }), / FROM '@mon_stage_azure\/a--b' /);
    assert.match(acceptedOrRejected({ path: 'a//b' }), / FROM '@mon_stage_azure\/a\/\/b' /);
  });

  void test('PATTERN and format option values are escaped literals', () => {
    for (const pattern of ["'.*'; DROP TABLE t; --", '.*\\.json', "a'b\\", 'x\n--y', '.*/*.csv', "\\'; DROP TABLE t; --"]) {
      const result = acceptedOrRejected({ pattern });
      if (result !== 'rejected') expectSafe(result, `pattern ${JSON.stringify(pattern)}`);
    }
    assert.match(acceptedOrRejected({ pattern: ".*\\.json'" }), / PATTERN = '\.\*\\\\\.json''' /);

    const withOptions = acceptedOrRejected({ fileFormat: { type: 'CSV', options: { FIELD_DELIMITER: "'; DROP TABLE t; --", SKIP_HEADER: 1, NULL_IF: 'a\\' } } });
    expectSafe(withOptions, 'format options');
    assert.match(withOptions, /FILE_FORMAT = \(TYPE = 'CSV' FIELD_DELIMITER = '''; DROP TABLE t; --' SKIP_HEADER = 1 NULL_IF = 'a\\\\'\)/);
    assert.equal(acceptedOrRejected({ fileFormat: { type: 'CSV', options: { 'X) ; DROP TABLE t; --': 1 } } }), 'rejected');
    assert.equal(builderAlone({ fileFormat: { type: 'CSV', options: { 'SKIP_HEADER = 1); DROP TABLE t; --': 1 } } }), 'rejected');
    assert.equal(builderAlone({ fileFormat: { type: 'CSV', options: { SKIP_HEADER: Number.NaN } } }), 'rejected');
  });

  void test('ON_ERROR, MATCH_BY_COLUMN_NAME and the format type accept only their keywords', () => {
    assert.equal(acceptedOrRejected({ onError: "CONTINUE'; DROP TABLE t; --" }), 'rejected');
    assert.equal(builderAlone({ onError: "CONTINUE'; DROP TABLE t; --" }), 'rejected');
    assert.equal(builderAlone({ matchByColumnName: 'NONE; DROP TABLE t' as 'NONE' }), 'rejected');
    assert.equal(builderAlone({ fileFormat: { type: "JSON'); DROP TABLE t; --" as 'JSON', options: {} } }), 'rejected');
  });

  void test('every option renders in Snowflake order', () => {
    const sql = acceptedOrRejected({
      path: 'in/2024-01-01',
      pattern: '.*[.]json',
      fileFormat: { name: 'fmt.json_fmt' },
      onError: 'SKIP_FILE_10%',
      purge: true,
      matchByColumnName: 'CASE_INSENSITIVE',
      force: true,
    });
    assert.equal(
      sql,
      "COPY INTO ma_table_destination FROM @mon_stage_azure/in/2024-01-01 PATTERN = '.*[.]json' FILE_FORMAT = (FORMAT_NAME = 'fmt.json_fmt') ON_ERROR = 'SKIP_FILE_10%' PURGE = TRUE MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE FORCE = TRUE",
    );
  });
});

/** Parameter values a user (or a compromised caller) could send with `run --param day=…`. */
const HOSTILE_VALUES = [
  "a'b",
  "x'; DROP TABLE t; --",
  "\\'; DROP TABLE t; --",
  'a\\b',
  'a\\',
  'a;b',
  'a\nDROP TABLE t',
  'a\r\nb',
  '$$; DROP TABLE t; $$',
  'a--b',
  'a//b',
  'a/*b',
  'Été/日本/ü',
  '\u202eevil',
  'a\u0000b',
  '{run.id}',
  ' ',
];

void describe('parameter values in a COPY INTO statement', () => {
  const pipeline = pipelineSchema.parse(seed);
  const load = pipeline.steps.find((s) => s.id === 'load');
  assert.ok(load && load.kind === 'snowflake');
  const sqlStep = { ...load, statement: { sql: 'SELECT COUNT(*) FROM ma_table_destination WHERE day = ? AND run = ?', binds: [{ param: 'day' }, '{run.id}'] } };
  const values = (day: string): RunValues => ({ runId: 'run-1', parameters: { day }, trigger: {} });

  void test('hostile values in the stage path are quoted into one safe statement, or refused', () => {
    for (const day of HOSTILE_VALUES) {
      let sql: string;
      try {
        sql = statementOf(load, values(day)).sqlText;
      } catch (error) {
        assert.ok(error instanceof UnsafeSqlInputError, `${JSON.stringify(day)}: ${String(error)}`);
        continue;
      }
      expectSafe(sql, `day ${JSON.stringify(day)}`);
      // The location is one token: the whole value stayed inside it.
      assert.ok(sql.includes(' FROM @mon_stage_azure/chemin/vers/fichiers/') || sql.includes(" FROM '@mon_stage_azure/chemin/vers/fichiers/"), sql);
    }
  });

  void test("quotes and backslashes are doubled per Snowflake's string-literal rules; line breaks and invisible characters are refused", () => {
    const from = (day: string) => /FROM (\S+|'(?:[^'\\]|''|\\.)*') FILE_FORMAT/.exec(statementOf(load, values(day)).sqlText)?.[1];
    assert.equal(from("x'; DROP TABLE t; --"), "'@mon_stage_azure/chemin/vers/fichiers/x''; DROP TABLE t; --'");
    assert.equal(from('a\\b'), "'@mon_stage_azure/chemin/vers/fichiers/a\\\\b'");
    assert.equal(from('$$; DROP TABLE t; $$'), "'@mon_stage_azure/chemin/vers/fichiers/$$; DROP TABLE t; $$'");
    assert.equal(from('Été/日本/ü'), "'@mon_stage_azure/chemin/vers/fichiers/Été/日本/ü'");
    for (const day of ['a\nDROP TABLE t', 'a\r\nb', '\u202eevil', 'a\u0000b']) assert.throws(() => statementOf(load, values(day)), UnsafeSqlInputError, JSON.stringify(day));
  });

  void test('values given to SQL statements travel as binds; the SQL text stays as written', () => {
    for (const day of HOSTILE_VALUES) {
      const { sqlText, binds } = statementOf(sqlStep, values(day));
      assert.equal(sqlText, sqlStep.statement.sql);
      assert.deepEqual(binds, [day, 'run-1']);
    }
  });
});
