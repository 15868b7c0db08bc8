/**
 * Engine overhead: history events and replay CPU per seed-pipeline run (fake adapters, virtual
 * clock), against a hand-written minimal Durable orchestrator making the same four activity calls
 * (startStep × 3, finishRun) in a row. Target: ≤ 1.5× the events.
 *
 * Scheduling and fan-out cost (issue 13), on the same host with scripted step durations (fake
 * adapters: a step of d minutes answers "running" and its one poll, d minutes later, finds it done):
 * - makespan / critical path for the DAG shapes of issue 13 and random 30-step DAGs (1.00 = every
 *   step starts the moment its dependencies succeed);
 * - one wave of n independent steps finishing one by one (step i takes i minutes): history events
 *   and bytes handed to the parent orchestrator summed over its wake-ups (each wake-up replays the
 *   execution's history so far), its replay CPU, and the growth exponent between sizes.
 */
import type { OrchestrationContext } from 'durable-functions';
import { clientActivityRegistration, type Registration } from '../src/app/registry';
import { reconcileRun } from '../src/activities/reconcileRun';
import { DevHost } from '../src/devhost';
import { EventType, type HistoryEvent } from '../src/devhost/history';
import { engineOrchestrators, ORCHESTRATOR_NAMES, type RunInput, type RunState } from '../src/engine';
import type { FinishRunInput } from '../src/engine/runPipeline';
import { loadDefinitions } from '../src/pipelines/definitions';
import { resolveParameters, runFactsAt } from '../src/pipelines/parameters';
import type { PipelineDefinition, PipelineInput } from '../src/pipelines/schema';
import { definitionVersion } from '../src/pipelines/version';
import { ACTIVITY_NAMES, type StepActivityInput, type StepOutcome } from '../src/steps/protocol';
import { pipeline, startEngineHost, type EngineHost } from '../test/orchestration/engineHarness';
import { fakeStepActivities } from './fakeStepActivities';
import { fmt, median } from './stats';

const RUNS = 30;

/** What a person would write by hand for the seed: three calls in a row, then the run record. */
const minimalThreeActivities = (seed: PipelineDefinition) =>
  function* minimalThreeActivities(context: OrchestrationContext): Generator<unknown, RunState, unknown> {
  const input = context.df.getInput<RunInput>();
  const startedAt = context.df.currentUtcDateTime.toISOString();
  const steps = [];
  for (const [i, step] of seed.steps.entries()) {
    const stepInput: StepActivityInput = { runId: input.runId, pipeline: input.pipeline, definitionVersion: input.definitionVersion, stepId: step.id, attempt: 1, parameters: input.parameters, trigger: input.trigger };
    const outcome = (yield context.df.callActivity(ACTIVITY_NAMES.startStep, stepInput)) as StepOutcome;
    steps.push({ id: step.id, status: 'succeeded' as const, attempts: [{ attempt: 1, startedAt, status: 'succeeded' as const }], ...(outcome.status === 'succeeded' && outcome.output !== undefined ? { output: outcome.output } : {}), order: i });
  }
  const run: RunState = { runId: input.runId, pipeline: input.pipeline, status: 'succeeded', pipelineAttempt: 1, startedAt, steps: steps.map(({ order: _o, ...s }) => s) };
  const finish: FinishRunInput = { run, trigger: input.trigger, parameters: input.parameters };
  yield context.df.callActivity(ACTIVITY_NAMES.finishRun, finish);
  return run;
  };

export async function run(): Promise<string[]> {
  // BENCH_ENGINE_ONLY=forEach runs the forEach table alone (the others take minutes).
  const only = process.env['BENCH_ENGINE_ONLY'];
  const forEachSizes = (process.env['BENCH_FOREACH_SIZES'] ?? '100,1000,10000').split(',').map(Number);
  const { runForEach } = await import('./forEach');
  if (only === 'forEach') return runForEach(forEachSizes);
  return [...(await runSeedOverhead()), ...(await runScheduling()), ...(await runForEach(forEachSizes))];
}

async function runSeedOverhead(): Promise<string[]> {
  const catalog = loadDefinitions();
  const seed = catalog.get('data-pipeline');
  if (!seed) throw new Error('seed pipeline missing');
  const clock = { now: () => new Date() };
  const { activities } = fakeStepActivities(catalog, () => clock.now());
  const registrations: Registration[] = [
    ...engineOrchestrators({ definitions: { get: (version) => (version === definitionVersion(seed) ? seed : undefined) } }).map((o) => ({ kind: 'orchestration' as const, name: o.name, handler: o.handler })),
    { kind: 'orchestration', name: 'minimalThreeActivities', handler: minimalThreeActivities(seed) as Extract<Registration, { kind: 'orchestration' }>['handler'] },
    { kind: 'activity', name: ACTIVITY_NAMES.startStep, handler: (i: unknown) => activities.startStep(i) },
    { kind: 'activity', name: ACTIVITY_NAMES.finishRun, handler: (i: unknown) => activities.finishRun(i) },
    // No run store here: the run's check against its record has nothing to read (one call per run).
    clientActivityRegistration(ACTIVITY_NAMES.reconcileRun, (i, client) => reconcileRun(i, client, undefined)),
  ];
  const host = await DevHost.start({ registrations, clock: 'virtual', startTime: new Date('2026-03-02T01:00:00Z'), httpPort: false });
  clock.now = () => host.now();
  const measure = async (name: string, id: string) => {
    // Parameters resolved as the API resolves them at a start (the seed's `day` is the request's date).
    const requestedAt = host.now().toISOString();
    const resolved = resolveParameters(seed, {}, {}, runFactsAt(requestedAt));
    if (!resolved.ok) throw new Error(`seed parameters: ${JSON.stringify(resolved.problems)}`);
    const input: RunInput = { pipeline: seed.name, definitionVersion: definitionVersion(seed), runId: id, trigger: { kind: 'manual', requestedAt }, parameters: resolved.parameters };
    await host.client.startNew(name, { instanceId: id, input });
    const status = await host.waitFor(id);
    if ((status.output as RunState).status !== 'succeeded') throw new Error(`${name} run ${id} did not succeed: ${JSON.stringify((status.output as RunState | undefined)?.error ?? status)}`);
    return host.stats(id);
  };
  try {
    const engine = { events: [] as number[], cpu: [] as number[], replays: [] as number[] };
    const minimal = { events: [] as number[], cpu: [] as number[], replays: [] as number[] };
    for (let i = 0; i < RUNS; i++) {
      // Alternate so warm-up and GC hit both the same way.
      const pair = i % 2 === 0 ? (['e', 'm'] as const) : (['m', 'e'] as const);
      for (const which of pair) {
        const stats = which === 'e' ? await measure(ORCHESTRATOR_NAMES.runPipeline, `bench-e-${i}`) : await measure('minimalThreeActivities', `bench-m-${i}`);
        const into = which === 'e' ? engine : minimal;
        into.events.push(stats.totalHistoryEvents);
        into.cpu.push(stats.replayCpuMs);
        into.replays.push(stats.replays);
      }
    }
    const e = { events: median(engine.events), cpu: median(engine.cpu), replays: median(engine.replays) };
    const m = { events: median(minimal.events), cpu: median(minimal.cpu), replays: median(minimal.replays) };
    const ratio = e.events / m.events;
    return [
      `seed pipeline run, fake adapters, virtual clock, median of ${RUNS} runs each`,
      `history events: runPipeline ${e.events} vs minimal three-activity orchestrator ${m.events} → ${fmt(ratio, 2)}× (target ≤ 1.5×) ${ratio <= 1.5 ? 'OK' : 'OVER TARGET'}`,
      `replays (wake-ups): ${e.replays} vs ${m.replays}`,
      `replay CPU per run: ${fmt(e.cpu, 2)} ms vs ${fmt(m.cpu, 2)} ms → ${fmt(e.cpu / m.cpu, 2)}×`,
    ];
  } finally {
    await host.stop();
  }
}

// ── Scheduling and fan-out (issue 13) ─────────────────────────────────────────────────────────────

export interface DagShape {
  readonly name: string;
  /** Step id → minutes and dependencies, in definition order. */
  readonly steps: readonly { readonly id: string; readonly minutes: number; readonly dependsOn: readonly string[] }[];
}

/** A deterministic PRNG (mulberry32) so every run of the benchmark sees the same DAGs. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random DAG: each step depends on up to three earlier steps, durations 1–30 minutes. */
export function randomDag(seed: number, size: number): DagShape {
  const random = seededRandom(seed);
  const steps: { id: string; minutes: number; dependsOn: string[] }[] = [];
  for (let i = 0; i < size; i++) {
    const deps = new Set<string>();
    const wanted = i === 0 ? 0 : Math.floor(random() * 4);
    for (let k = 0; k < wanted; k++) deps.add(`s${Math.floor(random() * i)}`);
    steps.push({ id: `s${i}`, minutes: 1 + Math.floor(random() * 30), dependsOn: [...deps] });
  }
  return { name: `random-${seed}`, steps };
}

export function chains(seed: number, count: number, length: number): DagShape {
  const random = seededRandom(seed);
  const steps = [];
  for (let c = 0; c < count; c++) {
    for (let i = 0; i < length; i++) steps.push({ id: `c${c}s${i}`, minutes: 1 + Math.floor(random() * 30), dependsOn: i === 0 ? [] : [`c${c}s${i - 1}`] });
  }
  return { name: `chains-${seed}`, steps };
}

export const FIXED_SHAPES: readonly DagShape[] = [
  {
    name: 'A(1) ‖ B(60), C←A, D←C',
    steps: [
      { id: 'A', minutes: 1, dependsOn: [] },
      { id: 'B', minutes: 60, dependsOn: [] },
      { id: 'C', minutes: 1, dependsOn: ['A'] },
      { id: 'D', minutes: 1, dependsOn: ['C'] },
    ],
  },
  {
    name: 'unbalanced diamond A→{B(30), C(5)→E(20)}→D',
    steps: [
      { id: 'A', minutes: 1, dependsOn: [] },
      { id: 'B', minutes: 30, dependsOn: ['A'] },
      { id: 'C', minutes: 5, dependsOn: ['A'] },
      { id: 'E', minutes: 20, dependsOn: ['C'] },
      { id: 'D', minutes: 1, dependsOn: ['B', 'E'] },
    ],
  },
];

/** Longest path through the DAG, in minutes. */
export function criticalPathMinutes(shape: DagShape): number {
  const finish = new Map<string, number>();
  for (const step of shape.steps) finish.set(step.id, Math.max(0, ...step.dependsOn.map((d) => finish.get(d) ?? 0)) + step.minutes);
  return Math.max(...finish.values());
}

/** A pipeline of azureFunction steps with the shape's dependencies; durations are scripted separately. */
export function shapePipeline(shape: DagShape, name: string, extra: Partial<PipelineInput> = {}): ReturnType<typeof pipeline> {
  const steps: PipelineInput['steps'] = shape.steps.map((s) => ({ id: s.id, kind: 'azureFunction', url: `https://fn.example/api/${s.id}`, dependsOn: [...s.dependsOn], pollInterval: '1m' }));
  return pipeline({ name, title: name, steps, ...extra });
}

/** Scripts each step of `shape` to run exactly its minutes: a long job whose first poll, that late, finds it done. */
export function scriptDurations(engine: EngineHost, shape: DagShape): void {
  for (const step of shape.steps) engine.fake.script(step.id, [{ running: { polls: 0, pollAfterSeconds: step.minutes * 60 } }]);
}

/** A step of a finished run: its first start, its last end, and when its dependencies had all ended (epoch ms). */
export interface StepSpan {
  readonly id: string;
  readonly start: number;
  readonly end: number;
  readonly ready: number;
}

/** Each step's span; the reference check compares `start` with `ready` (test/orchestration). */
export function spans(shape: DagShape, run: RunState): StepSpan[] {
  const byId = new Map(run.steps.map((s) => [s.id, s]));
  const startMs = (id: string) => Date.parse(byId.get(id)?.attempts[0]?.startedAt ?? '');
  const endMs = (id: string) => Date.parse(byId.get(id)?.attempts.at(-1)?.endedAt ?? '');
  return shape.steps.map((s) => ({
    id: s.id,
    start: startMs(s.id),
    end: endMs(s.id),
    ready: Math.max(Date.parse(run.startedAt), ...s.dependsOn.map(endMs)),
  }));
}

/** Minutes from the run's start to its last step's end. */
export function makespanMinutes(run: RunState): number {
  const ends = run.steps.flatMap((s) => s.attempts.flatMap((a) => (a.endedAt ? [Date.parse(a.endedAt)] : [])));
  return (Math.max(...ends) - Date.parse(run.startedAt)) / 60_000;
}

/** Events and bytes handed to the orchestrator, summed over its wake-ups (each replays all history so far). */
export function replayedWork(executions: readonly (readonly HistoryEvent[])[]): { events: number; bytes: number } {
  let events = 0;
  let bytes = 0;
  for (const history of executions) {
    const sizes = history.map((e) => Buffer.byteLength(JSON.stringify(e)));
    const wakeUps = history.flatMap((e, i) => (e.EventType === EventType.OrchestratorStarted ? [i] : []));
    for (const n of wakeUps.keys()) {
      // A wake-up sees everything before its OrchestratorStarted plus the new events up to the next one.
      const end = wakeUps[n + 1] ?? history.length;
      events += end;
      for (let i = 0; i < end; i++) bytes += sizes[i] ?? 0;
    }
  }
  return { events, bytes };
}

const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(2)} MB`;

function exponent(x1: number, y1: number, x2: number, y2: number): number {
  return Math.log(y2 / y1) / Math.log(x2 / x1);
}

export async function runScheduling(): Promise<string[]> {
  const lines: string[] = [];
  const engine = await startEngineHost();
  let runNo = 0;
  const runShape = async (shape: DagShape): Promise<{ run: RunState; runId: string }> => {
    const runId = `sched-${runNo++}`;
    scriptDurations(engine, shape);
    await engine.start(shapePipeline(shape, `shape-${runNo}`), runId);
    // Wide waves replay a lot before the rework: give them wall time (virtual time moves on its own).
    const status = await engine.host.waitFor(runId, { timeoutMs: 60 * 60_000 });
    const run = status.output as RunState;
    if (run?.status === undefined) throw new Error(`${shape.name}: ${String(status.runtimeStatus)} ${JSON.stringify(status.output).slice(0, 500)}`);
    if (run.status !== 'succeeded') throw new Error(`${shape.name} ended ${run.status}`);
    return { run, runId };
  };
  try {
    lines.push('makespan / critical path (virtual time; 1.00 = every step starts when its dependencies succeed)');
    for (const shape of FIXED_SHAPES) {
      const { run } = await runShape(shape);
      lines.push(`  ${shape.name}: ${fmt(makespanMinutes(run) / criticalPathMinutes(shape), 2)}`);
    }
    for (const [label, make] of [
      ['10 chains × 3 steps (1–30 min), 20 seeds', (seed: number) => chains(seed, 10, 3)],
      ['random 30-step DAGs (1–30 min), 20 seeds', (seed: number) => randomDag(seed, 30)],
    ] as const) {
      const ratios: number[] = [];
      for (let seed = 1; seed <= 20; seed++) {
        const shape = make(seed);
        const { run } = await runShape(shape);
        ratios.push(makespanMinutes(run) / criticalPathMinutes(shape));
      }
      lines.push(`  ${label}: median ${fmt(median(ratios), 2)}, worst ${fmt(Math.max(...ratios), 2)}`);
    }

    type Work = { events: number; bytes: number; cpu: number };
    /** Runs `shape` and measures what was handed to the orchestrators over their wake-ups. */
    const measure = async (shape: DagShape): Promise<{ parent: Work & { wakeUps: number; maxEvents: number }; total: Work & { instances: number } }> => {
      const { runId } = await runShape(shape);
      const stats = engine.host.stats(runId);
      const parent = { ...replayedWork(engine.host.executions(runId)), cpu: stats.replayCpuMs, wakeUps: stats.replays, maxEvents: stats.maxHistoryEvents };
      const ids = engine.host.instanceIds().filter((id) => id === runId || id.startsWith(`${runId}:`));
      const whole = ids.map((id) => ({ ...replayedWork(engine.host.executions(id)), cpu: engine.host.stats(id).replayCpuMs }));
      return { parent, total: { events: sum(whole.map((w) => w.events)), bytes: sum(whole.map((w) => w.bytes)), cpu: sum(whole.map((w) => w.cpu)), instances: ids.length } };
    };
    const growth = (label: string, a: Work, b: Work, na: number, nb: number) =>
      `${label} events ${fmt(exponent(na, a.events, nb, b.events), 2)}, bytes ${fmt(exponent(na, a.bytes, nb, b.bytes), 2)}, CPU ${fmt(exponent(na, a.cpu, nb, b.cpu), 2)}`;
    const table = async (title: string, sizes: readonly number[], shapeOf: (n: number) => DagShape): Promise<void> => {
      lines.push(title);
      lines.push('  n | parent: wake-ups, max events per execution, events, bytes, replay CPU ms | whole run (every instance): instances, events, bytes, replay CPU ms');
      const rows: { n: number; parent: Work; total: Work }[] = [];
      for (const n of sizes) {
        const { parent, total } = await measure(shapeOf(n));
        rows.push({ n, parent, total });
        lines.push(
          `  ${n} | ${parent.wakeUps}, ${parent.maxEvents}, ${parent.events}, ${mb(parent.bytes)}, ${fmt(parent.cpu, 0)} | ${total.instances}, ${total.events}, ${mb(total.bytes)}, ${fmt(total.cpu, 0)}`,
        );
      }
      for (let i = 1; i < rows.length; i++) {
        const a = rows[i - 1];
        const b = rows[i];
        if (a && b) lines.push(`  exponent ${a.n}→${b.n}: ${growth('parent', a.parent, b.parent, a.n, b.n)}; ${growth('whole run', a.total, b.total, a.n, b.n)}`);
      }
      const first = rows[0];
      const last = rows.at(-1);
      if (first && last && last !== first) {
        const e = exponent(first.n, first.total.events, last.n, last.total.events);
        const b = exponent(first.n, first.total.bytes, last.n, last.total.bytes);
        lines.push(
          `  exponent ${first.n}→${last.n}, whole run: events ${fmt(e, 2)} (target ≤ 1.2) ${e <= 1.2 ? 'OK' : 'OVER TARGET'}, bytes ${fmt(b, 2)} (target ≤ 1.1) ${b <= 1.1 ? 'OK' : 'OVER TARGET'}`,
        );
      }
    };
    const sizes = (name: string, fallback: string) => (process.env[name] ?? fallback).split(',').map(Number);
    await table('one wave of n steps finishing one by one (step i takes i minutes) — events/bytes handed to orchestrators, summed over wake-ups', sizes('BENCH_WAVE_SIZES', '50,200,400,800'), (n) => ({
      name: `wave-${n}`,
      steps: Array.from({ length: n }, (_, i) => ({ id: `w${i}`, minutes: i + 1, dependsOn: [] })),
    }));
    // The hard case: most steps hand over to a dependent of their own, so nearly every end wakes the run.
    await table('random DAGs of n steps (seed 1, each step depends on up to 3 earlier ones)', sizes('BENCH_DAG_SIZES', '50,200,400,800'), (n) => randomDag(1, n));
    return lines;
  } finally {
    await engine.stop();
  }
}
