/**
 * Engine overhead: history events and replay CPU per seed-pipeline run (fake adapters, virtual
 * clock), against a hand-written minimal Durable orchestrator making the same four activity calls
 * (startStep × 3, finishRun) in a row. Target: ≤ 1.5× the events.
 */
import type { OrchestrationContext } from 'durable-functions';
import type { Registration } from '../src/app/registry';
import { createStepActivities } from '../src/activities';
import { DevHost } from '../src/devhost';
import { engineOrchestrators, ORCHESTRATOR_NAMES, type RunInput, type RunState } from '../src/engine';
import type { FinishRunInput } from '../src/engine/runPipeline';
import { createLogger } from '../src/logging/logger';
import { loadCatalog } from '../src/pipelines/catalog';
import { pipelineInputs } from '../src/pipelines/definitions';
import { definitionVersion } from '../src/pipelines/version';
import { ACTIVITY_NAMES, type StepActivityInput, type StepOutcome } from '../src/steps/protocol';
import { FakeAdapter } from '../test/support/fakeAdapters';
import { fmt, median } from './stats';

const RUNS = 30;

/** What a person would write by hand for the seed: three calls in a row, then the run record. */
function* minimalThreeActivities(context: OrchestrationContext): Generator<unknown, RunState, unknown> {
  const input = context.df.getInput<RunInput>();
  const startedAt = context.df.currentUtcDateTime.toISOString();
  const steps = [];
  for (const [i, step] of input.pipeline.steps.entries()) {
    const stepInput: StepActivityInput = { runId: input.runId, pipeline: input.pipeline.name, definitionVersion: input.definitionVersion, stepId: step.id, attempt: 1, parameters: input.parameters, trigger: input.trigger };
    const outcome = (yield context.df.callActivity(ACTIVITY_NAMES.startStep, stepInput)) as StepOutcome;
    steps.push({ id: step.id, status: 'succeeded' as const, attempts: [{ attempt: 1, startedAt, status: 'succeeded' as const }], ...(outcome.status === 'succeeded' && outcome.output !== undefined ? { output: outcome.output } : {}), order: i });
  }
  const run: RunState = { runId: input.runId, pipeline: input.pipeline.name, status: 'succeeded', pipelineAttempt: 1, startedAt, steps: steps.map(({ order: _o, ...s }) => s) };
  const finish: FinishRunInput = { run, trigger: input.trigger, parameters: input.parameters };
  yield context.df.callActivity(ACTIVITY_NAMES.finishRun, finish);
  return run;
}

export async function run(): Promise<string[]> {
  const catalog = loadCatalog(pipelineInputs);
  const seed = catalog.get('data-pipeline');
  if (!seed) throw new Error('seed pipeline missing');
  const clock = { now: () => new Date() };
  const fake = new FakeAdapter(() => clock.now());
  const activities = createStepActivities({
    catalog,
    adapters: { azureFunction: fake, snowflake: fake, dbt: fake },
    secrets: { get: (name) => Promise.resolve(`value-${name}`), invalidate: () => undefined },
    settings: (name) => `setting-${name}`,
    logger: createLogger({ level: 'silent' }),
    clock: () => clock.now(),
  });
  const registrations: Registration[] = [
    ...engineOrchestrators().map((o) => ({ kind: 'orchestration' as const, name: o.name, handler: o.handler })),
    { kind: 'orchestration', name: 'minimalThreeActivities', handler: minimalThreeActivities as Extract<Registration, { kind: 'orchestration' }>['handler'] },
    { kind: 'activity', name: ACTIVITY_NAMES.startStep, handler: (i: unknown) => activities.startStep(i) },
    { kind: 'activity', name: ACTIVITY_NAMES.finishRun, handler: (i: unknown) => activities.finishRun(i) },
  ];
  const host = await DevHost.start({ registrations, clock: 'virtual', startTime: new Date('2026-03-02T01:00:00Z'), httpPort: false });
  clock.now = () => host.now();
  const measure = async (name: string, id: string) => {
    const input: RunInput = { pipeline: seed, definitionVersion: definitionVersion(seed), runId: id, trigger: { kind: 'manual' }, parameters: {} };
    await host.client.startNew(name, { instanceId: id, input });
    const status = await host.waitFor(id);
    if ((status.output as RunState).status !== 'succeeded') throw new Error(`${name} run ${id} did not succeed`);
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
