/**
 * Which step kinds can keep a start delivered twice (activities run at least once: a host that
 * dies after the effect and before Durable records the completion runs `startStep` again) to one
 * external effect, and what is said when one cannot (issue 26). A kind whose service cannot
 * deduplicate claims its attempt's start in the run store before calling (stepActivities.ts,
 * TableRunStore.claimAttempt); a second delivery finds the claim, still calls (the Idempotency-Key
 * lets a function that honours it do nothing twice) and says "duplicate start possible" in the
 * run's log and in the process log.
 */
import type { StepDefinition } from '../pipelines/schema';
import { IDEMPOTENT_METHODS } from '../steps/azureFunction/adapter';

/**
 * How the step's own service makes a second delivery of the same attempt's start one effect, or
 * undefined when nothing does. docs/deploy.md ("Effects once, per step kind") says the same.
 */
export function dedupedBy(step: StepDefinition): string | undefined {
  switch (step.kind) {
    case 'azureFunction':
      if (step.honoursIdempotencyKey) return 'the function honours the Idempotency-Key (honoursIdempotencyKey: true)';
      if (IDEMPOTENT_METHODS.has(step.method)) return `HTTP ${step.method} is idempotent`;
      return undefined;
    case 'snowflake':
      return "the attempt's statement is found by its QUERY_TAG before one is submitted";
    case 'dbt':
      return step.runner.type === 'cloud'
        ? "the attempt's dbt Cloud run is found by its cause before one is triggered"
        : "the attempt's job execution is found by its start note before one is started";
    case 'waitFor':
      return 'a check only reads';
    case 'approval':
      return 'the request is kept once per run and step';
    case 'activity':
      return undefined;
    case 'pipeline':
      return "the child run's id is derived from the run, step and attempt, and startRunOnce starts it once";
  }
}

/** What a second delivery of a start that nothing deduplicates may have done twice, and what to do. */
export function duplicateStartRisk(step: StepDefinition, idempotencyKey: string): string {
  if (step.kind === 'azureFunction') {
    return `the function is called again with the same Idempotency-Key ${idempotencyKey}; one that ignores the key exports twice (docs/deploy.md, "The export function and its Idempotency-Key")`;
  }
  if (step.kind === 'activity') return `activity "${step.activity}" runs again; make it idempotent on its input's runId, stepId and attempt`;
  return 'the step runs again';
}
