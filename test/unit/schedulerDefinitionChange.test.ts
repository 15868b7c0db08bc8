/**
 * A deploy that changes a schedule, seen by the tick (src/scheduler/owedSlots.ts): the definition
 * recorded with the checkpoint owes its slots up to the tick that sees the new one; the new one
 * owes its slots from then on, like a new schedule. An edit makes no run up by itself, and a slot
 * the old definition owed while the app was down is not lost.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { validatePipeline } from '../../src/pipelines/validate';
import type { PipelineDefinition, PipelineInput } from '../../src/pipelines/schema';
import { runSchedulerTick } from '../../src/scheduler/tick';
import { parseRecordedSchedule } from '../../src/scheduler/owedSlots';
import { MemoryLog, MemoryRunStarter, MemorySchedulerStore } from '../support/scheduler';

type ScheduleInput = NonNullable<PipelineInput['schedules']>[number];

function deployed(schedule: Partial<ScheduleInput>): PipelineDefinition {
  const result = validatePipeline({
    name: 'sales',
    title: 'Sales',
    steps: [{ id: 'work', kind: 'activity', activity: 'noop' }],
    schedules: [{ name: 'nightly', cron: '0 2 * * *', timezone: 'UTC', ...schedule }],
  });
  assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
  return result.pipeline;
}

function world() {
  const store = new MemorySchedulerStore();
  const starter = new MemoryRunStarter();
  const tick = (pipeline: PipelineDefinition, now: string) =>
    runSchedulerTick({ now: new Date(now), catalog: { pipelines: [pipeline] }, store, starter, log: new MemoryLog() });
  const ledger = () => store.ledger('sales', 'nightly').map((s) => `${s.slot} ${s.outcome}`);
  return { store, starter, tick, ledger };
}

void describe('a deploy that changes a schedule', () => {
  void test('an edit deployed while the app runs starts nothing and records nothing by itself', async () => {
    const w = world();
    const at2 = deployed({ cron: '0 2 * * *' });
    await w.tick(at2, '2026-11-26T01:30:00Z');
    await w.tick(at2, '2026-11-26T02:00:00Z'); // the old 02:00 fires; the checkpoint stays at 02:00
    // At 10:00 a deploy moves it to 03:00. Read with the new definition, (02:00, 10:00] would hold
    // a 03:00 the schedule never had: caught up at once ('latest'), or recorded missed and alerted.
    const at3 = deployed({ cron: '0 3 * * *' });
    const summary = await w.tick(at3, '2026-11-26T10:00:00Z');
    assert.deepEqual(summary.started, []);
    assert.deepEqual(w.ledger(), ['2026-11-26T02:00:00Z fired']);
    // From now on it is the 03:00 schedule.
    w.starter.completeAll();
    await w.tick(at3, '2026-11-27T03:00:00Z');
    assert.deepEqual(w.ledger(), ['2026-11-26T02:00:00Z fired', '2026-11-27T03:00:00Z fired']);
  });

  void test('a slot the old definition owed while the app was down for the deploy is caught up', async () => {
    const w = world();
    await w.tick(deployed({ cron: '0 2 * * *' }), '2026-11-26T01:30:00Z');
    // Down from 01:40; the new version (03:00) starts at 02:20: the 02:00 slot was the old
    // definition's, in force until the new one started.
    const summary = await w.tick(deployed({ cron: '0 3 * * *' }), '2026-11-26T02:20:00Z');
    assert.deepEqual(summary.started, ['sched:sales:nightly:20261126T0200Z']);
    assert.deepEqual(w.ledger(), ['2026-11-26T02:00:00Z caught-up']);
  });

  void test("the policy applies to the old definition's slots: 'none' records them missed", async () => {
    const w = world();
    await w.tick(deployed({ cron: '0 * * * *', catchUp: 'none' }), '2026-11-26T09:30:00Z');
    const summary = await w.tick(deployed({ cron: '30 * * * *', catchUp: 'none' }), '2026-11-26T12:40:00Z');
    assert.deepEqual(summary.started, []);
    assert.deepEqual(w.ledger(), ['10', '11', '12'].map((h) => `2026-11-26T${h}:00:00Z missed`));
  });

  void test('a slot both definitions have counts once; the new definition names it', async () => {
    const w = world();
    await w.tick(deployed({ cron: '0 2 * * *', timezone: 'UTC' }), '2026-11-26T01:30:00Z');
    // Same instant, other zone and cron: 03:00 Paris in winter is 02:00 UTC.
    await w.tick(deployed({ cron: '0 3 * * *', timezone: 'Europe/Paris' }), '2026-11-26T02:00:30Z');
    const [entry, ...rest] = w.store.ledger('sales', 'nightly');
    assert.deepEqual(rest, []);
    assert.equal(entry?.slot, '2026-11-26T02:00:00Z');
    assert.equal(entry?.local, '2026-11-26T03:00:00+01:00');
    assert.equal(entry?.outcome, 'fired');
  });

  void test('enabling a schedule that was disabled does not backfill the disabled stretch', async () => {
    const w = world();
    await w.tick(deployed({ cron: '0 * * * *', enabled: false }), '2026-11-26T09:30:00Z');
    const summary = await w.tick(deployed({ cron: '0 * * * *', enabled: true }), '2026-11-26T12:40:00Z');
    assert.deepEqual(summary.started, []);
    assert.deepEqual(w.ledger(), []);
  });

  void test('the definition is recorded with the checkpoint; a row without one reads as the current definition', async () => {
    const w = world();
    await w.tick(deployed({ cron: '0 2 * * *' }), '2026-11-26T01:30:00Z');
    const state = await w.store.getScheduleState('sales', 'nightly');
    assert.deepEqual(state.schedule, { cron: '0 2 * * *', timezone: 'UTC', dst: { gap: 'next', overlap: 'first' }, enabled: true });
    assert.equal(parseRecordedSchedule('{"cron":"not a cron"}'), undefined);
    assert.equal(parseRecordedSchedule('{'), undefined);
  });
});
