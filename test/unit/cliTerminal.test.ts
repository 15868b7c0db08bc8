/** What the CLI prints of server text: controls shown, never obeyed; one record per line; JSON unchanged in meaning. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { table } from '../../src/cli/table';
import { keepingLines, oneLine } from '../../src/core/visibleText';

const HOSTILE = 'a\u001b]0;title\u0007b\u001b[2Kc\u009b31md\u202eevil\u202ce\u200bf\r';

test('ESC, OSC, BEL, C1, bidi and zero-width characters are printed as visible escapes', () => {
  assert.equal(keepingLines(HOSTILE), 'a\\u001b]0;title\\u0007b\\u001b[2Kc\\u009b31md\\u202eevil\\u202ce\\u200bf\\r');
  assert.equal(keepingLines('line one\n\tline two'), 'line one\n\tline two', 'the CLI\'s own newlines and tabs stay');
  assert.equal(oneLine('msg\nforged\tline'), 'msg\\nforged\\tline');
});

test('escaping JSON output keeps it valid and equal', () => {
  const data = { message: HOSTILE, metric: { 'rows\nloaded': 5 } };
  assert.deepEqual(JSON.parse(keepingLines(JSON.stringify(data, null, 2))), data);
});

test('a cell with a newline or escape does not break the table', () => {
  const out = table(['STEP', 'METRICS'], [['load', 'rows\nLOADED  forged=5'], ['export', '\u001b[31mred']]);
  const lines = out.split('\n');
  assert.equal(lines.length, 4);
  assert.match(lines[2] ?? '', /^load {4}rows\\nLOADED {2}forged=5$/);
  assert.match(lines[3] ?? '', /^export {2}\\u001b\[31mred$/);
});
