/**
 * forEach at 100 / 1,000 / 10,000 items (issue 23): one step mapping over the list an upstream
 * step returned (the export's tables), every
 * item a 1-minute job (fake adapter, virtual clock), `forEach.maxParallel` 10. Reports makespan
 * against the ideal (⌈n / 10⌉ minutes: slots never idle), the events and bytes handed to every
 * orchestrator of the run summed over their wake-ups, the largest execution's history, and the
 * growth exponents between sizes (target for events ≤ 1.2), and the cost per item — wall time,
 * the process's CPU (orchestrators, activities and the development host together) and the
 * orchestrators' replay CPU — so a cost that grows faster than n shows as a per-item figure that
 * grows.
 */
import { collectRunState } from '../src/activities/collectRunState';
import { notifyStepDone } from '../src/activities/notifyStepDone';
import { reconcileRun } from '../src/activities/reconcileRun';
import { stopSteps } from '../src/activities/stopSteps';
import { clientActivityRegistration, type Registration } from '../src/app/registry';
import { DevHost } from '../src/devhost';
import { engineOrchestrators, ORCHESTRATOR_NAMES, type RunInput, type RunState } from '../src/engine';
import { callerOf, stopPollingWith } from '../src/functions/activities';
import type { PipelineDefinition } from '../src/pipelines/schema';
import { definitionVersion } from '../src/pipelines/version';
import { ACTIVITY_NAMES } from '../src/steps/protocol';
import { pipeline } from '../test/orchestration/engineHarness';
import type { FakeAdapter } from '../test/support/fakeAdapters';
import { fakeStepActivities } from './fakeStepActivities';
import { replayedWork } from './engine';
import { fmt } from './stats';

/**
 * The app's orchestrators and step activities on the development host, without a run store: the
 * run gate then has no record to check (engine README), so every activity makes the same calls and
 * the history is the same, without an Azurite round trip per activity (10,000 items make 40,000+).
 */
async function storelessHost(definitions: Map<string, PipelineDefinition>): Promise<{ host: DevHost; fake: FakeAdapter }> {
  const clock = { now: () => new Date('2026-03-02T01:00:00Z') };
  const { fake, activities } = fakeStepActivities({ get: (name) => [...definitions.values()].find((d) => d.name === name) }, () => clock.now());
  const registrations: Registration[] = [
    ...engineOrchestrators({ definitions: { get: (version) => definitions.get(version) } }).map((o) => ({ kind: 'orchestration' as const, name: o.name, handler: o.handler })),
    { kind: 'activity', name: ACTIVITY_NAMES.startStep, handler: (input: unknown, context) => activities.startStep(input, callerOf(context)) },
    { kind: 'activity', name: ACTIVITY_NAMES.pollStep, handler: (input: unknown, context) => activities.pollStep(input, callerOf(context)) },
    clientActivityRegistration(ACTIVITY_NAMES.cancelStep, (input, client, context) => activities.cancelStep(input, callerOf(context), stopPollingWith(client))),
    { kind: 'activity', name: ACTIVITY_NAMES.finishRun, handler: (input: unknown, context) => activities.finishRun(input, callerOf(context)) },
    clientActivityRegistration(ACTIVITY_NAMES.notifyStepDone, (input, client, context) => notifyStepDone(input, client, callerOf(context))),
    clientActivityRegistration(ACTIVITY_NAMES.reconcileRun, (input, client, context) => reconcileRun(input, client, undefined, callerOf(context))),
    clientActivityRegistration(ACTIVITY_NAMES.stopSteps, (input, client, context) => stopSteps(input, client, undefined, callerOf(context))),
    clientActivityRegistration(ACTIVITY_NAMES.collectRunState, (input, client, context) => collectRunState(input, client, callerOf(context))),
  ];
  const host = await DevHost.start({ registrations, clock: 'virtual', startTime: clock.now(), httpPort: false });
  clock.now = () => host.now();
  return { host, fake };
}

const PARALLEL = 10;

const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);
const exponent = (x1: number, y1: number, x2: number, y2: number): number => Math.log(y2 / y1) / Math.log(x2 / x1);

export async function runForEach(sizes: readonly number[]): Promise<string[]> {
  const lines = [
    `forEach over n items, maxParallel ${PARALLEL}, each item a 1-minute polled job (virtual time, no run store)`,
    '  n | makespan / ideal | whole run: instances, events replayed, bytes replayed, max events in one execution | parent: executions, wake-ups, replay CPU s | per item: wall ms, process CPU ms, replay CPU ms (all instances)',
  ];
  const definitions = new Map<string, PipelineDefinition>();
  const engine = await storelessHost(definitions);
  const rows: { n: number; events: number; bytes: number; cpu: number; wall: number; parentCpu: number }[] = [];
  try {
    for (const n of sizes) {
      const runId = `fe-${n}`;
      const items = Array.from({ length: n }, (_, i) => `t${i}`);
      engine.fake.script('export', [{ ok: { output: { tables: items } } }]);
      for (let i = 0; i < n; i++) engine.fake.script(`load[${i}]`, [{ running: { polls: 0, pollAfterSeconds: 60 } }]);
      const definition = pipeline({
        name: `fe-bench-${n}`,
        title: 'forEach bench',
        steps: [
          { id: 'export', kind: 'azureFunction', url: 'https://fn.example/api/export', output: { object: { tables: { list: 'string' } } } },
          { id: 'load', kind: 'azureFunction', dependsOn: ['export'], url: 'https://fn.example/api/load', body: { table: '{item}' }, pollInterval: '1m', forEach: { items: { step: 'export', path: 'output.tables' }, maxParallel: PARALLEL } },
        ],
      });
      const wall = Date.now();
      const cpu = process.cpuUsage();
      definitions.set(definitionVersion(definition), definition);
      const input: RunInput = { pipeline: definition.name, definitionVersion: definitionVersion(definition), runId, trigger: { kind: 'manual' }, parameters: {} };
      await engine.host.client.startNew(ORCHESTRATOR_NAMES.runPipeline, { instanceId: runId, input });
      const status = await engine.host.waitFor(runId, { timeoutMs: 6 * 60 * 60_000 });
      const wallMs = Date.now() - wall;
      const used = process.cpuUsage(cpu);
      const cpuMs = (used.user + used.system) / 1000;
      const run = status.output as RunState;
      if (run?.status !== 'succeeded') throw new Error(`forEach ${n}: ${String(status.runtimeStatus)} ${JSON.stringify(status.output).slice(0, 300)}`);
      const ends = run.steps.flatMap((s) => s.attempts.flatMap((a) => (a.endedAt ? [Date.parse(a.endedAt)] : [])));
      const makespan = (Math.max(...ends) - Date.parse(run.startedAt)) / 60_000;
      const ideal = Math.ceil(n / PARALLEL);
      const ids = engine.host.instanceIds().filter((id) => id === runId || id.startsWith(`${runId}:`));
      const work = ids.map((id) => replayedWork(engine.host.executions(id)));
      const maxEvents = Math.max(...ids.map((id) => engine.host.stats(id).maxHistoryEvents));
      const events = sum(work.map((w) => w.events));
      const bytes = sum(work.map((w) => w.bytes));
      const parent = engine.host.stats(runId);
      const replayCpu = sum(ids.map((id) => engine.host.stats(id).replayCpuMs));
      rows.push({ n, events, bytes, cpu: cpuMs, wall: wallMs, parentCpu: parent.replayCpuMs });
      const row = `  ${n} | ${fmt(makespan / ideal, 2)} | ${ids.length}, ${events}, ${(bytes / 1e6).toFixed(2)} MB, ${maxEvents} | ${parent.executions}, ${parent.replays}, ${(parent.replayCpuMs / 1000).toFixed(1)} | ${fmt(wallMs / n, 2)}, ${fmt(cpuMs / n, 2)}, ${fmt(replayCpu / n, 2)}`;
      lines.push(row);
      // Each size as it ends (10,000 items take a while on a shared machine).
      console.error(`forEach bench:${row}`);
    }
    for (let i = 1; i < rows.length; i++) {
      const a = rows[i - 1];
      const b = rows[i];
      if (a && b) {
        const e = (pick: (r: (typeof rows)[number]) => number): string => fmt(exponent(a.n, pick(a), b.n, pick(b)), 2);
        lines.push(`  exponent ${a.n}→${b.n}: events ${e((r) => r.events)}, bytes ${e((r) => r.bytes)}, wall ${e((r) => r.wall)}, process CPU ${e((r) => r.cpu)}, parent replay CPU ${e((r) => r.parentCpu)}`);
      }
    }
    const first = rows[0];
    const last = rows.at(-1);
    if (first && last && first !== last) {
      const e = exponent(first.n, first.events, last.n, last.events);
      lines.push(`  exponent ${first.n}→${last.n}: events ${fmt(e, 2)} (target ≤ 1.2) ${e <= 1.2 ? 'OK' : 'OVER TARGET'}, bytes ${fmt(exponent(first.n, first.bytes, last.n, last.bytes), 2)}`);
    }
    return lines;
  } finally {
    await engine.host.stop();
  }
}
