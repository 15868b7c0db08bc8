/**
 * Our estimate against the independent model (bench/cost/independentModel.mjs: public sources
 * only, written without access to src/cost): the shipped defaults and the ten-pipeline workload
 * stay within ±20 % of it. `npm run bench -- cost` prints both line by line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sideBySide } from '../../bench/cost/compareModels';

test('the shipped defaults and ten pipelines cost within ±20 % of the independent model', async () => {
  for (const s of await sideBySide()) {
    const ratio = s.ours / s.theirs;
    assert.ok(ratio >= 0.8 && ratio <= 1.2, `${s.workload}: ours €${s.ours.toFixed(2)} vs independent €${s.theirs.toFixed(2)} (ratio ${ratio.toFixed(2)})`);
  }
});
