/**
 * How a finished dbt run becomes the step's result, the same for both runners: success with the
 * counts, or a permanent failure naming the nodes that broke. With `failOnTestFailure: false` a run
 * whose only failures are tests succeeds (dbt itself reports such a run as failed).
 */
import { PermanentError, type ClassifiedError } from '../../core/errors';
import type { JsonObject } from '../../core/json';
import { maskSecrets } from '../../logging/mask';
import type { StepContext } from '../adapter';
import type { StepOutcome } from '../protocol';
import { dbtNodeLines } from '../resultLines';
import { onlyTestsFailed, type DbtRunSummary } from './runResults';
import type { DbtStep } from './types';

export interface FinishedDbtRun {
  /** Whether dbt (Cloud, or the container's exit code) reported success. */
  readonly succeeded: boolean;
  /** Parsed `run_results.json`, when the run produced one. */
  readonly summary: DbtRunSummary | undefined;
  /** "dbt Cloud run 42", "Container Apps job execution dbt-x1y2": how messages name the run. */
  readonly label: string;
  /** Small secret-free facts kept as the step output (run id, link). */
  readonly output: JsonObject;
  /** The service's own words about the run (dbt Cloud's `status_message`), used when no node failed. */
  readonly statusMessage?: string;
  /** The error when the run failed and left no `run_results.json` to explain why. */
  readonly failedWithoutResults: () => ClassifiedError;
}

const LISTED_FAILURES = 5;

export function finishDbtRun(step: DbtStep, run: FinishedDbtRun, ctx: Pick<StepContext, 'report'>): StepOutcome {
  const { summary } = run;
  // Reported before the verdict: a failed run's log shows which models broke and how long each took.
  if (summary !== undefined) dbtNodeLines(summary.nodes, run.label).forEach((line) => ctx.report?.(line));
  if (summary === undefined) {
    if (!run.succeeded) throw run.failedWithoutResults();
    return { status: 'succeeded', output: { ...run.output, runResults: 'missing' } };
  }
  const metrics = summary.metrics;
  const toleratedTests = !step.failOnTestFailure && onlyTestsFailed(summary);
  const broken = !run.succeeded || metrics.modelsErrored > 0 || (step.failOnTestFailure && metrics.testsFailed > 0);
  if (broken && !toleratedTests) {
    const listed = summary.failures.slice(0, LISTED_FAILURES).join('; ');
    const more = summary.failures.length > LISTED_FAILURES ? ` (+${summary.failures.length - LISTED_FAILURES} more)` : '';
    const counts = `${metrics.modelsErrored} model(s) errored, ${metrics.testsFailed} test(s) failed`;
    const why = listed ? `: ${listed}${more}` : run.statusMessage ? ` — ${run.statusMessage}` : '';
    throw new PermanentError(maskSecrets(`${run.label} failed: ${counts}${why}`), {
      code: onlyTestsFailed(summary) ? 'DBT_TEST_FAILURE' : 'DBT_ERROR',
    });
  }
  return { status: 'succeeded', output: run.output, metrics };
}
