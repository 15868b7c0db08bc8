/**
 * A slot that cannot start its run fails without any run failing: it must be loud. The tick alerts
 * it like a failed run and marks the schedule (the listing shows `failing`) until a later slot
 * starts its run (issue 22).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validatePipeline } from '../../src/pipelines/validate';
import { runSchedulerTick } from '../../src/scheduler/tick';
import type { StartFailedSlotsEvent } from '../../src/scheduler/ports';
import { scheduleStateWord } from '../../src/core/scheduleState';
import { MemoryLog, MemoryRunStarter, MemorySchedulerStore } from '../support/scheduler';

const result = validatePipeline({
  name: 'sales',
  title: 'Sales',
  steps: [{ id: 'work', kind: 'activity', activity: 'noop' }],
  schedules: [{ name: 'hourly', cron: '0 * * * *', timezone: 'UTC', overlap: 'allow' }],
});
assert.ok(result.ok);
const pipelines = [result.pipeline];

void test('a slot that cannot start is alerted once and marks the schedule failing until a later slot starts', async () => {
  const store = new MemorySchedulerStore();
  const starter = new MemoryRunStarter();
  const alerts: StartFailedSlotsEvent[] = [];
  const notifyStartFailed = (event: StartFailedSlotsEvent): Promise<void> => {
    alerts.push(event);
    return Promise.resolve();
  };
  const tick = (now: string) => runSchedulerTick({ now: new Date(now), catalog: { pipelines }, store, starter, log: new MemoryLog(), notifyStartFailed });
  const state = async () => {
    const s = await store.getScheduleState('sales', 'hourly');
    return { word: scheduleStateWord({ enabled: true, paused: s.paused, schedulerEnabled: true, failing: s.lastStartFailure !== undefined }), failure: s.lastStartFailure };
  };

  await tick('2026-11-26T10:20:00Z');
  starter.failures = { count: 3, error: new Error('task hub unavailable') };
  // Three attempts (the slot's tick, then two retries): only the last one gives up, and alerts.
  for (const at of ['11:00:10', '11:01:10', '11:02:10']) await tick(`2026-11-26T${at}Z`);
  assert.equal(store.ledger('sales', 'hourly')[0]?.outcome, 'start-failed');
  assert.equal(alerts.length, 1, 'one alert, when the slot is given up');
  assert.deepEqual(alerts[0]?.slots.map((s) => s.slot), ['2026-11-26T11:00:00Z']);
  assert.match(alerts[0]?.slots[0]?.reason ?? '', /attempt 3 of 3\): task hub unavailable/);
  const failing = await state();
  assert.equal(failing.word, 'failing');
  assert.equal(failing.failure?.slot, '2026-11-26T11:00:00Z');

  // A tick with nothing due keeps the mark; the next slot that starts clears it.
  await tick('2026-11-26T11:30:00Z');
  assert.equal((await state()).word, 'failing');
  await tick('2026-11-26T12:00:10Z');
  assert.deepEqual(await state(), { word: 'active', failure: undefined });
  assert.equal(alerts.length, 1);
});
