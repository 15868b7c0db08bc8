/**
 * Compares what the engine reported (run state, run store) and did (the step service's log) with
 * what the model predicts for the same observed starts. Exact where the spec says exact (statuses,
 * attempts with outcomes and instants, the run's status and class); bounded where it says bounded
 * (first starts and the run's end with lost notices: one check-in). Each mismatch has a short
 * `kind`, so runs can be counted by kind.
 */
import type { StepAttemptSummary } from '../../../src/engine/types';
import type { AttemptRecord } from '../../../src/runs/recorder';
import { START } from '../engineHarness';
import type { Actual } from './driver';
import { CHECK_IN_MS, simulate, type Outcome, type PredictedAttempt, type Prediction, type RunOutcome, type Scenario } from './model';
import { describeScenario } from './scenario';

export interface Mismatch {
  readonly kind: string;
  readonly stepId?: string;
  readonly detail: string;
}

interface SeenAttempt {
  readonly n: number;
  readonly start: number;
  readonly end?: number;
  readonly outcome: Outcome | 'running';
}

const ms = (iso: string | undefined): number | undefined => (iso === undefined ? undefined : Date.parse(iso) - START.getTime());
const sec = (t: number | undefined): string => (t === undefined ? '—' : `${t / 1000}s`);

function outcomeOf(status: string, errorClass: string | undefined): Outcome | 'running' {
  if (status === 'succeeded') return 'succeeded';
  if (status === 'cancelled' || errorClass === 'cancelled') return 'cancelled';
  if (status === 'failed') return `failed:${errorClass ?? 'transient'}` as Outcome;
  return 'running';
}

function seenFromState(a: StepAttemptSummary): SeenAttempt {
  const end = ms(a.endedAt);
  return { n: a.attempt, start: ms(a.startedAt) ?? NaN, ...(end === undefined ? {} : { end }), outcome: outcomeOf(a.status, a.error?.class) };
}

function seenFromStore(a: AttemptRecord): SeenAttempt {
  const end = ms(a.endedAt);
  return { n: a.attempt, start: ms(a.startedAt) ?? NaN, ...(end === undefined ? {} : { end }), outcome: outcomeOf(a.status, a.error?.class) };
}

export function attemptsText(list: readonly (PredictedAttempt | SeenAttempt)[]): string {
  if (list.length === 0) return 'no attempt';
  return list.map((a) => `#${a.n} ${sec(a.start)}–${sec(a.end)} ${a.outcome.replace('failed:', '')}`).join(', ');
}

function outcomeText(o: RunOutcome): string {
  return o.class === undefined ? o.status : `${o.status} (${o.class})`;
}

function compareAttempts(where: 'state' | 'store', stepId: string, expected: readonly PredictedAttempt[], seen: readonly SeenAttempt[], out: Mismatch[]): void {
  const byN = new Map(seen.map((a) => [a.n, a]));
  for (const e of expected) {
    const a = byN.get(e.n);
    if (!a) {
      out.push({ kind: `${where}: ${e.outcome === 'cancelled' ? 'cancelled ' : ''}attempt missing`, stepId, detail: `#${e.n} ${sec(e.start)}–${sec(e.end)} ${e.outcome} is not there` });
      continue;
    }
    if (a.outcome !== e.outcome) out.push({ kind: `${where}: attempt ${e.outcome} reported ${a.outcome}`, stepId, detail: `#${e.n}` });
    else if (a.start !== e.start || a.end !== e.end) out.push({ kind: `${where}: attempt instants differ`, stepId, detail: `#${e.n} expected ${sec(e.start)}–${sec(e.end)}, reported ${sec(a.start)}–${sec(a.end)}` });
  }
  const known = new Set(expected.map((e) => e.n));
  for (const a of seen) if (!known.has(a.n)) out.push({ kind: `${where}: unexpected attempt`, stepId, detail: `#${a.n} ${sec(a.start)}–${sec(a.end)} ${a.outcome}` });
}

function runMatches(expected: RunOutcome, prediction: Prediction, status: string, error: { class?: string; stepId?: string } | undefined): boolean {
  if (expected.status !== status) return false;
  if (expected.status === 'cancelled' || expected.status === 'succeeded') return true;
  if (expected.class !== undefined) return error?.class === expected.class;
  // A failed run names its first failed step and that step's class.
  return prediction.failedFirst.some((f) => f.stepId === error?.stepId && f.class === error?.class);
}

export interface Comparison {
  readonly prediction: Prediction;
  readonly mismatches: readonly Mismatch[];
}

export function compare(scenario: Scenario, actual: Actual): Comparison {
  const prediction = simulate(scenario, { observed: { starts: actual.starts, ...(actual.cancelAt === undefined ? {} : { cancelAt: actual.cancelAt }) } });
  const out: Mismatch[] = [];
  if (actual.problem !== undefined) out.push({ kind: actual.problem.startsWith('the run did not end') ? 'engine: run did not end' : 'engine: orchestration failed', detail: actual.problem });
  for (const v of prediction.violations) out.push({ kind: `engine: ${v.kind}`, stepId: v.stepId, detail: v.detail });
  const windowMs = scenario.drops.kind === 'none' ? 0 : CHECK_IN_MS;
  for (const job of prediction.stopJobs) {
    const stopped = actual.stops.some((s) => s.stepId === job.stepId && s.call === job.attempt && s.at >= job.at && s.at <= job.at + windowMs);
    if (!stopped) out.push({ kind: 'engine: job not stopped at the interrupt', stepId: job.stepId, detail: `attempt #${job.attempt}'s job, interrupt at ${sec(job.at)}` });
  }
  const state = actual.state;
  if (state) {
    if (prediction.outcome) {
      const accepted = [prediction.outcome, ...prediction.alsoAccepted];
      if (!accepted.some((o) => runMatches(o, prediction, state.status, state.error))) {
        const reported = state.error?.class === undefined ? state.status : `${state.status} (${state.error.class}${state.error.stepId ? ` from ${state.error.stepId}` : ''})`;
        const expected = prediction.outcome.status === 'failed' && prediction.outcome.class === undefined ? `failed (${prediction.failedFirst.map((f) => `${f.class} from ${f.stepId}`).join(' or ')})` : outcomeText(prediction.outcome);
        out.push({ kind: `run: ${prediction.outcome.status} reported ${state.status}`, detail: `expected ${expected}, reported ${reported}` });
      } else if (prediction.end && runMatches(prediction.outcome, prediction, state.status, state.error)) {
        const end = ms(state.endedAt);
        if (end === undefined || end < prediction.end.lo || end > prediction.end.hi) out.push({ kind: 'run: end instant', detail: `ended at ${sec(end)}, expected ${prediction.end.lo === prediction.end.hi ? sec(prediction.end.lo) : `${sec(prediction.end.lo)}–${sec(prediction.end.hi)}`}` });
      }
    }
    const reported = new Map(state.steps.map((s) => [s.id, s]));
    for (const p of prediction.steps) {
      const r = reported.get(p.id);
      if (!r) {
        if (p.mayBeAbsent !== true) out.push({ kind: 'state: step missing', stepId: p.id, detail: '' });
        continue;
      }
      if (p.orSkipped === true && r.status === 'skipped' && r.attempts.length === 0) continue;
      const seen = r.attempts.map(seenFromState);
      const found: Mismatch[] = [];
      if (p.status !== 'unknown' && r.status !== p.status) found.push({ kind: `state: step ${p.status} reported ${r.status}`, stepId: p.id, detail: `expected ${attemptsText(p.attempts)}; reported ${attemptsText(seen)}` });
      compareAttempts('state', p.id, p.attempts, seen, found);
      // At a tie of a start call's answer with the cancel, either reading holds (model.ts `orCancelledAtTie`).
      const tie = p.orCancelledAtTie;
      const alternative: Mismatch[] = [];
      if (tie && found.length > 0) {
        if (r.status !== 'cancelled') alternative.push({ kind: 'state: tied step', stepId: p.id, detail: '' });
        compareAttempts('state', p.id, tie.attempts, seen, alternative);
      }
      if (!(tie && found.length > 0 && alternative.length === 0)) out.push(...found);
    }
  }
  if (actual.problem === undefined) {
    const stored = new Map<string, SeenAttempt[]>();
    for (const a of actual.store) stored.set(a.stepId, [...(stored.get(a.stepId) ?? []), seenFromStore(a)]);
    for (const p of prediction.steps) {
      const seen = (stored.get(p.id) ?? []).sort((a, b) => a.n - b.n);
      const found: Mismatch[] = [];
      compareAttempts('store', p.id, p.attempts, seen, found);
      const alternative: Mismatch[] = [];
      if (p.orCancelledAtTie && found.length > 0) compareAttempts('store', p.id, p.orCancelledAtTie.attempts, seen, alternative);
      if (!(p.orCancelledAtTie && found.length > 0 && alternative.length === 0)) out.push(...found);
    }
  }
  return { prediction, mismatches: markTies(scenario, actual, prediction, out) };
}

/**
 * A cancel raised from inside the run's own work lands at the very instant of a step's start or end.
 * The spec settles ties (an end at or before the interrupt counts as before it), but a mismatch
 * there is a corner of its own: its kind says so, apart from the same kind at a clean instant.
 */
function markTies(scenario: Scenario, actual: Actual, prediction: Prediction, out: readonly Mismatch[]): Mismatch[] {
  const at = actual.cancelAt;
  if (scenario.cancel === undefined || scenario.cancel.at.kind === 'instant' || at === undefined) return [...out];
  const tied = new Set(prediction.steps.filter((p) => p.attempts.some((a) => a.start === at || a.end === at)).map((p) => p.id));
  const runTied = prediction.end?.lo === at;
  return out.map((m) => ((m.stepId !== undefined ? tied.has(m.stepId) : runTied && m.kind.startsWith('run:')) ? { ...m, kind: `${m.kind} (cancel tied with an end)` } : m));
}

/** The readable diff printed on a mismatch: the scenario, then expected vs reported per step involved. */
export function formatDiff(label: string, scenario: Scenario, actual: Actual, comparison: Comparison): string {
  const { prediction, mismatches } = comparison;
  const lines = [`── ${label}: ${mismatches.length} mismatches (${[...new Set(mismatches.map((m) => m.kind))].join('; ')})`, describeScenario(scenario)];
  const extra = [
    actual.cancelAt === undefined ? '' : `cancel raised at ${sec(actual.cancelAt)}`,
    actual.noticesDropped > 0 ? `${actual.noticesDropped} notices lost` : '',
    `${actual.executions} execution(s) of the run`,
  ].filter((x) => x !== '');
  lines.push(`  observed: ${extra.join(', ')}`);
  const expectedRun = prediction.outcome ? `${outcomeText(prediction.outcome)} at ${prediction.end ? sec(prediction.end.lo) : '?'}` : 'stalled';
  const reportedRun = actual.state ? `${actual.state.status}${actual.state.error?.class ? ` (${actual.state.error.class})` : ''} at ${sec(ms(actual.state.endedAt))}` : actual.runtimeStatus;
  lines.push(`  run: expected ${expectedRun}; reported ${reportedRun}`);
  const involved = new Set(mismatches.flatMap((m) => (m.stepId === undefined ? [] : [m.stepId])));
  const reported = new Map((actual.state?.steps ?? []).map((s) => [s.id, s]));
  for (const p of prediction.steps) {
    if (!involved.has(p.id)) continue;
    const r = reported.get(p.id);
    lines.push(`  ${p.id}: expected ${p.status} ${attemptsText(p.attempts)}`);
    lines.push(`  ${' '.repeat(p.id.length)}  reported ${r ? `${r.status} ${attemptsText(r.attempts.map(seenFromState))}` : '—'}`);
    const stored = actual.store.filter((a) => a.stepId === p.id).map(seenFromStore).sort((a, b) => a.n - b.n);
    lines.push(`  ${' '.repeat(p.id.length)}  store    ${attemptsText(stored)}`);
    lines.push(`  ${' '.repeat(p.id.length)}  starts   ${(actual.starts.get(p.id) ?? []).map(sec).join(', ') || '—'}`);
  }
  for (const m of mismatches) lines.push(`  · ${m.kind}${m.stepId ? ` [${m.stepId}]` : ''}${m.detail ? `: ${m.detail}` : ''}`);
  return lines.join('\n');
}
