/**
 * Child runs (docs/pipelines.md §4) in the differential check, as a construct of their own: a
 * parent `call` step (`kind: 'pipeline'`) runs a drawn scenario as its child, and an `after` step
 * depends on it; the parent may be cancelled while the child runs. Written from §4, not from
 * src/steps/pipeline:
 *
 * - the child starts when the step starts (its first attempt, here the run's first instant);
 * - the child is a normal run: the model of the other scenarios predicts it (model.ts), and when
 *   the parent is cancelled, the child is cancelled at that instant through the API's path;
 * - the step succeeds iff the child succeeded, else fails naming the child run; it learns the
 *   child's end at that instant (the child wakes it; polling is only the fallback); `after` runs on its success and is skipped otherwise;
 * - the parent run's outcome follows: succeeded, failed from `call`, or cancelled.
 */
import fc from 'fast-check';
import { childRunId } from '../../../src/steps/pipeline/adapter';
import type { RunState } from '../../../src/engine/types';
import { pipeline, START, startEngineHost } from '../engineHarness';
import { compare, type Comparison } from './compare';
import { AFTER_END_MS, apiDeps, ScenarioAdapter, sendCancel, type Actual, type DifferentialRig, type RunLog } from './driver';
import { makespanMs, type Scenario } from './model';
import { buildScenario, drawParameters, pipelineOf, rawScenario } from './scenario';
import { createRoutes } from '../../../src/api/routes';

/** How often the parent's step looks at its child (the step's `pollInterval`). */
export const CHILD_POLL_SECONDS = 60;

export interface ChildRunScenario {
  readonly name: string;
  /** The child run: a drawn scenario, without cancels or lost notices of its own. */
  readonly child: Scenario;
  /** The parent is cancelled at this second (before the child's end), through the API or as a raw event. */
  readonly cancel?: { readonly seconds: number; readonly via: 'api' | 'event' };
}

/** Seed `seed`'s child-run scenario: the child drawn like any scenario; a cancel halfway through it on even seeds. */
export function childRunScenarioOfSeed(seed: number): ChildRunScenario {
  const [raw] = fc.sample(rawScenario, drawParameters(seed));
  if (!raw) throw new Error(`no scenario for seed ${seed}`);
  const drawn = buildScenario(raw, `child-${seed}`);
  const { cancel: _own, ...rest } = drawn;
  const child: Scenario = { ...rest, drops: { kind: 'none' } };
  const half = Math.floor(makespanMs(child) / 2000);
  return { name: `child-${seed}`, child, ...(seed % 2 === 0 && half >= 2 ? { cancel: { seconds: half, via: seed % 4 === 0 ? 'api' : 'event' } } : {}) };
}

export interface ChildRunActual {
  readonly childId: string;
  readonly parent?: RunState;
  readonly child: Actual;
  readonly parentCancelAt?: number;
  readonly problem?: string;
}

let counter = 0;

/** Runs the parent and its child on a fresh engine host; returns both. */
export async function runChildScenario(rig: DifferentialRig, cs: ChildRunScenario): Promise<ChildRunActual> {
  let adapter: ScenarioAdapter | undefined;
  const engine = await startEngineHost({ adapter: (now) => (adapter = new ScenarioAdapter(now)), store: rig.store });
  try {
    const parentId = `${cs.name}-${process.pid}-${++counter}`;
    const childName = `${parentId}-c`;
    const childId = childRunId(childName, parentId, 'call', 1);
    const log = (scenario: Scenario): RunLog => ({ scenario, origin: START.getTime(), calls: new Map(), starts: new Map(), stops: [], jobs: new Map(), noticesDropped: 0 });
    const parentScenario: Scenario = {
      name: parentId, groups: {}, drops: { kind: 'none' }, pipelineRetry: { retries: 0, delaySeconds: 0, retryPermanent: false },
      steps: [{ id: 'after', dependsOn: [], attempts: 1, delays: 0, retryOn: [], script: [], after: { seconds: 0, outcome: 'succeeded' } }],
    };
    const childLog = log(cs.child);
    adapter!.runs.set(parentId, log(parentScenario));
    adapter!.runs.set(childId, childLog);
    engine.deploy(pipelineOf(cs.child, childName));
    await engine.start(pipeline({
      name: parentId,
      title: parentId,
      steps: [
        { id: 'call', kind: 'pipeline', pipeline: childName, pollInterval: CHILD_POLL_SECONDS },
        { id: 'after', kind: 'azureFunction', url: 'https://fn.example/api/after', dependsOn: ['call'] },
      ],
    }), parentId);
    let parentCancelAt: number | undefined;
    if (cs.cancel) {
      await engine.host.advance(cs.cancel.seconds * 1000);
      parentCancelAt = engine.host.now().getTime() - START.getTime();
      const route = createRoutes(apiDeps(rig.store, engine)).find((r) => r.name === 'cancelRun');
      if (!route) throw new Error('no cancelRun route');
      await sendCancel(cs.cancel.via, parentId, engine, route).catch(() => undefined);
    }
    let problem: string | undefined;
    let parent: RunState | undefined;
    let child: RunState | undefined;
    let childStatus = 'unknown';
    try {
      const p = await engine.host.waitFor(parentId, { timeoutMs: 120_000 });
      if (String(p.runtimeStatus) === 'Completed') parent = p.output as RunState;
      else problem = `parent orchestration ${p.runtimeStatus}`;
      const c = await engine.host.waitFor(childId, { timeoutMs: 120_000 });
      childStatus = String(c.runtimeStatus);
      if (childStatus === 'Completed') child = c.output as RunState;
      await engine.host.advance(AFTER_END_MS);
    } catch (error) {
      problem = `a run did not end: ${(error as Error).message}`;
    }
    // When the child was cancelled: the instant its cancel was recorded (the parent's step cancels it through the API's path).
    const requested = await rig.store.findCancel(childId);
    const childCancelAt = requested === undefined ? undefined : Date.parse(requested) - START.getTime();
    return {
      childId,
      ...(parent ? { parent } : {}),
      ...(parentCancelAt === undefined ? {} : { parentCancelAt }),
      child: {
        runtimeStatus: childStatus,
        ...(child ? { state: child } : {}),
        store: [...engine.recorder.attempts.values()].filter((a) => a.runId === childId),
        starts: childLog.starts,
        stops: childLog.stops,
        ...(childCancelAt === undefined ? {} : { cancelAt: childCancelAt }),
        noticesDropped: 0,
        executions: engine.host.executions(childId).length,
      },
      ...(problem === undefined ? {} : { problem }),
    };
  } finally {
    await engine.stop();
  }
}

export interface ChildRunComparison {
  readonly child: Comparison;
  readonly mismatches: readonly string[];
}

/** The child against the model of its scenario (cancelled at the parent's instant), the parent against §4. */
export function compareChildRun(cs: ChildRunScenario, actual: ChildRunActual): ChildRunComparison {
  const out: string[] = [];
  if (actual.problem) out.push(`engine: ${actual.problem}`);
  const cancelAt = actual.parentCancelAt;
  // §4: cancelling the parent cancels the child, at the parent's instant, as the API does.
  const childScenario: Scenario = cancelAt === undefined ? cs.child : { ...cs.child, cancel: { via: 'api', at: { kind: 'instant', seconds: cancelAt / 1000 } } };
  if (cancelAt !== undefined && actual.child.cancelAt !== cancelAt) out.push(`child: cancel recorded at ${String(actual.child.cancelAt)} ms, the parent was cancelled at ${cancelAt} ms`);
  const child = compare(childScenario, actual.child);
  out.push(...child.mismatches.map((m) => `child ${m.kind}${m.stepId ? ` (${m.stepId})` : ''}: ${m.detail}`));
  const parent = actual.parent;
  const childState = actual.child.state;
  if (!parent || !childState) return { child, mismatches: out };
  const step = (id: string) => parent.steps.find((s) => s.id === id);
  const call = step('call');
  const after = step('after');
  const expect = (what: string, seen: string | undefined, wanted: string) => {
    if (seen !== wanted) out.push(`parent ${what}: expected ${wanted}, reported ${String(seen)}`);
  };
  if (cancelAt !== undefined) {
    // The cancel came before the child's end (the generator places it halfway).
    expect('call', call?.status, 'cancelled');
    expect('after', after?.status, 'skipped');
    expect('run', parent.status, 'cancelled');
    expect('child run', childState.status, 'cancelled');
    return { child, mismatches: out };
  }
  const succeeded = childState.status === 'succeeded';
  expect('call', call?.status, succeeded ? 'succeeded' : 'failed');
  expect('after', after?.status, succeeded ? 'succeeded' : 'skipped');
  expect('run', parent.status, succeeded ? 'succeeded' : 'failed');
  if (!succeeded) {
    expect('run error step', parent.error?.stepId, 'call');
    if (!(call?.error?.message ?? '').includes(`child run ${actual.childId}`)) out.push(`parent call: the error does not name the child run: ${call?.error?.message ?? '(none)'}`);
  } else {
    const output = call?.output as { runId?: string } | undefined;
    expect('call output runId', output?.runId, actual.childId);
  }
  // The child's end wakes the step: it ends at that instant, not at its next poll (no wake is lost here).
  const childEnd = Date.parse(childState.endedAt ?? '');
  const callEnd = Date.parse(call?.attempts.at(-1)?.endedAt ?? '');
  if (!(Number.isFinite(childEnd) && callEnd === childEnd)) out.push(`parent call: ended at ${call?.attempts.at(-1)?.endedAt ?? '?'}, the child at ${childState.endedAt ?? '?'} (woken by it; polls every ${CHILD_POLL_SECONDS} s)`);
  return { child, mismatches: out };
}
