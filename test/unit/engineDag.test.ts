import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { admitWithinLimits, endAwaited, pendingIndex, readySteps, unreachableSteps, type DagStep } from '../../src/engine/dag';
import { validatePipeline } from '../../src/pipelines/validate';
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
    const ids = (found: { id: string }[]) => found.map((u) => u.id);
    assert.deepEqual(ids(unreachableSteps(steps, statusOf({ export: 'succeeded', loadA: 'failed', loadB: 'running' }))), ['dbt', 'report']);
    assert.deepEqual(ids(unreachableSteps(steps, statusOf({ export: 'cancelled' }))), ['loadA', 'loadB', 'dbt', 'report']);
    assert.deepEqual(unreachableSteps(steps, statusOf({ export: 'cancelled' }))[3]?.reason.message, 'dependency "dbt" skipped (waits for succeeded)');
  });
  test('conditions: failed / completed / skipped dependents, and a skip that makes a skipped-dependent ready', () => {
    const handled: DagStep[] = [
      { id: 'load', dependsOn: [] },
      { id: 'dbt', dependsOn: ['load'] },
      { id: 'cleanup', dependsOn: ['load'], conditions: { load: 'completed' as const } },
      { id: 'alert', dependsOn: ['load'], conditions: { load: 'failed' as const } },
      { id: 'noDbt', dependsOn: ['dbt'], conditions: { dbt: 'skipped' as const } },
    ];
    const failed = statusOf({ load: 'failed' });
    assert.deepEqual(unreachableSteps(handled, failed).map((u) => u.id), ['dbt']);
    assert.deepEqual(readySteps(handled, failed), ['cleanup', 'alert']);
    assert.deepEqual(readySteps(handled, statusOf({ load: 'failed', dbt: 'skipped' })), ['cleanup', 'alert', 'noDbt']);
    const ok = statusOf({ load: 'succeeded', dbt: 'succeeded' });
    assert.deepEqual(readySteps(handled, ok), ['cleanup']);
    assert.deepEqual(unreachableSteps(handled, ok).map((u) => u.id), ['alert', 'noDbt']);
  });
});

describe('concurrency limits', () => {
  const wide = [
    { id: 'copyA', group: 'warehouse' },
    { id: 'copyB', group: 'warehouse' },
    { id: 'copyC', group: 'warehouse' },
    { id: 'notify' },
    { id: 'copyD', group: 'warehouse' },
  ];
  test('a group admits at most its maxParallel; steps outside it are not held back', () => {
    const admitted = admitWithinLimits(wide, { concurrencyGroups: { warehouse: { maxParallel: 2 } } });
    assert.deepEqual(admitted.map((s) => s.id), ['copyA', 'copyB', 'notify']);
  });
  test('the pipeline maxParallel caps the whole wave, earlier steps first', () => {
    const admitted = admitWithinLimits(wide, { maxParallel: 3, concurrencyGroups: { warehouse: { maxParallel: 2 } } });
    assert.deepEqual(admitted.map((s) => s.id), ['copyA', 'copyB', 'notify']);
    assert.deepEqual(admitWithinLimits(wide, { maxParallel: 1, concurrencyGroups: {} }).map((s) => s.id), ['copyA']);
  });
  test('a run started before groups existed (no concurrencyGroups in its input) runs unlimited', () => {
    assert.equal(admitWithinLimits(wide, {}).length, wide.length);
  });
  test('a step naming an undeclared group is refused, naming the field', () => {
    const result = validatePipeline({
      name: 'limits',
      title: 'limits',
      concurrencyGroups: { warehouse: { maxParallel: 4 } },
      steps: [
        { id: 'a', kind: 'azureFunction', url: 'https://fn.example/a', group: 'warehouse' },
        { id: 'b', kind: 'azureFunction', url: 'https://fn.example/b', group: 'warehous' },
      ],
    });
    assert.equal(result.ok, false);
    assert.ok(!result.ok && result.problems.some((p) => p.path === 'limits.steps[1].group' && p.message.includes('unknown concurrency group "warehous"')), JSON.stringify(result));
  });
  test('maxParallel must be a positive integer', () => {
    const result = validatePipeline({ name: 'limits', title: 'limits', maxParallel: 0, steps: [{ id: 'a', kind: 'azureFunction', url: 'https://fn.example/a' }] });
    assert.ok(!result.ok && result.problems.some((p) => p.path === 'limits.maxParallel'), JSON.stringify(result));
  });
});

describe('whose end the run must hear of at once (stepDone notices, src/engine/stepDone.ts)', () => {
  const running = statusOf({ export: 'succeeded', loadA: 'running', loadB: 'running' });
  const step = (id: string) => steps.find((s) => s.id === id) ?? { id, dependsOn: [] };
  test('a join over every step of the batch node waits for the batch anyway: no own notice', () => {
    assert.equal(endAwaited(step('loadA'), pendingIndex(steps, running), {}, ['loadA', 'loadB']), false);
  });
  test('a dependent that does not wait for the whole batch node needs the step`s own notice', () => {
    assert.equal(endAwaited(step('loadA'), pendingIndex(steps, running), {}, ['loadA', 'audit']), true);
    assert.equal(endAwaited(step('dbt'), pendingIndex(steps, statusOf({ dbt: 'running', audit: 'running' })), {}, ['dbt', 'audit']), true, 'report waits for dbt alone');
    assert.equal(endAwaited(step('dbt'), pendingIndex(steps, statusOf({ dbt: 'running' })), {}), false, 'alone in its group, its group`s notice is its own');
  });
  test('nothing pending depends on it and no slot is awaited: no own notice', () => {
    assert.equal(endAwaited(step('audit'), pendingIndex(steps, running), {}, ['audit', 'loadA']), false);
  });
  test('a pending step waiting for a slot of maxParallel, or of the step`s group, needs it', () => {
    assert.equal(endAwaited(step('audit'), pendingIndex(steps, running), { maxParallel: 3 }, ['audit', 'loadA']), true);
    const grouped = [
      { id: 'a', dependsOn: [], group: 'wh' },
      { id: 'b', dependsOn: [], group: 'wh' },
      { id: 'c', dependsOn: [], group: 'other' },
    ];
    const limits = { concurrencyGroups: { wh: { maxParallel: 1 } } };
    assert.equal(endAwaited(grouped[0]!, pendingIndex(grouped, statusOf({ a: 'running' })), limits, ['a', 'c']), true);
    assert.equal(endAwaited(grouped[0]!, pendingIndex(grouped, statusOf({ a: 'running', b: 'running' })), limits, ['a', 'b']), false);
  });
});
