/**
 * Red-team pass 2, F13: the Snowflake stand-in reads the stage location of a COPY INTO as Snowflake
 * does. The app quotes a location that needs it (`'@stage/path'`, `''` for a quote, `\\` for a
 * backslash); the stand-in read it only up to the first quote, so a day of `';DROP TABLE t;--`
 * loaded the whole stage root. Each location here is rendered by the app's own builder.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyIntoSchema } from '../../src/pipelines/schema';
import { buildCopyInto } from '../../src/steps/snowflake/copyInto';
import { dayFolderOf, demoStageFiles, stageLocationOf } from '../../src/standins/snowflake/demoStage';

const base = copyIntoSchema.parse({ table: 'ma_table_destination', stage: 'mon_stage_azure', path: 'chemin/vers/fichiers', fileFormat: { type: 'JSON' }, onError: 'CONTINUE' });
// The path as the load step fills it in at run time (the `day` parameter substituted), then quoted by the builder.
const statement = (path: string): string => buildCopyInto({ ...base, path });

describe('the stand-in reads quoted stage locations as Snowflake does', () => {
  test('a quoted day is read whole, quotes and backslashes unescaped: such a folder holds no file', () => {
    for (const day of ["';DROP TABLE t;--", "a'b", 'a\\b', "x\\' PURGE = TRUE --", 'a b']) {
      const sql = statement(`chemin/vers/fichiers/${day}`);
      assert.match(sql, /FROM '@mon_stage_azure\//, `the app quotes this location: ${sql}`);
      assert.equal(stageLocationOf(sql), `@mon_stage_azure/chemin/vers/fichiers/${day}`, sql);
      assert.equal(dayFolderOf(sql), day, sql);
      assert.deepEqual(demoStageFiles(dayFolderOf(sql) ?? ''), [], sql);
    }
  });

  test('plain locations: a day folder, and the folder itself (no day)', () => {
    assert.equal(dayFolderOf(statement('chemin/vers/fichiers/2026-11-27')), '2026-11-27');
    assert.equal(demoStageFiles('2026-11-27').length, 2);
    assert.equal(dayFolderOf(statement('chemin/vers/fichiers')), undefined);
  });
});
