import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { summarizeCopyInto, copyMetrics, isCopyIntoResult } from '../../src/steps/snowflake/copyResult';

void describe('COPY INTO result', () => {
  void test('nothing new to load reads as zero files, not as an error', () => {
    const rows = [{ status: 'Copy executed with 0 files processed.' }];
    assert.equal(isCopyIntoResult(rows), false);
    assert.deepEqual(copyMetrics(summarizeCopyInto(rows)), {
      filesLoaded: 0, filesPartiallyLoaded: 0, filesFailed: 0, rowsParsed: 0, rowsLoaded: 0, errorsSeen: 0, firstError: null,
    });
  });

  void test('upper-case column names, text counts and skipped files are read too', () => {
    const rows = [
      { FILE: 's3://b/a.csv', STATUS: 'loaded', ROWS_PARSED: '10', ROWS_LOADED: '10', ERRORS_SEEN: '0', FIRST_ERROR: null },
      { FILE: 's3://b/b.csv', STATUS: 'LOAD_SKIPPED', ROWS_PARSED: 4, ROWS_LOADED: 0, ERRORS_SEEN: 4, FIRST_ERROR: 'Numeric value \'x\' is not recognized', FIRST_ERROR_LINE: 2 },
    ];
    assert.equal(isCopyIntoResult(rows), true);
    const summary = summarizeCopyInto(rows);
    assert.deepEqual([summary.filesLoaded, summary.filesFailed, summary.rowsParsed, summary.rowsLoaded, summary.errorsSeen], [1, 1, 14, 10, 4]);
    assert.equal(summary.firstError, "s3://b/b.csv line 2: Numeric value 'x' is not recognized");
  });

  void test('a very long first error is cut to a bounded size', () => {
    const summary = summarizeCopyInto([{ file: 'f', status: 'LOAD_FAILED', rows_parsed: 1, rows_loaded: 0, errors_seen: 1, first_error: 'x'.repeat(5000) }]);
    assert.ok(summary.firstError !== null && summary.firstError.length <= 500);
  });
});
