/**
 * dbt's `run_results.json` → the numbers a run record shows and the messages of the nodes that
 * failed. Both runners read the same artifact: dbt Cloud serves it, the Container Apps job uploads it.
 */
import { z } from 'zod';
import type { StepMetrics } from '../protocol';

const resultSchema = z.object({
  unique_id: z.string(),
  status: z.string(),
  message: z.string().nullable().optional(),
  failures: z.number().nullable().optional(),
  execution_time: z.number().nullable().optional(),
});

/** Only the fields we read; dbt adds fields with every version. */
export const runResultsSchema = z.object({ results: z.array(resultSchema) });

export interface DbtRunSummary {
  readonly metrics: DbtMetrics;
  /** `unique_id: message` of each errored model or failed test, in dbt's order. */
  readonly failures: readonly string[];
  /** Every node dbt reported, in its order: what the run's log shows. */
  readonly nodes: readonly DbtNodeResult[];
}

export interface DbtNodeResult {
  readonly id: string;
  /** dbt's own word: success, error, skipped, pass, fail, warn… */
  readonly status: string;
  /** `execution_time`, seconds. */
  readonly seconds: number | null;
  readonly message: string | null;
}

export interface DbtMetrics extends StepMetrics {
  modelsSucceeded: number;
  modelsErrored: number;
  modelsSkipped: number;
  testsPassed: number;
  testsFailed: number;
  testsWarned: number;
}

/** Seeds and snapshots build tables like models do: they count as models. Unit tests count as tests. */
const BUILT = ['model.', 'seed.', 'snapshot.'];
const TESTS = ['test.', 'unit_test.'];
const MESSAGE_LIMIT = 500;

export function summarizeRunResults(raw: unknown): DbtRunSummary | undefined {
  const parsed = runResultsSchema.safeParse(raw);
  if (!parsed.success) return undefined;
  const metrics: DbtMetrics = { modelsSucceeded: 0, modelsErrored: 0, modelsSkipped: 0, testsPassed: 0, testsFailed: 0, testsWarned: 0 };
  const failures: string[] = [];
  for (const result of parsed.data.results) {
    const status = result.status.toLowerCase();
    if (BUILT.some((p) => result.unique_id.startsWith(p))) {
      if (status === 'success') metrics.modelsSucceeded++;
      else if (status === 'error') {
        metrics.modelsErrored++;
        failures.push(describe(result));
      } else if (status === 'skipped') metrics.modelsSkipped++;
    } else if (TESTS.some((p) => result.unique_id.startsWith(p))) {
      if (status === 'pass') metrics.testsPassed++;
      else if (status === 'warn') metrics.testsWarned++;
      // A test that could not run at all is as much a failure to the reader as one that found rows.
      else if (status === 'fail' || status === 'error') {
        metrics.testsFailed++;
        failures.push(describe(result));
      }
    }
  }
  const nodes = parsed.data.results.map((r) => ({ id: r.unique_id, status: r.status.toLowerCase(), seconds: r.execution_time ?? null, message: r.message ? clipMessage(r.message) : null }));
  return { metrics, failures, nodes };
}

/**
 * One run_results.json from several (one per command of a dbt Cloud job, in step order). A node a
 * later command ran again (`dbt run` then `dbt build`) counts once, with its latest result.
 * An artifact that is not run_results-shaped makes the whole merge undefined-shaped (no metrics),
 * rather than quietly dropping a step.
 */
export function mergeRunResults(artifacts: readonly unknown[]): unknown {
  const parsed = artifacts.map((a) => runResultsSchema.safeParse(a));
  if (parsed.some((p) => !p.success)) return undefined;
  const byNode = new Map<string, unknown>();
  for (const p of parsed) for (const result of p.data?.results ?? []) {
    byNode.delete(result.unique_id);
    byNode.set(result.unique_id, result);
  }
  return { results: [...byNode.values()] };
}

function describe(result: z.infer<typeof resultSchema>): string {
  return `${result.unique_id}: ${clipMessage(result.message ?? result.status)}`;
}

function clipMessage(text: string): string {
  const message = text.replace(/\s+/g, ' ').trim();
  return message.length > MESSAGE_LIMIT ? `${message.slice(0, MESSAGE_LIMIT)}…` : message;
}

/** No model errored but some test failed: exactly what `failOnTestFailure: false` tolerates. */
export function onlyTestsFailed(summary: DbtRunSummary): boolean {
  return summary.metrics.modelsErrored === 0 && summary.metrics.testsFailed > 0;
}
