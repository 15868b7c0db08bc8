/**
 * The app's entry point (package.json `main`) refuses a pipeline whose `kind: 'activity'` step names
 * an activity nobody registered — in Azure that run would hang forever (see src/app/activitySteps.ts).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const startApp = (env: Record<string, string>) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'test/support/startWithActivityStep.ts'], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });

describe('app start-up with activity steps', () => {
  test('the entry point (package.json main) refuses to load with the step’s path in its error', () => {
    const refused = startApp({ STEP_ACTIVITY: 'myActivity' });
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /custom-pipeline\.steps\[2\]\.activity: "myActivity" is not a registered activity/);
    assert.doesNotMatch(refused.stdout, /started/);
  });

  test('the entry point loads when the step’s activity is registered', () => {
    const started = startApp({ STEP_ACTIVITY: 'myActivity', REGISTER_ACTIVITY: 'myActivity' });
    assert.equal(started.status, 0, started.stderr);
    assert.match(started.stdout, /started/);
  });
});
