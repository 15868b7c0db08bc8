/**
 * The heart of `runPipeline`: start every step the moment its own dependencies succeed, learn of
 * their ends, and keep the execution's history bounded.
 *
 * Alone (nothing else in flight) a step runs inline; otherwise it runs in a `runPipelineStep`
 * sub-orchestration (batched beyond `FAN_OUT`, fanOut.ts) and the run learns its end from a
 * `stepDone` notice (stepDone.ts). Every wait is `Task.any` of fresh tasks only — the
 * sub-orchestrations started just now, a new `stepDone` waiter, a check-in timer, the interrupts —
 * never a task yielded before (Azure/azure-functions-durable-js#574, see stepRoutine.ts). Tasks
 * yielded before are still completed by their history events, so after every wake-up the run also
 * reads the ones that finished; and at every check-in it asks `reconcileRun` after every step still
 * in flight, which reads the end a lost notice would have brought from the step's sub-orchestration
 * (its result, or its final state in its custom status while it is still telling the run). So a
 * lost notice costs at most one check-in (`CHECK_IN_MS`), wherever the step ran.
 */
import type { Task } from 'durable-functions';
import type { StepDefinition } from '../pipelines/schema';
import { STEP_DONE_EVENT } from '../steps/protocol';
import { dateAt } from './clock';
import { admitWithinLimits, endAwaited, readySteps, unreachableSteps } from './dag';
import { fanOutGroups, fanOutTasks, waveResults, waveStepInstanceId, type WaveRun, type WaveStep } from './fanOut';
import { readTaskFailure } from './failure';
import type { Interrupts } from './interrupts';
import { askReconcile, takeReconciled } from './reconcile';
import { upstreamFor, whenVerdict } from './referenced';
import { allPendingItems, expand, itemsOf, pendingWithItems, readyItems, settleForEach, stepLookup, strandedItems } from './items';
import { HISTORY_COST, isDone, settle, type RunScope, type Started } from './scope';
import type { StepDoneEvent } from './stepDone';
import { cancelTimers, runStepUntilStopped } from './stepRoutine';
import type { Stop } from './types';

/**
 * How often a run with steps in flight wakes on its own to take results whose notice never came:
 * a quarter of an hour, on the clock, so every wait in one quarter shares the instant.
 */
export const CHECK_IN_MS = 15 * 60_000;

const nextCheckIn = (nowMs: number): number => (Math.floor(nowMs / CHECK_IN_MS) + 1) * CHECK_IN_MS;

export const CONTINUE = { kind: 'continue' } as const;
export type RoundEnd = Stop | typeof CONTINUE | undefined;

/** Interrupts that count each wait they guard against the history budget (an inline step's waits). */
function counted(scope: RunScope, interrupts: Interrupts): Interrupts {
  const perWait = HISTORY_COST.wakeUp + HISTORY_COST.activity + (scope.deadlineMs === undefined ? 0 : HISTORY_COST.timer);
  return {
    ...interrupts,
    make() {
      scope.budget.events += perWait;
      return interrupts.make();
    },
  };
}

/**
 * Starts steps as sub-orchestrations (batched beyond `FAN_OUT`, fanOut.ts). The ones this run
 * awaits directly send a `stepDone` notice when they end; a step inside a batch node sends its own
 * only when another step waits for its end (`endAwaited`), else its batch reports it.
 */
function startSteps(scope: RunScope, steps: readonly StepDefinition[]): Started[] {
  const { env, input, definition, inFlight } = scope;
  const { tracker } = env;
  const run: WaveRun = {
    runId: input.runId,
    pipelineName: input.pipeline,
    definitionVersion: input.definitionVersion,
    parameters: input.parameters,
    trigger: input.trigger,
    maxPollsPerExecution: env.maxPollsPerExecution,
    ...(scope.deadlineMs === undefined ? {} : { deadlineMs: scope.deadlineMs }),
    reportTo: env.context.df.instanceId,
  };
  const waves: WaveStep[] = steps.map((step) => {
    const upstream = env.upstream(step.id);
    const item = env.item(step.id);
    return { stepId: step.id, attemptsBefore: tracker.attemptCount(step.id), ...(upstream === undefined ? {} : { upstream }), ...(item === undefined ? {} : { item }) };
  });
  for (const wave of waves) {
    inFlight.set(wave.stepId, waveStepInstanceId(input.runId, wave));
    tracker.running(wave.stepId);
  }
  const byId = new Map(steps.map((s) => [s.id, s]));
  const pending = pendingWithItems(definition, tracker);
  // Each group is one task of this run: a step, or a batch node that reports its steps together.
  const groups: WaveStep[][] = fanOutGroups(waves).map((group) => {
    const ids = group.map((w) => w.stepId);
    return group.map((w) => {
      const step = byId.get(w.stepId);
      return { ...w, notify: step ? endAwaited(step, pending, definition, ids) : false };
    });
  });
  const tasks = fanOutTasks(env.context, run, groups.flat(), true);
  const notices = groups.length > 1 || (groups[0]?.length ?? 0) > 1 ? groups.flat().filter((w) => w.notify === true).length : 0;
  scope.budget.events += tasks.length * HISTORY_COST.subOrchestration + notices * HISTORY_COST.notice;
  env.publish();
  env.log(`steps ${steps.map((s) => s.id).join(', ')} started`);
  return groups.map((group, i) => {
    const task = tasks[i];
    if (!task) throw new Error('fan-out returned fewer tasks than groups');
    return { task, members: group.map((w) => ({ id: w.stepId, instanceId: waveStepInstanceId(input.runId, w) })) };
  });
}

/**
 * Whether a ready step may start: its `when` holds and every upstream value it refers to could be
 * kept. Otherwise it is skipped (`when` is false) or fails permanently (the expression cannot be
 * evaluated, a value is over the size limit) without an attempt.
 */
function mayStart(scope: RunScope, step: StepDefinition): boolean {
  const { tracker } = scope.env;
  const verdict = whenVerdict(step, { parameters: scope.input.parameters, trigger: scope.input.trigger, runId: scope.input.runId, kept: tracker.kept });
  if (!verdict.run) {
    if (verdict.skip) tracker.skip(step.id, verdict.skip);
    else if (verdict.fail) tracker.stepFailed(step.id, verdict.fail);
    scope.env.log(`step ${step.id} ${verdict.skip ? 'skipped' : 'failed'}: ${(verdict.skip ?? verdict.fail)?.message ?? ''}`);
    return false;
  }
  const { error } = upstreamFor(step, tracker.kept);
  if (error) {
    tracker.stepFailed(step.id, error);
    scope.env.log(`step ${step.id} failed: ${error.message}`);
    return false;
  }
  return true;
}

/**
 * Whether the pending items of a running forEach step may start: they refer to the values their
 * step refers to, so the check of `mayStart` is the same for each; when it fails, every pending
 * item fails with the reason (in item order), as each would have on its own.
 */
function itemsMayStart(scope: RunScope, step: StepDefinition, pending: () => readonly string[]): boolean {
  const { error } = upstreamFor(step, scope.env.tracker.kept);
  if (!error) return true;
  for (const id of pending()) {
    scope.env.tracker.stepFailed(id, error);
    scope.env.log(`step ${id} failed: ${error.message}`);
  }
  return false;
}

/**
 * A forEach step that may start expands into its items instead of starting (items.ts); returns
 * true when it did (or failed: its items are not a list it can run).
 */
function expandForEach(scope: RunScope, step: StepDefinition): boolean {
  if (step.forEach === undefined) return false;
  const { tracker } = scope.env;
  const found = itemsOf(step, { parameters: scope.input.parameters, kept: tracker.kept });
  if ('error' in found) {
    tracker.stepFailed(step.id, found.error);
    scope.env.log(`step ${step.id} failed: ${found.error.message}`);
    return true;
  }
  expand(scope.definition, tracker, step, found.items);
  scope.env.log(`step ${step.id}: ${found.items.length} items`);
  return true;
}

/** Takes what a finished sub-orchestration returned (its notice may have come first, or never). */
function settleTask(scope: RunScope, { task, members }: Started): void {
  if (task.isFaulted) {
    // A step sub-orchestration never fails by design; if one crashed, its steps fail with the reason.
    const failure = readTaskFailure(task.result);
    for (const { id, instanceId } of members) {
      if (scope.inFlight.get(id) !== instanceId) continue;
      scope.inFlight.delete(id);
      scope.env.tracker.stepFailed(id, failure);
    }
    return;
  }
  const states = waveResults([task.result]);
  members.forEach(({ instanceId }, i) => {
    const state = states[i];
    if (state) settle(scope, state, instanceId);
  });
}

/** Takes the notices a `stepDone` waiter received. */
function takeNotice(scope: RunScope, signal: Task): void {
  if (!isDone(signal)) return;
  for (const { instanceId, state } of (signal.result as StepDoneEvent).results) settle(scope, state, instanceId);
}

/**
 * Before continuing as new: takes every notice already delivered (durable-js hands a pending event
 * to the next waiter at once), until a timer due now wins. A notice or a cancel that lands in the
 * very episode that continues, or with the next execution's first answer, is dropped
 * (runPipeline.ts); `reconcileRun` finds those.
 */
function* drainNotices(scope: RunScope, interrupts: Interrupts | undefined): Generator<Task, Stop | undefined, unknown> {
  const df = scope.env.context.df;
  for (;;) {
    const signal = df.waitForExternalEvent(STEP_DONE_EVENT);
    const settleTimer = df.createTimer(dateAt(scope.env.nowMs()));
    const fresh = interrupts?.make() ?? [];
    scope.budget.events += HISTORY_COST.wakeUp + HISTORY_COST.timer;
    yield df.Task.any([signal, settleTimer, ...fresh]);
    const fired = fresh.find(isDone);
    cancelTimers([settleTimer, ...fresh]);
    if (fired && interrupts) return interrupts.read(fired);
    if (!isDone(signal)) return undefined;
    takeNotice(scope, signal);
  }
}

/**
 * Runs the DAG until nothing more can start and nothing is in flight; returns the stop if the run
 * was interrupted, CONTINUE when the history budget is spent.
 *
 * `admit: false` is the drain after an interrupt: nothing starts, interrupts are no longer raced,
 * and the round ends when every step in flight has reported (its end as it really was).
 */
export function* runRound(scope: RunScope, admit: boolean): Generator<Task, RoundEnd, unknown> {
  const { env, definition, inFlight, budget } = scope;
  const { tracker } = env;
  const df = env.context.df;
  // forEach steps add their items to the shape as they expand; items are looked up, never walked.
  const byId = stepLookup(definition);
  const status = (id: string) => tracker.status(id);
  const interrupts = admit ? scope.interrupts : undefined;
  /** A check-in came: ask after every step in flight at the next wait. */
  let askAfter: string[] = [];
  let asking: Task | undefined;
  for (;;) {
    if (admit && scope.learned) return scope.learned;
    settleForEach(definition, tracker);
    if (admit) {
      for (const { id, reason } of unreachableSteps(definition.defined, status)) tracker.skip(id, reason);
      for (const { id, reason } of strandedItems(definition, tracker)) tracker.skip(id, reason);
    }
    const candidates = admit ? readySteps(definition.defined, status).flatMap((id) => byId(id) ?? []) : [];
    // `when` and the upstream values decide before a step starts; a step they end changes what is ready.
    const ready = candidates.filter((step) => mayStart(scope, step) && !expandForEach(scope, step));
    if (ready.length < candidates.length) {
      env.publish();
      continue;
    }
    // Items have no `when` of their own and refer to what their step refers to: one look decides for all.
    const items = admit ? readyItems(definition, tracker) : [];
    const barred = items.filter(({ stepId }) => {
      const owner = byId(stepId);
      return owner !== undefined && !itemsMayStart(scope, owner, () => allPendingItems(tracker, stepId));
    });
    if (barred.length > 0) {
      env.publish();
      continue;
    }
    for (const { ids } of items) ready.push(...ids.flatMap((id) => byId(id) ?? []));
    const running = [...inFlight.keys()].flatMap((id) => byId(id) ?? []);
    // Steps in flight hold their slots; ready steps left out start when one frees.
    const admitted = admit ? admitWithinLimits([...running, ...ready], definition).filter((s) => !inFlight.has(s.id)) : [];
    const [only] = admitted;
    if (inFlight.size === 0 && !only) {
      env.publish();
      return undefined;
    }
    if (budget.events >= budget.continueAt) {
      // History bound reached: take the notices already delivered, then hand over.
      const stop = inFlight.size > 0 ? yield* drainNotices(scope, interrupts) : undefined;
      return stop ?? CONTINUE;
    }
    if (interrupts && inFlight.size === 0 && only && admitted.length === 1) {
      const stop = yield* runStepUntilStopped(env, only, counted(scope, interrupts));
      if (stop) return stop;
      continue;
    }
    const started = admitted.length > 0 ? startSteps(scope, admitted) : [];
    scope.open = [...scope.open, ...started];
    const signal = df.waitForExternalEvent(STEP_DONE_EVENT);
    const checkIn = df.createTimer(dateAt(nextCheckIn(env.nowMs())));
    const fresh = interrupts?.make() ?? [];
    const ask = askAfter.length > 0 ? askReconcile(scope, askAfter) : undefined;
    if (ask) [asking, askAfter] = [ask, []];
    budget.events += HISTORY_COST.wakeUp + HISTORY_COST.timer + HISTORY_COST.notice + (fresh.length > 1 ? HISTORY_COST.timer : 0);
    yield df.Task.any([...started.map((s) => s.task), ...(ask ? [ask] : []), signal, checkIn, ...fresh]);
    const fired = fresh.find(isDone);
    cancelTimers([checkIn, ...fresh]);
    if (fired && interrupts) return interrupts.read(fired);
    takeNotice(scope, signal);
    for (const entry of scope.open) if (isDone(entry.task)) settleTask(scope, entry);
    scope.open = scope.open.filter((entry) => !isDone(entry.task));
    if (asking && isDone(asking)) {
      const stop = takeReconciled(scope, asking);
      asking = undefined;
      if (stop && admit) return stop;
    }
    // Every step still in flight may have ended with its notice lost: ask after all of them.
    if (isDone(checkIn) && !asking) askAfter = [...inFlight.values()];
    env.publish();
  }
}
