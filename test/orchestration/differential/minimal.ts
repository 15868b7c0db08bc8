/**
 * One small scenario per mismatch kind the differential check found on the engine of main 644f08c,
 * shrunk by fast-check (`npm run bench -- differential` with DIFF_SHRINK=1) and then tidied by hand.
 * Each names the kind it showed and what the spec expects instead; engineDifferential.test.ts runs
 * them with the random seeds.
 */
import type { AttemptScript, Scenario, StepSpec } from './model';

const ok = (seconds: number): AttemptScript => ({ seconds, outcome: 'succeeded' });
const transient = (seconds: number): AttemptScript => ({ seconds, outcome: 'transient' });

function step(id: string, script: readonly AttemptScript[], extra: Partial<StepSpec> = {}): StepSpec {
  return { id, dependsOn: [], attempts: 1, delays: 0, retryOn: ['transient', 'timeout'], script, after: ok(0), ...extra };
}

function scenario(name: string, steps: readonly StepSpec[], extra: Partial<Scenario> = {}): Scenario {
  return { name, steps, groups: {}, pipelineRetry: { retries: 0, delaySeconds: 0, retryPermanent: false }, drops: { kind: 'none' }, ...extra };
}

/** A wave of 12 parallel steps (wider than FAN_OUT: batch nodes): `first` then 11 one-minute jobs. */
function wave(first: StepSpec): StepSpec[] {
  return [first, ...Array.from({ length: 11 }, (_, i) => step(`w${i + 1}`, [ok(60)]))];
}

export interface MinimalCase {
  /** The mismatch kinds it showed on main 644f08c. */
  readonly kinds: readonly string[];
  /** What the spec expects, in a user's words. */
  readonly expect: string;
  readonly scenario: Scenario;
}

export const MINIMAL_CASES: readonly MinimalCase[] = [
  {
    kinds: ['state: step succeeded reported cancelled', 'state: attempt missing'],
    expect: 'a batch member that succeeded before the cancel stays succeeded with its attempt',
    scenario: scenario('min-batch-succeeded', wave(step('w0', [ok(0)])), { cancel: { via: 'api', at: { kind: 'instant', seconds: 30.5 } } }),
  },
  {
    kinds: ['state: step failed reported cancelled', 'state: attempt missing'],
    expect: 'a batch member that failed before the cancel stays failed with its attempt',
    scenario: scenario('min-batch-failed', wave(step('w0', [{ seconds: 0, outcome: 'permanent' }])), { cancel: { via: 'event', at: { kind: 'instant', seconds: 30.5 } } }),
  },
  {
    kinds: ['state: cancelled attempt missing', 'engine: job not stopped at the interrupt', 'store: attempt cancelled reported succeeded'],
    expect: 'a step running in its own sub-orchestration at the cancel: its job is asked to stop, its attempt ends cancelled at the cancel, in the run state and the run store',
    scenario: scenario('min-sub-cancelled', [step('a', [ok(0)]), step('b', [ok(60)])], { cancel: { via: 'api', at: { kind: 'instant', seconds: 30.5 } } }),
  },
  {
    kinds: ['state: attempt missing'],
    expect: 'a step waiting for its retry at the cancel is cancelled and keeps its failed attempt',
    scenario: scenario('min-retry-wait-cancelled', [step('a', [transient(0)], { attempts: 2, delays: 120 }), step('b', [ok(60)])], { cancel: { via: 'event', at: { kind: 'instant', seconds: 30.5 } } }),
  },
  {
    kinds: ['engine: start after the run ended', 'store: unexpected attempt'],
    expect: 'no attempt starts after a cancel: the step retrying in a sub-orchestration stops',
    scenario: scenario('min-retry-after-cancel', [step('a', [transient(0)], { attempts: 2, delays: 60 }), step('b', [ok(120)])], { cancel: { via: 'api', at: { kind: 'instant', seconds: 30.5 } } }),
  },
  {
    kinds: ['engine: start after the run ended', 'store: unexpected attempt'],
    expect: 'no attempt starts after a run timeout',
    scenario: scenario('min-retry-after-timeout', [step('a', [transient(0)], { attempts: 2, delays: 60 }), step('b', [ok(120)])], { timeoutSeconds: 30.5 }),
  },
  {
    kinds: ['state: attempt cancelled reported failed:timeout', 'store: attempt cancelled reported failed:permanent'],
    expect: 'at a run timeout the attempt in progress ends cancelled ("run timed out") at that instant, in the run state and the run store',
    scenario: scenario('min-run-timeout-attempt', [step('a', [ok(60)])], { timeoutSeconds: 30.5 }),
  },
  {
    kinds: ['store: attempt instants differ'],
    expect: 'a step that timed out before a cancel keeps its attempt, started when it started, in the run store',
    scenario: scenario('min-store-timeout-start', wave(step('w0', [ok(60)], { timeoutSeconds: 5 })), { cancel: { via: 'api', at: { kind: 'instant', seconds: 30.5 } } }),
  },
  {
    kinds: ['engine: first start late'],
    expect: "a lost notice delays the dependent by at most one check-in (15 min) beyond its dependency's end",
    scenario: scenario('min-lost-notice-late', [step('a', [ok(840)]), step('b', [ok(3600)]), step('c', [ok(60)], { dependsOn: ['a'] })], { drops: { kind: 'steps', steps: ['a'] } }),
  },
  {
    kinds: ['run: end instant'],
    expect: 'with every notice lost the run still ends within one check-in of its last step',
    scenario: scenario('min-lost-notice-end', [step('a', [ok(840)]), step('b', [ok(60)])], { drops: { kind: 'all' } }),
  },
];

const permanent = (seconds: number): AttemptScript => ({ seconds, outcome: 'permanent' });

/**
 * Hand-written cases of the pipeline language (docs/pipelines.md §2) the random language seeds
 * rarely draw: a handled failure, a handler that fails, a clean-up that does not hide a failure,
 * conditions on skipped steps, a pipeline retry only for unhandled failures.
 */
export const LANGUAGE_CASES: readonly { readonly expect: string; readonly scenario: Scenario }[] = [
  {
    expect: 'a failure handled by a succeeded `failed` dependent: the run succeeds, no pipeline retry waits; clean-up runs; the default dependent is skipped and its `skipped` dependent runs',
    scenario: scenario(
      'lang-handled',
      [
        step('load', [ok(60), permanent(30)]),
        step('load2', [permanent(30)], { dependsOn: ['load'] }),
        step('notify', [ok(10)], { dependsOn: ['load2'], conditions: { load2: 'failed' } }),
        step('cleanup', [ok(20)], { dependsOn: ['load2'], conditions: { load2: 'completed' } }),
        step('dbt', [ok(60)], { dependsOn: ['load2'] }),
        step('noDbt', [ok(5)], { dependsOn: ['dbt'], conditions: { dbt: 'skipped' } }),
      ],
      { pipelineRetry: { retries: 1, delaySeconds: 300, retryPermanent: true } },
    ),
  },
  {
    expect: 'the handler fails too: both failures are unhandled, so the pipeline retry re-runs them; load then succeeds, the handler is skipped (load did not fail) and the run succeeds',
    scenario: scenario(
      'lang-handler-fails',
      [step('load', [permanent(30)]), step('notify', [transient(10)], { dependsOn: ['load'], conditions: { load: 'failed' } }), step('cleanup', [ok(20)], { dependsOn: ['load'], conditions: { load: 'completed' } })],
      { pipelineRetry: { retries: 1, delaySeconds: 120, retryPermanent: false } },
    ),
  },
  {
    expect: 'a clean-up on completion alone does not hide the failure; a step whose when is false is skipped and never starts',
    scenario: scenario('lang-cleanup-only', [step('load', [permanent(30)]), step('cleanup', [ok(20)], { dependsOn: ['load'], conditions: { load: 'completed' } }), step('report', [ok(5)], { whenFalse: true }), step('after', [ok(5)], { dependsOn: ['report'], conditions: { report: 'skipped' } })]),
  },
  {
    expect: 'a cancel while a failure handler runs: the handler ends cancelled, the run is cancelled',
    scenario: scenario('lang-cancel-handler', [step('load', [permanent(30)]), step('notify', [ok(120)], { dependsOn: ['load'], conditions: { load: 'failed' } })], { cancel: { via: 'api', at: { kind: 'instant', seconds: 90.5 } } }),
  },
];
