/**
 * Scheduler tick cost: CPU time of one tick and store operations per schedule, with the in-memory
 * store (storage latency is the Table store's own bench), and how often the seed's timers fire
 * (the scheduler's timer fires only when a slot may be due: src/scheduler/timerPlan.ts).
 */
import { appCatalog } from '../src/app/catalog';
import { NcrontabSchedule } from '../src/devhost/ncrontab';
import { RETENTION_SCHEDULE, schedulerTimerSchedule } from '../src/functions/scheduler';
import { validatePipeline } from '../src/pipelines/validate';
import type { PipelineDefinition } from '../src/pipelines/schema';
import { previewSchedule } from '../src/scheduler/preview';
import type { SchedulerStore } from '../src/scheduler/ports';
import { runSchedulerTick } from '../src/scheduler/tick';
import { MemoryLog, MemoryRunStarter, MemorySchedulerStore } from '../test/support/scheduler';
import { fmt, median } from './stats';

function pipelines(count: number): PipelineDefinition[] {
  return Array.from({ length: count }, (_, i) => {
    const r = validatePipeline({
      name: `p${i}`,
      title: `P${i}`,
      steps: [{ id: 'work', kind: 'activity', activity: 'noop' }],
      schedules: [
        { name: 'daily', cron: '0 2 * * *', timezone: 'Europe/Paris' },
        { name: 'hourly', cron: '0 * * * *', timezone: 'UTC', overlap: 'allow' },
      ],
    });
    if (!r.ok) throw new Error('invalid bench pipeline');
    return r.pipeline;
  });
}

/** Counts calls per store method. */
function counting(store: MemorySchedulerStore): { store: SchedulerStore; counts: Map<string, number> } {
  const counts = new Map<string, number>();
  const wrapped = new Proxy(store, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        counts.set(String(prop), (counts.get(String(prop)) ?? 0) + 1);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: wrapped, counts };
}

async function tickAt(catalog: PipelineDefinition[], store: SchedulerStore, starter: MemoryRunStarter, now: string): Promise<number> {
  const start = process.hrtime.bigint();
  await runSchedulerTick({ now: new Date(now), catalog: { pipelines: catalog }, store, starter, log: new MemoryLog() });
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Fires of an NCRONTAB timer in 2027, as the Functions host (NCrontab) counts them, per month. */
function firesPerMonth(expression: string): number {
  return new NcrontabSchedule(expression).countBetween(new Date('2027-01-01T00:00:00Z'), new Date('2028-01-01T00:00:00Z')) / 12;
}

/** Timer invocations a month for the seed's definitions: the scheduler's timer and the retention timer. */
function seedTimerInvocations(lines: string[]): void {
  const start = process.hrtime.bigint();
  const expression = schedulerTimerSchedule(appCatalog(), new Date('2026-11-29T00:00:00Z'));
  const planMs = Number(process.hrtime.bigint() - start) / 1e6;
  const scheduler = expression === undefined ? 0 : firesPerMonth(expression);
  const retention = firesPerMonth(RETENTION_SCHEDULE);
  lines.push(`seed timer invocations per month: scheduler ${fmt(scheduler)} (${expression ?? 'no timer'}; a tick every minute was ${fmt(firesPerMonth('0 * * * * *'))}) + retention ${fmt(retention)} = ${fmt(scheduler + retention)}`);
  lines.push(`scheduler timer plan at start-up (seed catalog, zone rules of 7 years): ${fmt(planMs)} ms`);
}

export async function run(): Promise<string[]> {
  const lines: string[] = [];
  seedTimerInvocations(lines);
  const catalog = pipelines(100);
  const schedules = catalog.length * 2;

  // Steady state: ticks every minute for an hour; one of them fires every hourly schedule.
  const memory = new MemorySchedulerStore();
  const { store, counts } = counting(memory);
  const starter = new MemoryRunStarter();
  await tickAt(catalog, store, starter, '2026-11-26T09:59:00Z');
  counts.clear();
  const times: number[] = [];
  for (let m = 0; m < 60; m++) times.push(await tickAt(catalog, store, starter, new Date(Date.parse('2026-11-26T10:00:05Z') + m * 60_000).toISOString()));
  const ops = [...counts.values()].reduce((a, b) => a + b, 0);
  lines.push(`tick, ${schedules} schedules: median ${fmt(median(times))} ms, max ${fmt(Math.max(...times))} ms (in-memory store)`);
  lines.push(`store operations per schedule per tick: ${fmt(ops / 60 / schedules, 2)} (${[...counts].map(([k, v]) => `${k} ${v}`).join(', ')} over 60 ticks)`);

  // Three days down, then one tick: 72 hourly slots and 3 daily ones per pipeline, catch-up 'latest'.
  const down = new MemorySchedulerStore();
  const downCounts = counting(down);
  const downStarter = new MemoryRunStarter();
  await tickAt(catalog, downCounts.store, downStarter, '2026-11-20T10:20:00Z');
  downCounts.counts.clear();
  const catchUpMs = await tickAt(catalog, downCounts.store, downStarter, '2026-11-23T10:20:00Z');
  const catchUpOps = [...downCounts.counts.values()].reduce((a, b) => a + b, 0);
  lines.push(`catch-up tick after 3 days down, ${schedules} schedules (${down.slots.size} slots recorded): ${fmt(catchUpMs)} ms, ${catchUpOps} store operations`);

  // Preview: 1,000 slots of production-daily (about 3 years, six DST changes).
  const daily = catalog[0]!.schedules[0]!;
  const previews: number[] = [];
  for (let i = 0; i < 5; i++) {
    const start = process.hrtime.bigint();
    previewSchedule(daily, { from: new Date('2026-01-01T00:00:00Z'), count: 1000 });
    previews.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  lines.push(`preview 1000 slots of 0 2 * * * Europe/Paris: median ${fmt(median(previews))} ms`);
  return lines;
}
