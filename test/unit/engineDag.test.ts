import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readySteps, unreachableSteps } from '../../src/engine/dag';
import type { StepStatus } from '../../src/engine/types';

const steps = [
  { id: 'export', dependsOn: [] },
  { id: 'loadA', dependsOn: ['export'] },
  { id: 'loadB', dependsOn: ['export'] },
  { id: 'dbt', dependsOn: ['loadA', 'loadB'] },
  { id: 'report', dependsOn: ['dbt'] },
  { id: 'audit', dependsOn: [] },
];
const statusOf = (map: Record<string, StepStatus>) => (id: string): StepStatus => map[id] ?? 'pending';

describe('DAG scheduling', () => {
  test('roots are ready first, in definition order', () => {
    assert.deepEqual(readySteps(steps, statusOf({})), ['export', 'audit']);
  });
  test('independent steps become ready together once their dependency succeeds', () => {
    assert.deepEqual(readySteps(steps, statusOf({ export: 'succeeded', audit: 'running' })), ['loadA', 'loadB']);
  });
  test('a step waits for all its dependencies; reused steps count as done', () => {
    assert.deepEqual(readySteps(steps, statusOf({ export: 'reused', loadA: 'succeeded', loadB: 'running', audit: 'succeeded' })), []);
    assert.deepEqual(readySteps(steps, statusOf({ export: 'reused', loadA: 'succeeded', loadB: 'reused', audit: 'succeeded' })), ['dbt']);
  });
  test('a failed step makes everything downstream unreachable, transitively, and nothing else', () => {
    assert.deepEqual(unreachableSteps(steps, statusOf({ export: 'succeeded', loadA: 'failed', loadB: 'running' })), ['dbt', 'report']);
    assert.deepEqual(unreachableSteps(steps, statusOf({ export: 'cancelled' })), ['loadA', 'loadB', 'dbt', 'report']);
  });
});
