/**
 * The reference model of one run, written from the documentation only — README "Writing a
 * pipeline", src/engine/README.md ("A run, step by step"), /work/wt/INTERRUPT_SEMANTICS.md (the
 * integrator's spec, now the README's interrupt table) — never from the engine's code. Pure: no I/O,
 * no clock, no randomness.
 *
 * A discrete-event simulation in virtual time (milliseconds from the run's start). It can run on
 * its own (every step starts the moment the rules say: what the generator uses to place cancels),
 * or *conditioned* on what really happened: the instants the step service saw each attempt start
 * (the adapter's call log). Conditioned, it checks every observed start against the rules (is the
 * step due? too late? after the run ended?) and continues from the observed instants, so one early
 * or late start is reported once instead of shifting everything after it; and it predicts the final
 * state — each step's status and attempts, the run's outcome — that the engine must report.
 *
 * Rules and their sources are listed in ./README.md; every rule the docs leave open is marked
 * ASSUMED here and there.
 */

/** README "A run, step by step" 2: the check-in timer runs every CHECK_IN_MS, 15 min on the clock. */
export const CHECK_IN_MS = 15 * 60_000;

export type FailClass = 'transient' | 'permanent';
export type RetryClass = 'transient' | 'timeout';

/** What the step service answers one `start` call: at once (0 s) or as a polled job of `seconds`. */
export interface AttemptScript {
  readonly seconds: number;
  readonly outcome: 'succeeded' | FailClass;
  /** A transient failure's Retry-After hint (README: the delay is never less than it). */
  readonly retryAfterSeconds?: number;
}

export type Delays = number | readonly number[] | { readonly initial: number; readonly factor: number; readonly max?: number };

export interface StepSpec {
  readonly id: string;
  readonly dependsOn: readonly string[];
  readonly group?: string;
  /** Total attempts per pipeline attempt (README: `attempts` counts the first try). */
  readonly attempts: number;
  readonly delays: Delays;
  readonly retryOn: readonly RetryClass[];
  readonly timeoutSeconds?: number;
  /** The answers to the step's start calls, in call order; once used up, `after`. */
  readonly script: readonly AttemptScript[];
  readonly after: AttemptScript;
  /** docs/pipelines.md §2: what each dependency waits for; absent = succeeded. */
  readonly conditions?: Readonly<Record<string, Condition>>;
  /** docs/pipelines.md §2: the step's `when` is false (the driver writes one that always is). */
  readonly whenFalse?: boolean;
  /**
   * docs/pipelines.md §3: a `forEach` step. It has no attempts of its own (its `script` is never
   * used); its items are the scenario's steps whose `itemOf` names it, in item order.
   */
  readonly forEach?: { readonly maxParallel: number; readonly onItemFailure: 'finishOthers' | 'failFast' };
  /**
   * An item of a forEach step (id `<step>[<index>]`, docs/pipelines.md §3): a step of the run with
   * the step's retry policy and timeout and its own answers; no dependencies of its own. Items come
   * after every other step of the scenario ("appended to the run's shape", engine README 1).
   */
  readonly itemOf?: string;
}

export type Condition = 'succeeded' | 'failed' | 'completed' | 'skipped';

/**
 * docs/pipelines.md §2, the conditions table: met, or never met, by a dependency that ended in
 * `phase`; undefined while it has not ended.
 */
export function conditionMet(condition: Condition, phase: string): boolean | undefined {
  if (phase !== 'succeeded' && phase !== 'failed' && phase !== 'skipped' && phase !== 'cancelled') return undefined;
  if (condition === 'succeeded') return phase === 'succeeded';
  if (condition === 'failed') return phase === 'failed';
  if (condition === 'completed') return phase === 'succeeded' || phase === 'failed';
  return phase === 'skipped';
}

/** How and when a cancel is sent. */
export interface CancelPlan {
  /** `api`: POST /api/runs/{id}/cancel (the app's cancel store); `event`: a raw Durable `cancel` event. */
  readonly via: 'api' | 'event';
  readonly at:
    | { readonly kind: 'instant'; readonly seconds: number }
    /** Right after the first stepDone notice carrying this step's end is raised (same instant). */
    | { readonly kind: 'afterNotice'; readonly stepId: string }
    /** Right before the first stepDone notice carrying this step's end is raised (same instant). */
    | { readonly kind: 'beforeNotice'; readonly stepId: string }
    /** From inside the poll that finds this step's `call`-th job done (same instant). */
    | { readonly kind: 'atPollEnd'; readonly stepId: string; readonly call: number }
    /** From inside this step's `call`-th start call, before it answers (same instant). */
    | { readonly kind: 'atStart'; readonly stepId: string; readonly call: number }
    /** From inside the first `reconcileRun` of a run that continued as new (when it reads the cancel store). */
    | { readonly kind: 'atReconcile' };
}

export type DropPlan = { readonly kind: 'none' } | { readonly kind: 'all' } | { readonly kind: 'steps'; readonly steps: readonly string[] };

export interface Scenario {
  readonly name: string;
  readonly steps: readonly StepSpec[];
  readonly maxParallel?: number;
  readonly groups: Readonly<Record<string, number>>;
  /** Pipeline `timeout` (whole run, retries included); generated at half-second offsets. */
  readonly timeoutSeconds?: number;
  readonly pipelineRetry: { readonly retries: number; readonly delaySeconds: number; readonly retryPermanent: boolean };
  readonly cancel?: CancelPlan;
  readonly drops: DropPlan;
}

/** What really happened, from the step service's side (the driver's adapter log). */
export interface Observation {
  /** Step id → the instants of its start calls, in order (ms from the run's start). */
  readonly starts: ReadonlyMap<string, readonly number[]>;
  /** When the cancel was raised (ms), if it was. */
  readonly cancelAt?: number;
}

export type Outcome = 'succeeded' | 'failed:transient' | 'failed:permanent' | 'failed:timeout' | 'cancelled';
export type FinalStepStatus = 'succeeded' | 'failed' | 'skipped' | 'cancelled';

export interface PredictedAttempt {
  readonly n: number;
  readonly start: number;
  readonly end: number;
  readonly outcome: Outcome;
}

export interface PredictedStep {
  readonly id: string;
  /** `unknown` only when the observed run stalled (a start the rules required never came). */
  readonly status: FinalStepStatus | 'unknown';
  readonly attempts: readonly PredictedAttempt[];
  /**
   * Also accepted, only for a start call that answered at the very instant a tied cancel was taken
   * (engine README, "A call out at the interrupt": order decides, not the clock — a call still out
   * when the run took the cancel ends `cancelled`, even with an answer at that instant): the step
   * `cancelled`, that attempt `cancelled` at the instant.
   */
  readonly orCancelledAtTie?: { readonly attempts: readonly PredictedAttempt[] };
  /**
   * A forEach step that became ready less than a check-in before the interrupt with lost notices,
   * or at the very instant of a tied cancel, and none of whose items had started: the run may not
   * have learned it was ready (README "Lost notices"; the tie rule), so `skipped` is accepted too —
   * and then its items may not be in the run at all.
   */
  readonly orSkipped?: true;
  readonly mayBeAbsent?: true;
}

export interface RunOutcome {
  readonly status: 'succeeded' | 'failed' | 'cancelled';
  /** `timeout` for a run timeout; a failed run's class is its first failed step's (see `failedFirst`). */
  readonly class?: string;
}

/** A rule broken by what really happened (the observed starts). */
export interface Violation {
  readonly kind: ViolationKind;
  readonly stepId: string;
  readonly detail: string;
}

export type ViolationKind =
  | 'start after the run ended'
  | 'start before the step was due'
  | 'start beyond the limits'
  | 'first start late'
  | 'retry start late'
  | 'retry start early'
  | 'start never came'
  | 'start of a step that had ended';

export interface Prediction {
  /** undefined when the observed run stalled and the model cannot say how it ends. */
  readonly outcome?: RunOutcome;
  /** Outcomes also accepted: an interrupt that fell while the run could not yet know it had settled. */
  readonly alsoAccepted: readonly RunOutcome[];
  /** The steps a failed run's error may name, with their class ("first failed step": definition or time order). */
  readonly failedFirst: readonly { readonly stepId: string; readonly class: string }[];
  /** When the run ends (ms), a window when notices may be lost. */
  readonly end?: { readonly lo: number; readonly hi: number };
  readonly steps: readonly PredictedStep[];
  readonly violations: readonly Violation[];
  /** Polled attempts in progress at the interrupt: their job must be asked to stop (`cancelStep`) at the interrupt. */
  readonly stopJobs: readonly { readonly stepId: string; readonly attempt: number; readonly at: number }[];
  readonly interrupt?: { readonly kind: 'cancel' | 'timeout'; readonly at: number };
}

// ── Retry rules ───────────────────────────────────────────────────────────────────────────────────

/**
 * The wait before the `k`-th retry (k = 1 after the first failure) of one pipeline attempt, in
 * seconds. README: one number for every retry; a list whose last entry repeats; `{ initial, factor,
 * max }`. ASSUMED for the exponential form: initial × factor^(k−1), capped at `max` (Prefect's
 * exponential_backoff, Airflow's retry_exponential_backoff, ADF's doubling interval all grow from
 * the first retry). Jitter is not modelled: generated definitions set `jitter: 0` (its fraction
 * comes from an undocumented hash).
 */
export function retryDelaySeconds(delays: Delays, k: number): number {
  if (typeof delays === 'number') return delays;
  if ('initial' in delays) {
    const grown = delays.initial * delays.factor ** (k - 1);
    return delays.max === undefined ? grown : Math.min(grown, delays.max);
  }
  return delays[Math.min(k - 1, delays.length - 1)] ?? 0;
}

/** README 3: with a step `timeout` a polled attempt fails with class `timeout` at start + timeout. */
function effective(script: AttemptScript, timeoutSeconds: number | undefined): { ms: number; outcome: Outcome; retryAfterSeconds?: number } {
  if (script.seconds > 0 && timeoutSeconds !== undefined && timeoutSeconds < script.seconds) return { ms: timeoutSeconds * 1000, outcome: 'failed:timeout' };
  const outcome: Outcome = script.outcome === 'succeeded' ? 'succeeded' : `failed:${script.outcome}`;
  return { ms: script.seconds * 1000, outcome, ...(script.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: script.retryAfterSeconds }) };
}

// ── The simulation ────────────────────────────────────────────────────────────────────────────────

type StepPhase = 'pending' | 'due' | 'running' | 'waiting' | FinalStepStatus;

interface StepRun {
  readonly spec: StepSpec;
  readonly index: number;
  phase: StepPhase;
  attempts: PredictedAttempt[];
  /** Start calls taken from the script so far. */
  calls: number;
  /** Attempts made in the current pipeline attempt. */
  tries: number;
  /** The class of the attempt that failed the step (for pipeline retry's permanent rule). */
  failedClass?: string;
  failedAt?: number;
  /** The running attempt's true end, outcome and retry hint. */
  current?: { n: number; start: number; end: number; outcome: Outcome; polled: boolean; retryAfterSeconds?: number };
  /** Since when the step has been due, and whether a first start (window W) or a retry (exact). */
  dueSince?: number;
  dueKind?: 'first' | 'retry';
  retryAt?: number;
  lateFlagged: boolean;
  /** Attempts whose start call answered "running" (a polled job): not a call out at an interrupt. */
  readonly polledAttempts: Set<number>;
}

/** Event phases at one instant: ends first (an end at t counts as before anything else at t), then timers, then decisions. */
const enum At {
  End = 0,
  RetryDue = 1,
  PipelineRetry = 2,
  Evaluate = 3,
  ObservedStart = 4,
  /** A cancel raised at the very instant of an end: after the starts of that instant (ties, spec). */
  TiedInterrupt = 5,
  LateCheck = 6,
  Interrupt = 7,
}

type SimEvent =
  | { t: number; at: At.End; step: number; n: number }
  | { t: number; at: At.RetryDue; step: number }
  | { t: number; at: At.PipelineRetry }
  | { t: number; at: At.Evaluate }
  | { t: number; at: At.ObservedStart; step: number; deferred?: number }
  | { t: number; at: At.TiedInterrupt | At.Interrupt; kind: 'cancel' | 'timeout' }
  | { t: number; at: At.LateCheck; step: number; since: number };

export interface SimulateOptions {
  /** Conditioned on what really happened; without it every start happens when due. */
  readonly observed?: Observation;
  /** Without an observation: where the planned cancel lands (ms), if anywhere. */
  readonly plannedCancelAt?: number;
}

/** Simulates one run of `scenario`. See the file comment. */
export function simulate(scenario: Scenario, options: SimulateOptions = {}): Prediction {
  const { observed } = options;
  // README / spec "Lost notices": a dependent starts no later than one check-in after its
  // dependencies' true end. With every notice delivered, exactly at that end.
  const windowMs = scenario.drops.kind === 'none' ? 0 : CHECK_IN_MS;
  const byId = new Map(scenario.steps.map((s, i) => [s.id, i]));
  const steps: StepRun[] = scenario.steps.map((spec, index) => ({ spec, index, phase: 'pending', attempts: [], calls: 0, tries: 0, lateFlagged: false, polledAttempts: new Set<number>() }));
  const violations: Violation[] = [];
  const stopJobs: { stepId: string; attempt: number; at: number }[] = [];
  const queue: SimEvent[] = [];
  let seq = 0;
  const order = new WeakMap<SimEvent, number>();
  const push = (e: SimEvent): void => {
    order.set(e, seq++);
    queue.push(e);
  };
  const pop = (): SimEvent | undefined => {
    let best = -1;
    for (let i = 0; i < queue.length; i++) {
      const a = queue[i]!;
      const b = best < 0 ? undefined : queue[best]!;
      if (!b || a.t < b.t || (a.t === b.t && (a.at < b.at || (a.at === b.at && order.get(a)! < order.get(b)!)))) best = i;
    }
    return best < 0 ? undefined : queue.splice(best, 1)[0];
  };

  let retriesLeft = scenario.pipelineRetry.retries;
  let ended: { at: number; outcome: RunOutcome; by: 'settle' | 'cancel' | 'timeout' } | undefined;
  let waitingForPipelineRetry = false;
  const alsoAccepted: RunOutcome[] = [];

  const observedStarts = new Map<number, number[]>();
  if (observed) {
    const all: { t: number; step: number }[] = [];
    for (const [id, instants] of observed.starts) {
      const index = byId.get(id);
      if (index === undefined) continue;
      observedStarts.set(index, [...instants]);
      for (const t of instants) all.push({ t, step: index });
    }
    all.sort((a, b) => a.t - b.t || a.step - b.step);
    for (const { t, step } of all) push({ t, at: At.ObservedStart, step });
  }
  const violate = (kind: ViolationKind, step: StepRun, detail: string): void => {
    violations.push({ kind, stepId: step.spec.id, detail });
  };
  const sec = (ms: number): string => `${ms / 1000}s`;

  // Interrupts: the run timeout (pipeline `timeout`, whole run) and the cancel.
  if (scenario.timeoutSeconds !== undefined) push({ t: scenario.timeoutSeconds * 1000, at: At.Interrupt, kind: 'timeout' });
  const cancelAt = observed ? observed.cancelAt : options.plannedCancelAt;
  if (cancelAt !== undefined) push({ t: cancelAt, at: scenario.cancel?.at.kind === 'instant' ? At.Interrupt : At.TiedInterrupt, kind: 'cancel' });

  // docs/pipelines.md §3: an item belongs to its forEach step; it may run while that step runs.
  const ownerOf = (s: StepRun): StepRun | undefined => (s.spec.itemOf === undefined ? undefined : steps[byId.get(s.spec.itemOf)!]);
  const itemsOf = (s: StepRun): StepRun[] => steps.filter((x) => x.spec.itemOf === s.spec.id);
  /** A forEach step whose items joined the run (they exist, in the run's state, from then on). */
  const expanded = new Set<number>();
  const expandedAt = new Map<number, number>();
  /**
   * Engine README 1: a forEach step's items are appended to the run's shape when it expands (the
   * first time), so among ready steps they come after the definition's steps, in expansion order.
   */
  const expansionOrder = new Map<number, number>();
  const admissionKey = (s: StepRun): number => {
    const owner = ownerOf(s);
    return owner === undefined ? s.index : steps.length + (expansionOrder.get(owner.index) ?? 0) * steps.length + s.index;
  };
  /** forEach steps the interrupt found maybe not yet known ready (see `orSkipped`). */
  const maybeUnknown = new Set<number>();
  const depsOf = (s: StepRun): StepRun[] => s.spec.dependsOn.map((d) => steps[byId.get(d)!]!);
  const conditionOf = (s: StepRun, dep: StepRun): Condition => s.spec.conditions?.[dep.spec.id] ?? 'succeeded';
  // docs/pipelines.md §2: a step starts when every dependency ended meeting its condition; it is
  // skipped the moment one ended without meeting it.
  // An item is ready while its step runs, and never starts once its step ended without it.
  const depsMet = (s: StepRun): boolean => {
    const owner = ownerOf(s);
    if (owner) return owner.phase === 'running';
    return depsOf(s).every((d) => conditionMet(conditionOf(s, d), d.phase) === true);
  };
  const depsNeverMet = (s: StepRun): boolean => {
    const owner = ownerOf(s);
    if (owner) return owner.phase !== 'running' && owner.phase !== 'pending';
    return depsOf(s).some((d) => conditionMet(conditionOf(s, d), d.phase) === false);
  };
  // docs/pipelines.md §2, final status: a failed step is handled when a step depending on it with
  // condition `failed` succeeded; only unhandled failures fail the run (and are retried).
  // A failed item is handled with its forEach step (nothing can depend on an item).
  const handled = (f: StepRun): boolean => {
    const owner = ownerOf(f);
    if (owner) return handled(owner);
    return steps.some((d) => d.spec.dependsOn.includes(f.spec.id) && conditionOf(d, f) === 'failed' && d.phase === 'succeeded');
  };
  const unhandled = (failed: readonly StepRun[]): StepRun[] => failed.filter((f) => !handled(f));
  // docs/pipelines.md §3: a forEach step has no attempts of its own: its items hold the slots.
  const holdsSlot = (s: StepRun): boolean => s.spec.forEach === undefined && (s.phase === 'running' || s.phase === 'waiting' || (s.phase === 'due' && s.dueKind === 'retry'));
  // docs/pipelines.md §3: items run in their step's item group (its `forEach.maxParallel`), within the run's `maxParallel`.
  const groupOf = (s: StepRun): { key: string; limit: number | undefined } | undefined => {
    const owner = ownerOf(s);
    if (owner) return { key: `forEach:${owner.spec.id}`, limit: owner.spec.forEach?.maxParallel };
    return s.spec.group === undefined ? undefined : { key: s.spec.group, limit: scenario.groups[s.spec.group] };
  };
  // README "Concurrency limits" + engine README 2: steps in flight — running or waiting for a retry —
  // hold their slot of `maxParallel` and of their group. ASSUMED: a retry wait keeps the slot (the
  // engine README: "Steps in flight hold their slots"; the step's routine owns its retries).
  const fits = (s: StepRun, extra: readonly StepRun[]): boolean => {
    const inFlight = steps.filter(holdsSlot).concat(extra);
    if (scenario.maxParallel !== undefined && inFlight.length >= scenario.maxParallel) return false;
    const group = groupOf(s);
    if (group?.limit !== undefined && inFlight.filter((x) => groupOf(x)?.key === group.key).length >= group.limit) return false;
    return true;
  };

  const makeDue = (s: StepRun, t: number, kind: 'first' | 'retry'): void => {
    s.phase = 'due';
    s.dueSince = t;
    s.dueKind = kind;
    s.lateFlagged = false;
    if (!observed) push({ t, at: At.ObservedStart, step: s.index });
    else push({ t: t + (kind === 'retry' ? 0 : windowMs), at: At.LateCheck, step: s.index, since: t });
  };

  const evaluate = (t: number): void => {
    if (ended || waitingForPipelineRetry) return;
    // Engine README 1 with docs/pipelines.md §2: a step whose dependency ended without meeting its
    // condition is skipped; a ready step whose `when` is false is skipped too (it never starts), and
    // its own dependents may then be skipped or become ready.
    let changed = true;
    while (changed) {
      changed = false;
      for (const s of steps) {
        if (s.spec.forEach !== undefined && s.phase === 'running' && forEachEnds(s, t)) changed = true;
        if (s.phase !== 'pending') continue;
        if (depsNeverMet(s) || (s.spec.whenFalse === true && depsMet(s))) {
          s.phase = 'skipped';
          changed = true;
        } else if (s.spec.forEach !== undefined && depsMet(s)) {
          // docs/pipelines.md §3: the step's dependencies, conditions and `when` decide once; then
          // it runs through its items (`running`, no attempt of its own).
          s.phase = 'running';
          if (!expanded.has(s.index)) expansionOrder.set(s.index, expansionOrder.size);
          expanded.add(s.index);
          expandedAt.set(s.index, t);
          changed = true;
        }
      }
    }
    const ready = steps.filter((s) => (s.phase === 'pending' || (s.phase === 'due' && s.dueKind === 'first')) && depsMet(s)).sort((a, b) => admissionKey(a) - admissionKey(b));
    // Ready steps are admitted in definition order while the limits allow ("earlier steps in the
    // definition start first"; a held-back step starts when a slot frees). Every notice delivered, a
    // step already due keeps the slot it was given at this instant. With lost notices the run may
    // learn of a freed slot late and hand it to another contender first (accepted at its start, see
    // ObservedStart), so the claims are recomputed: a step is due while definition order gives it a
    // slot, and must start before it has been due for W without a break.
    const exact = windowMs === 0;
    const admitted = exact ? ready.filter((s) => s.phase === 'due') : [];
    for (const s of ready) {
      if (exact && s.phase === 'due') continue;
      if (fits(s, admitted)) {
        admitted.push(s);
        if (s.phase !== 'due') makeDue(s, t, 'first');
      } else if (s.phase === 'due') {
        s.phase = 'pending';
        s.dueSince = undefined;
      }
    }
    settle(t);
  };

  /**
   * docs/pipelines.md §3: a running forEach step ends `succeeded` when every item succeeded, else
   * `failed` once every item ended (`finishOthers`) or the moment one failed (`failFast`), with
   * the class of that item's failure. ASSUMED: "item i" is the first failed item in item order.
   */
  const forEachEnds = (s: StepRun, t: number): boolean => {
    const items = itemsOf(s);
    const failed = items.filter((i) => i.phase === 'failed');
    const allEnded = items.every((i) => i.phase === 'succeeded' || i.phase === 'failed' || i.phase === 'skipped' || i.phase === 'cancelled');
    if (!allEnded && !(s.spec.forEach?.onItemFailure === 'failFast' && failed.length > 0)) return false;
    if (items.every((i) => i.phase === 'succeeded')) {
      s.phase = 'succeeded';
      return true;
    }
    s.phase = 'failed';
    s.failedClass = failed[0]?.failedClass ?? 'permanent';
    s.failedAt = t;
    return true;
  };

  const settle = (t: number): void => {
    if (ended || waitingForPipelineRetry) return;
    if (steps.some((s) => s.phase === 'running' || s.phase === 'waiting' || s.phase === 'due')) return;
    if (steps.some((s) => s.phase === 'pending')) return; // held back by nothing: cannot happen once settled
    const failed = unhandled(steps.filter((s) => s.phase === 'failed'));
    if (failed.length === 0) {
      finish(t, { status: 'succeeded' }, 'settle');
      return;
    }
    // Engine README 5: with retries left, wait `pipelineRetry.delay` and re-run every step that did
    // not succeed — unless every failed step failed permanently and `retryPermanent` is off.
    const allPermanent = failed.every((s) => s.failedClass === 'permanent');
    if (retriesLeft > 0 && (!allPermanent || scenario.pipelineRetry.retryPermanent)) {
      retriesLeft--;
      waitingForPipelineRetry = true;
      push({ t: t + scenario.pipelineRetry.delaySeconds * 1000, at: At.PipelineRetry });
      return;
    }
    finish(t, { status: 'failed' }, 'settle');
  };

  const firstFailed = (failed: readonly StepRun[]): StepRun[] => {
    // README 6: "error = first failed step's error + stepId". ASSUMED either reading of "first":
    // definition order, or the step whose failure came first.
    const byTime = [...failed].sort((a, b) => (a.failedAt ?? 0) - (b.failedAt ?? 0) || a.index - b.index);
    return [...new Set([failed[0], byTime[0]].filter((s): s is StepRun => s !== undefined))];
  };

  const finish = (t: number, outcome: RunOutcome, by: 'settle' | 'cancel' | 'timeout'): void => {
    ended = { at: t, outcome, by };
  };

  const startAttempt = (s: StepRun, t: number): void => {
    const script = s.spec.script[s.calls] ?? s.spec.after;
    s.calls++;
    s.tries++;
    const n = s.attempts.length + 1;
    const e = effective(script, s.spec.timeoutSeconds);
    s.current = { n, start: t, end: t + e.ms, outcome: e.outcome, polled: script.seconds > 0, ...(e.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: e.retryAfterSeconds }) };
    if (script.seconds > 0) s.polledAttempts.add(n);
    s.phase = 'running';
    s.dueSince = undefined;
    push({ t: t + e.ms, at: At.End, step: s.index, n });
    push({ t, at: At.Evaluate });
  };

  const endAttempt = (s: StepRun, interruptedAt?: number): void => {
    const c = s.current;
    if (!c) return;
    s.current = undefined;
    if (interruptedAt !== undefined && c.end > interruptedAt) {
      // Spec: an attempt in progress at the interrupt is stopped and ends `cancelled` at t.
      s.attempts.push({ n: c.n, start: c.start, end: interruptedAt, outcome: 'cancelled' });
      if (c.polled) stopJobs.push({ stepId: s.spec.id, attempt: c.n, at: interruptedAt });
      s.phase = 'cancelled';
      return;
    }
    s.attempts.push({ n: c.n, start: c.start, end: c.end, outcome: c.outcome });
    if (c.outcome === 'succeeded') {
      s.phase = 'succeeded';
      return;
    }
    const cls = c.outcome.slice('failed:'.length);
    // Engine README 4: transient and timeout failures retry while the policy has attempts left and
    // the class is in retryOn; permanent never does. ASSUMED: `attempts` is a per-pipeline-attempt
    // budget (a pipeline retry re-runs a step with its whole policy, as Prefect re-runs a task with
    // its retries), and the delay list restarts with it.
    const retryable = (cls === 'transient' || cls === 'timeout') && s.spec.retryOn.includes(cls) && s.tries < s.spec.attempts;
    if (retryable && interruptedAt === undefined) {
      const wait = Math.max(retryDelaySeconds(s.spec.delays, s.tries), c.retryAfterSeconds ?? 0);
      s.phase = 'waiting';
      s.retryAt = c.end + wait * 1000;
      push({ t: s.retryAt, at: At.RetryDue, step: s.index });
      return;
    }
    if (retryable) {
      // It ended at the interrupt's instant and would have waited for a retry: the spec's "waiting
      // for its retry delay" row.
      s.phase = 'cancelled';
      return;
    }
    s.phase = 'failed';
    s.failedClass = cls;
    s.failedAt = c.end;
  };

  const interrupt = (t: number, kind: 'cancel' | 'timeout'): void => {
    if (ended) {
      // The run settled at `settledAt` by true time, but with lost notices it learns so up to W later:
      // an interrupt in that window may be what it reports.
      if (ended.by === 'settle' && windowMs > 0 && t <= ended.at + windowMs) alsoAccepted.push(interruptOutcome(kind));
      return;
    }
    // Spec table: ended steps unchanged; an attempt in progress ends cancelled at t; a step waiting
    // for its retry is cancelled with its earlier attempts; a step that has not started is skipped.
    for (const s of steps) {
      // ASSUMED (the docs say a forEach step is `running` while its items run; the interrupt table
      // names attempts in progress): a forEach step still running at the interrupt is `cancelled`.
      if (s.phase === 'running' && s.spec.forEach !== undefined) {
        const since = expandedAt.get(s.index) ?? 0;
        // Not yet known ready: within a check-in with lost notices, or ready at the very instant of
        // a tied cancel (the spec's tie rule: a step due at that instant may not start at all).
        const tiedHere = scenario.cancel !== undefined && scenario.cancel.at.kind !== 'instant' && since === t;
        const unknown = (windowMs > 0 && t - since <= windowMs) || tiedHere;
        if (unknown && !itemsOf(s).some((i) => i.attempts.some((a) => a.start >= since) || i.current !== undefined)) maybeUnknown.add(s.index);
        s.phase = 'cancelled';
      }
      else if (s.phase === 'running') endAttempt(s, t);
      else if (s.phase === 'waiting') s.phase = 'cancelled';
      else if (s.phase === 'pending' || s.phase === 'due') s.phase = 'skipped';
    }
    finish(t, interruptOutcome(kind), kind);
  };

  push({ t: 0, at: At.Evaluate });
  let guard = 0;
  for (let e = pop(); e; e = pop()) {
    if (++guard > 1_000_000) throw new Error(`model did not terminate on ${scenario.name}`);
    switch (e.at) {
      case At.End: {
        const s = steps[e.step]!;
        if (ended || s.phase !== 'running' || s.current?.n !== e.n) break;
        endAttempt(s);
        push({ t: e.t, at: At.Evaluate });
        break;
      }
      case At.RetryDue: {
        const s = steps[e.step]!;
        if (ended || s.phase !== 'waiting') break;
        makeDue(s, e.t, 'retry');
        break;
      }
      case At.PipelineRetry: {
        if (ended) break;
        waitingForPipelineRetry = false;
        for (const s of steps) {
          if (s.phase === 'succeeded') continue;
          s.phase = 'pending';
          s.tries = 0;
          s.failedClass = undefined;
          s.failedAt = undefined;
        }
        evaluate(e.t);
        break;
      }
      case At.Evaluate:
        evaluate(e.t);
        break;
      case At.ObservedStart: {
        const s = steps[e.step]!;
        // Several starts at one instant (a zero-second step and its dependent): take the due ones
        // first, so a dependent is judged after its dependency's instant end.
        const notDue = !ended && !waitingForPipelineRetry && s.phase !== 'due';
        if (notDue && (e.deferred ?? 0) < steps.length && queue.some((o) => o.t === e.t && o.at <= At.ObservedStart)) {
          push({ ...e, deferred: (e.deferred ?? 0) + 1 });
          break;
        }
        if (observed) observedStarts.get(e.step)?.shift();
        if (ended) {
          violate('start after the run ended', s, `attempt ${s.attempts.length + 1} started at ${sec(e.t)}, the run ended at ${sec(ended.at)}`);
          break;
        }
        if (waitingForPipelineRetry) {
          violate('start before the step was due', s, `started at ${sec(e.t)} during the pipeline retry wait`);
          break;
        }
        if (s.phase === 'running' || s.phase === 'succeeded' || s.phase === 'failed' || s.phase === 'skipped' || s.phase === 'cancelled') {
          violate('start of a step that had ended', s, `a start at ${sec(e.t)} while the step was ${s.phase}`);
          break;
        }
        if (s.phase === 'waiting') {
          violate('retry start early', s, `retry started at ${sec(e.t)}, due at ${sec(s.retryAt ?? 0)}`);
        } else if (s.phase === 'pending') {
          const depsDone = depsMet(s);
          if (!depsDone) violate('start before the step was due', s, `started at ${sec(e.t)} before its dependencies succeeded`);
          else if (!fits(s, [])) violate('start beyond the limits', s, `started at ${sec(e.t)} with no slot free`);
          else if (windowMs === 0) violate('start before the step was due', s, `started at ${sec(e.t)}; earlier steps in the definition were waiting for the slot`);
        }
        startAttempt(s, e.t);
        break;
      }
      case At.TiedInterrupt:
      case At.Interrupt:
        interrupt(e.t, e.kind);
        break;
      case At.LateCheck: {
        const s = steps[e.step]!;
        if (ended || s.phase !== 'due' || s.dueSince !== e.since || s.lateFlagged) break;
        s.lateFlagged = true;
        const limitMs = s.dueKind === 'retry' ? 0 : windowMs;
        const next = observedStarts.get(e.step)?.[0];
        const when = next === undefined ? 'no start came' : `it started at ${sec(next)}`;
        if (s.dueKind === 'retry') violate('retry start late', s, `retry due at ${sec(e.since)}; ${when}`);
        else violate('first start late', s, `due at ${sec(e.since)} (allowed up to ${sec(e.since + limitMs)}); ${when}`);
        break;
      }
    }
  }

  const stalled = !ended;
  if (stalled) for (const s of steps) if (s.phase === 'due' || s.phase === 'pending') violate('start never came', s, `still ${s.phase} when nothing else could happen`);

  // A tied cancel taken at the instant a start call answered at once: that call was still out when
  // the run took the cancel (engine README, "A call out at the interrupt"), or it had answered.
  const tiedAt = observed?.cancelAt !== undefined && scenario.cancel !== undefined && scenario.cancel.at.kind !== 'instant' ? observed.cancelAt : undefined;
  const tiedCall = (s: StepRun): PredictedAttempt | undefined => {
    const last = s.attempts[s.attempts.length - 1];
    return tiedAt !== undefined && last && last.start === tiedAt && last.end === tiedAt && last.outcome !== 'cancelled' && !s.polledAttempts.has(last.n) ? last : undefined;
  };
  const predictedSteps: PredictedStep[] = steps
    .filter((s) => { const owner = ownerOf(s); return owner === undefined || expanded.has(owner.index); })
    .map((s) => {
      const tied = tiedCall(s);
      const owner = ownerOf(s);
      const unknown = maybeUnknown.has(s.index) || (owner !== undefined && maybeUnknown.has(owner.index) && s.attempts.length === 0);
      return {
        ...(unknown ? (owner ? { mayBeAbsent: true as const } : { orSkipped: true as const }) : {}),
        id: s.spec.id,
        status: s.phase === 'succeeded' || s.phase === 'failed' || s.phase === 'skipped' || s.phase === 'cancelled' ? s.phase : 'unknown',
        attempts: s.attempts,
        ...(tied ? { orCancelledAtTie: { attempts: [...s.attempts.slice(0, -1), { ...tied, outcome: 'cancelled' as const }] } } : {}),
      };
    });
  // Such a step cancelled ends the run cancelled, where the model saw it settle at that instant.
  if (ended?.by === 'settle' && tiedAt !== undefined && ended.at === tiedAt && steps.some((s) => tiedCall(s) !== undefined)) alsoAccepted.push(interruptOutcome('cancel'));
  const finalFailed = unhandled(steps.filter((s) => s.phase === 'failed'));
  const end = ended ? (ended.by === 'settle' ? { lo: ended.at, hi: ended.at + windowMs } : { lo: ended.at, hi: ended.at }) : undefined;
  return {
    ...(ended ? { outcome: ended.outcome } : {}),
    alsoAccepted,
    failedFirst: ended?.by === 'settle' ? firstFailed(finalFailed).map((s) => ({ stepId: s.spec.id, class: s.failedClass ?? '' })) : [],
    ...(end ? { end } : {}),
    steps: predictedSteps,
    violations,
    stopJobs,
    ...(ended && ended.by !== 'settle' ? { interrupt: { kind: ended.by, at: ended.at } } : {}),
  };
}

/** Spec table, last row: a cancel ends the run `cancelled`; a run timeout `failed` with class `timeout`. */
function interruptOutcome(kind: 'cancel' | 'timeout'): RunOutcome {
  return kind === 'cancel' ? { status: 'cancelled' } : { status: 'failed', class: 'timeout' };
}

/** The instant the run ends when every step starts as due (no cancel): where the generator places interrupts. */
export function makespanMs(scenario: Scenario): number {
  const p = simulate({ ...scenario, drops: { kind: 'none' } }, {});
  return p.end?.lo ?? 0;
}
