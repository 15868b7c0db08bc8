/**
 * Random scenarios for the differential check, drawn with fast-check so a failing one shrinks. The
 * arbitrary draws a *raw* scenario made of plain records, arrays and integers (what fast-check
 * shrinks well); `buildScenario` turns it into a `Scenario` deterministically — dependencies from
 * back-offsets, cancel and timeout instants from fractions of the run's makespan, so an interrupt
 * lands while the run is going and on a half second (never on a step's end, which is whole).
 */
import fc from 'fast-check';
import { pipeline } from '../engineHarness';
import type { PipelineDefinition, PipelineInput } from '../../../src/pipelines/schema';
import { makespanMs, type AttemptScript, type Condition, type CancelPlan, type Delays, type DropPlan, type RetryClass, type Scenario, type StepSpec } from './model';

/** `arbitrary` in `percent` % of draws, else null (fast-check shrinks toward the null). */
function sometimes<T>(percent: number, arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | null> {
  return fc.oneof({ withCrossShrink: true }, { weight: 100 - percent, arbitrary: fc.constant(null) }, { weight: percent, arbitrary });
}

const rawAttempt = fc.record({
  /** 0–1: answered at once; else a polled job. */
  kind: fc.nat(9),
  seconds: fc.integer({ min: 5, max: 1200 }),
  /** 0–6 succeeds, 7–8 transient, 9 permanent. */
  fail: fc.nat(9),
  retryAfter: sometimes(15, fc.integer({ min: 1, max: 400 })),
});
type RawAttempt = typeof rawAttempt extends fc.Arbitrary<infer T> ? T : never;

const rawDelays = fc.oneof(
  fc.integer({ min: 0, max: 600 }),
  fc.array(fc.integer({ min: 0, max: 600 }), { minLength: 1, maxLength: 3 }),
  fc.record({ initial: fc.integer({ min: 1, max: 120 }), factor: fc.constantFrom(1, 2, 3), max: sometimes(50, fc.integer({ min: 1, max: 900 })) }),
);

const rawStep = fc.record({
  /** Back-offsets to earlier steps (a DAG whatever the numbers). */
  deps: fc.array(fc.nat(40), { maxLength: 3 }),
  group: fc.nat(3),
  base: rawAttempt,
  script: fc.array(rawAttempt, { maxLength: 3 }),
  attempts: fc.integer({ min: 1, max: 4 }),
  delays: rawDelays,
  retryOn: fc.constantFrom<readonly RetryClass[]>(['transient', 'timeout'], ['transient', 'timeout'], ['transient'], ['timeout'], []),
  timeout: sometimes(20, fc.integer({ min: 5, max: 1200 })),
});
type RawStep = typeof rawStep extends fc.Arbitrary<infer T> ? T : never;

/** A quiet step for long chains: short and succeeding, so the chain lives long enough to continue as new. */
const chainStep = rawStep.map((s) => ({ ...s, base: { ...s.base, seconds: 5 + (s.base.seconds % 90) }, script: [], timeout: null }));

const shape = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('dag' as const), steps: fc.array(rawStep, { minLength: 1, maxLength: 14 }) }) },
  // A wave wider than FAN_OUT (10) runs in batch nodes (engine README 2); a few dependents follow.
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('wave' as const), steps: fc.array(rawStep, { minLength: 12, maxLength: 24 }), tail: fc.integer({ min: 0, max: 3 }) }) },
  // More than WAITS_PER_EXECUTION (40) waits: the run continues as new (engine README 2).
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('chain' as const), steps: fc.array(chainStep, { minLength: 48, maxLength: 70 }) }) },
);

const rawCancel = fc.record({
  via: fc.constantFrom('api' as const, 'event' as const),
  at: fc.oneof(
    { weight: 6, arbitrary: fc.record({ kind: fc.constant('instant' as const), permille: fc.integer({ min: 0, max: 1000 }) }) },
    // Tied cancels: raised from inside the run's own work at a step's end or start, so they land
    // while the run is busy (in a wake-up with other events, possibly the one that continues as new).
    { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('afterNotice' as const, 'beforeNotice' as const), step: fc.nat(60) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('atPollEnd' as const, 'atStart' as const), step: fc.nat(60), call: fc.integer({ min: 1, max: 2 }) }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'atReconcile' as const }) },
  ),
});

const rawDrops = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'all' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('steps' as const), mask: fc.array(fc.boolean(), { minLength: 1, maxLength: 60 }) }) },
);

export const rawScenario = fc.record({
  shape,
  maxParallel: sometimes(25, fc.integer({ min: 1, max: 4 })),
  groups: sometimes(20, fc.record({ g0: fc.integer({ min: 1, max: 2 }), g1: fc.integer({ min: 1, max: 3 }) })),
  pipelineRetry: sometimes(35, fc.record({ retries: fc.integer({ min: 1, max: 2 }), delay: fc.integer({ min: 0, max: 900 }), retryPermanent: fc.boolean() })),
  /** Run timeout at this ‰ of the makespan (past 1000: the run ends first). */
  timeoutPermille: sometimes(20, fc.integer({ min: 50, max: 1100 })),
  cancel: sometimes(40, rawCancel),
  drops: rawDrops,
});
export type RawScenario = typeof rawScenario extends fc.Arbitrary<infer T> ? T : never;

function attemptOf(raw: RawAttempt, last: boolean): AttemptScript {
  const seconds = raw.kind <= 1 ? 0 : raw.seconds;
  if (last || raw.fail <= 6) return { seconds, outcome: 'succeeded' };
  if (raw.fail === 9) return { seconds, outcome: 'permanent' };
  return { seconds, outcome: 'transient', ...(raw.retryAfter === null ? {} : { retryAfterSeconds: raw.retryAfter }) };
}

function delaysOf(raw: RawStep['delays']): Delays {
  if (typeof raw === 'number' || Array.isArray(raw)) return raw;
  const r = raw as { initial: number; factor: number; max: number | null };
  return { initial: r.initial, factor: r.factor, ...(r.max === null ? {} : { max: r.max }) };
}

/** The deterministic scenario a raw draw stands for; `extend` adds steps (items) before interrupts are placed. */
export function buildScenario(raw: RawScenario, name: string, extend: (steps: StepSpec[]) => StepSpec[] = (steps) => steps): Scenario {
  const n = raw.shape.steps.length;
  const roots = raw.shape.kind === 'wave' ? Math.max(11, n - raw.shape.tail) : 0;
  const plain: StepSpec[] = raw.shape.steps.map((s, i) => {
    let dependsOn: string[];
    if (raw.shape.kind === 'chain') dependsOn = i === 0 ? [] : [`s${i - 1}`];
    else if (raw.shape.kind === 'wave' && i < roots) dependsOn = [];
    else dependsOn = i === 0 ? [] : [...new Set(s.deps.map((d) => `s${i - 1 - (d % i)}`))];
    const script = s.script.map((a) => attemptOf(a, false));
    // A step timeout never equals a job's duration: no tie between the deadline and the end.
    let timeoutSeconds = s.timeout ?? undefined;
    const durations = new Set([...script, attemptOf(s.base, true)].map((a) => a.seconds));
    while (timeoutSeconds !== undefined && durations.has(timeoutSeconds)) timeoutSeconds++;
    const group = raw.groups !== null && s.group <= 1 ? `g${s.group}` : undefined;
    return {
      id: `s${i}`,
      dependsOn,
      ...(group === undefined ? {} : { group }),
      attempts: s.attempts,
      delays: delaysOf(s.delays),
      retryOn: s.retryOn,
      ...(timeoutSeconds === undefined ? {} : { timeoutSeconds }),
      script,
      after: attemptOf(s.base, true),
    };
  });
  const steps = extend(plain);
  // A tied cancel names a step that makes start calls: a forEach step's first item stands for it.
  const caller = (id: string): string => (steps.some((x) => x.itemOf === id) ? `${id}[0]` : id);
  const base: Scenario = {
    name,
    steps,
    ...(raw.maxParallel === null ? {} : { maxParallel: raw.maxParallel }),
    groups: raw.groups === null ? {} : { g0: raw.groups.g0, g1: raw.groups.g1 },
    pipelineRetry: raw.pipelineRetry === null ? { retries: 0, delaySeconds: 0, retryPermanent: false } : { retries: raw.pipelineRetry.retries, delaySeconds: raw.pipelineRetry.delay, retryPermanent: raw.pipelineRetry.retryPermanent },
    drops: dropsOf(raw.drops, n),
  };
  const makespan = makespanMs(base);
  const halfSecondAt = (permille: number): number => Math.floor((makespan * permille) / 1000 / 1000) + 0.5;
  const timeoutSeconds = raw.timeoutPermille === null ? undefined : halfSecondAt(raw.timeoutPermille);
  let cancel: CancelPlan | undefined;
  if (raw.cancel !== null) {
    const at = raw.cancel.at;
    if (at.kind === 'instant') cancel = { via: raw.cancel.via, at: { kind: 'instant', seconds: halfSecondAt(at.permille) } };
    else if (at.kind === 'afterNotice' || at.kind === 'beforeNotice') cancel = { via: raw.cancel.via, at: { kind: at.kind, stepId: caller(`s${at.step % n}`) } };
    else if (at.kind === 'atReconcile') cancel = { via: raw.cancel.via, at: { kind: 'atReconcile' } };
    else if ('call' in at) cancel = { via: raw.cancel.via, at: { kind: at.kind, stepId: caller(`s${at.step % n}`), call: at.call } };
  }
  return { ...base, ...(timeoutSeconds === undefined ? {} : { timeoutSeconds }), ...(cancel ? { cancel } : {}) };
}

function dropsOf(raw: RawScenario['drops'], n: number): DropPlan {
  if (raw.kind !== 'steps') return raw;
  const steps = Array.from({ length: n }, (_, i) => i).filter((i) => raw.mask[i % raw.mask.length] === true).map((i) => `s${i}`);
  return steps.length === 0 ? { kind: 'none' } : { kind: 'steps', steps };
}

/**
 * How scenarios are drawn: unbiased, so the weights above hold (fast-check's bias would favour
 * first-instant cancels and the smallest shapes). `fc.check` with these and `numRuns: 1` replays
 * the seed's scenario first, then shrinks it.
 */
export function drawParameters<T>(seed: number): fc.Parameters<T> {
  // `unbiased: true`, not the `fc.unbiased()` plugin: fast-check 4.11's `sample` ignores plugins.
  return { seed, numRuns: 1, unbiased: true };
}

/** The scenario of one seed: the first draw of fast-check with that seed (what `fc.check` shrinks from). */
export function scenarioOfSeed(seed: number): Scenario {
  const [raw] = fc.sample(rawScenario, drawParameters(seed));
  if (!raw) throw new Error(`no scenario for seed ${seed}`);
  return buildScenario(raw, `diff-${seed}`);
}

/**
 * The pipeline language on top of a drawn scenario (docs/pipelines.md §2): a condition per
 * dependency (mostly `succeeded`, else `failed`, `completed` or `skipped`) and some steps whose
 * `when` is false. Drawn apart from `rawScenario`, so the seeds of the plain check draw as before.
 */
export const rawLanguage = fc.record({
  conditions: fc.array(fc.nat(11), { minLength: 64, maxLength: 64 }),
  whens: fc.array(fc.nat(9), { minLength: 64, maxLength: 64 }),
});
export type RawLanguage = typeof rawLanguage extends fc.Arbitrary<infer T> ? T : never;

const CONDITION_OF: readonly Condition[] = ['succeeded', 'succeeded', 'succeeded', 'succeeded', 'succeeded', 'failed', 'failed', 'completed', 'completed', 'completed', 'skipped', 'skipped'];

export function withLanguage(scenario: Scenario, raw: RawLanguage): Scenario {
  const steps = scenario.steps.map((step, i) => {
    if (step.itemOf !== undefined) return step;
    const conditions: Record<string, Condition> = {};
    step.dependsOn.forEach((dep, j) => {
      const condition = CONDITION_OF[raw.conditions[(i * 3 + j) % raw.conditions.length] ?? 0] ?? 'succeeded';
      if (condition !== 'succeeded') conditions[dep] = condition;
    });
    const whenFalse = raw.whens[i % raw.whens.length] === 0;
    return { ...step, ...(Object.keys(conditions).length > 0 ? { conditions } : {}), ...(whenFalse ? { whenFalse } : {}) };
  });
  return { ...scenario, steps };
}

/** A scenario with conditions and `when` for one seed (the language check's seeds). */
export function languageScenarioOfSeed(seed: number): Scenario {
  const [drawn] = fc.sample(fc.tuple(rawScenario, rawLanguage), drawParameters(seed));
  if (!drawn) throw new Error(`no scenario for seed ${seed}`);
  return withLanguage(buildScenario(drawn[0], `lang-${seed}`), drawn[1]);
}

/**
 * forEach on top of a drawn scenario (docs/pipelines.md §3): one or two of its steps map over a
 * list parameter of 1–6 items, with `maxParallel` 1–3 and either `onItemFailure`; each item answers
 * its start calls from its own script (failures, retries, polled jobs) under its step's policy.
 * Drawn apart from `rawScenario`, so the seeds of the plain check draw as before.
 */
export const rawItems = fc.record({
  owners: fc.array(fc.nat(63), { minLength: 1, maxLength: 2 }),
  counts: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 2, maxLength: 2 }),
  maxParallel: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 2, maxLength: 2 }),
  failFast: fc.array(fc.boolean(), { minLength: 2, maxLength: 2 }),
  base: fc.array(rawAttempt, { minLength: 12, maxLength: 12 }),
  scripts: fc.array(fc.array(rawAttempt, { maxLength: 2 }), { minLength: 12, maxLength: 12 }),
});
export type RawItems = typeof rawItems extends fc.Arbitrary<infer T> ? T : never;

export function withItems(steps: StepSpec[], raw: RawItems): StepSpec[] {
  const owners = [...new Set(raw.owners.map((o) => o % steps.length))];
  const items: StepSpec[] = [];
  let k = 0;
  const out = steps.map((step, i) => {
    const j = owners.indexOf(i);
    if (j < 0) return step;
    const count = raw.counts[j] ?? 1;
    const own: StepSpec[] = [];
    for (let index = 0; index < count; index++, k++) {
      own.push({
        id: `${step.id}[${index}]`,
        dependsOn: [],
        itemOf: step.id,
        attempts: step.attempts,
        delays: step.delays,
        retryOn: step.retryOn,
        script: (raw.scripts[k % raw.scripts.length] ?? []).map((a) => attemptOf(a, false)),
        after: attemptOf(raw.base[k % raw.base.length] ?? { kind: 0, seconds: 5, fail: 0, retryAfter: null }, true),
      });
    }
    // A step timeout never equals a job's duration (as for plain steps): no tie between the deadline and the end.
    let timeoutSeconds = step.timeoutSeconds;
    const durations = new Set(own.flatMap((it) => [...it.script, it.after].map((a) => a.seconds)));
    while (timeoutSeconds !== undefined && durations.has(timeoutSeconds)) timeoutSeconds++;
    items.push(...own.map((it) => ({ ...it, ...(timeoutSeconds === undefined ? {} : { timeoutSeconds }) })));
    return { ...step, ...(timeoutSeconds === undefined ? {} : { timeoutSeconds }), forEach: { maxParallel: raw.maxParallel[j] ?? 1, onItemFailure: raw.failFast[j] === true ? ('failFast' as const) : ('finishOthers' as const) } };
  });
  return [...out, ...items];
}

/** A scenario with forEach steps for one seed (the items check's seeds). */
export function itemScenarioOfSeed(seed: number): Scenario {
  const [drawn] = fc.sample(fc.tuple(rawScenario, rawItems), drawParameters(seed));
  if (!drawn) throw new Error(`no scenario for seed ${seed}`);
  return buildScenario(drawn[0], `items-${seed}`, (steps) => withItems(steps, drawn[1]));
}

/** The run's parameters: each forEach step's list (its items are their index). */
export function parametersOf(scenario: Scenario): Record<string, number[]> {
  return Object.fromEntries(scenario.steps.filter((s) => s.forEach !== undefined).map((s) => [itemsParameter(s.id), scenario.steps.filter((x) => x.itemOf === s.id).map((_, i) => i)]));
}

const itemsParameter = (stepId: string): string => `items_${stepId}`;

/** The scenario as a pipeline definition: `azureFunction` steps (a scripted adapter answers them), jitter off. */
export function pipelineOf(scenario: Scenario, name: string): PipelineDefinition {
  const steps: PipelineInput['steps'] = scenario.steps.filter((s) => s.itemOf === undefined).map((s) => ({
    id: s.id,
    kind: 'azureFunction',
    url: `https://fn.example/api/${s.id}`,
    dependsOn: [...s.dependsOn],
    retry: { attempts: s.attempts, delays: delaysInput(s.delays), jitter: 0, retryOn: [...s.retryOn] },
    ...(s.timeoutSeconds === undefined ? {} : { timeout: s.timeoutSeconds }),
    ...(s.group === undefined ? {} : { group: s.group }),
    ...(s.conditions === undefined ? {} : { conditions: { ...s.conditions } }),
    // A `when` that is always false, written as a user would (docs/pipelines.md §2).
    ...(s.whenFalse === true ? { when: "run.id == 'never'" } : {}),
    ...(s.forEach === undefined ? {} : { forEach: { items: { param: itemsParameter(s.id) }, maxParallel: s.forEach.maxParallel, onItemFailure: s.forEach.onItemFailure } }),
  }));
  const lists = scenario.steps.filter((s) => s.forEach !== undefined);
  return pipeline({
    name,
    title: name,
    steps,
    ...(scenario.maxParallel === undefined ? {} : { maxParallel: scenario.maxParallel }),
    concurrencyGroups: Object.fromEntries(Object.entries(scenario.groups).map(([g, limit]) => [g, { maxParallel: limit }])),
    pipelineRetry: { retries: scenario.pipelineRetry.retries, delay: scenario.pipelineRetry.delaySeconds, retryPermanent: scenario.pipelineRetry.retryPermanent },
    ...(scenario.timeoutSeconds === undefined ? {} : { timeout: scenario.timeoutSeconds }),
    ...(lists.length === 0 ? {} : { parameters: Object.fromEntries(lists.map((s) => [itemsParameter(s.id), { type: 'list' as const }])) }),
  });
}

function delaysInput(d: Delays): number | number[] | { initial: number; factor: number; max?: number } {
  if (typeof d === 'number') return d;
  if ('initial' in d) return { initial: d.initial, factor: d.factor, ...(d.max === undefined ? {} : { max: d.max }) };
  return [...d];
}

/** One line per step and one for the run: what a reader needs to redo the scenario by hand. */
export function describeScenario(s: Scenario): string {
  const run = [
    `${s.steps.length} steps`,
    s.maxParallel === undefined ? '' : `maxParallel ${s.maxParallel}`,
    Object.keys(s.groups).length === 0 ? '' : `groups ${Object.entries(s.groups).map(([g, l]) => `${g}:${l}`).join(',')}`,
    s.pipelineRetry.retries === 0 ? '' : `pipelineRetry ${s.pipelineRetry.retries}× after ${s.pipelineRetry.delaySeconds}s${s.pipelineRetry.retryPermanent ? ' (retryPermanent)' : ''}`,
    s.timeoutSeconds === undefined ? '' : `run timeout ${s.timeoutSeconds}s`,
    s.cancel ? `cancel via ${s.cancel.via} ${cancelWhen(s.cancel)}` : '',
    s.drops.kind === 'none' ? '' : s.drops.kind === 'all' ? 'every stepDone notice lost' : `notices lost for ${s.drops.steps.join(',')}`,
  ].filter((x) => x !== '');
  const lines = [`${s.name}: ${run.join(', ')}`];
  for (const step of s.steps) {
    const answers = [...step.script.map(answer), `then ${answer(step.after)}`].join(', ');
    const retry = step.attempts > 1 ? ` retry ${step.attempts}× ${JSON.stringify(step.delays)} on [${step.retryOn.join(',')}]` : '';
    const deps = step.dependsOn.map((d) => (step.conditions?.[d] ? `${d} on ${step.conditions[d]}` : d)).join(',');
    const fe = step.forEach ? ` forEach ×${s.steps.filter((x) => x.itemOf === step.id).length} maxParallel ${step.forEach.maxParallel} ${step.forEach.onItemFailure}` : '';
    lines.push(`  ${step.id} ← [${deps}]${fe}${step.whenFalse ? ' when false' : ''}${step.group ? ` group ${step.group}` : ''}${retry}${step.timeoutSeconds === undefined ? '' : ` timeout ${step.timeoutSeconds}s`}: ${answers}`);
  }
  return lines.join('\n');
}

function cancelWhen(c: CancelPlan): string {
  if (c.at.kind === 'instant') return `at ${c.at.seconds}s`;
  if (c.at.kind === 'afterNotice') return `right after ${c.at.stepId}'s stepDone notice`;
  if (c.at.kind === 'beforeNotice') return `right before ${c.at.stepId}'s stepDone notice`;
  if (c.at.kind === 'atStart') return `from inside ${c.at.stepId}'s start call #${c.at.call}`;
  if (c.at.kind === 'atReconcile') return 'from inside the first reconcileRun after the run continued as new';
  return `from inside the poll ending ${c.at.stepId}'s job #${c.at.call}`;
}

function answer(a: AttemptScript): string {
  const how = a.seconds === 0 ? 'at once' : `${a.seconds}s job`;
  return `${how} ${a.outcome === 'succeeded' ? 'ok' : a.outcome}${a.retryAfterSeconds === undefined ? '' : ` (retry-after ${a.retryAfterSeconds}s)`}`;
}
