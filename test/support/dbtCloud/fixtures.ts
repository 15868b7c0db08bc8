import assert from 'node:assert/strict';
/** run_results.json bodies as dbt-core 1.9 writes them (trimmed to the fields that matter). */
import type { StepAdapter, StepContext } from '../../../src/steps/adapter';
import type { StepOutcome } from '../../../src/steps/protocol';
import type { StepDefinition } from '../../../src/pipelines/schema';

const meta = { dbt_schema_version: 'https://schemas.getdbt.com/dbt/run-results/v6.json', dbt_version: '1.9.4', generated_at: '2026-01-01T02:10:00Z' };
const timing = [{ name: 'execute', started_at: '2026-01-01T02:09:00Z', completed_at: '2026-01-01T02:09:30Z' }];

export const SUCCESS_RESULTS = {
  metadata: meta,
  elapsed_time: 41.2,
  results: [
    { unique_id: 'seed.shop.countries', status: 'success', message: 'INSERT 250', failures: null, timing, thread_id: 'Thread-1', execution_time: 1.1, adapter_response: {} },
    { unique_id: 'model.shop.stg_orders', status: 'success', message: 'SUCCESS 1', failures: null, timing, thread_id: 'Thread-1', execution_time: 3.2, adapter_response: { rows_affected: 1200 } },
    { unique_id: 'model.shop.orders', status: 'success', message: 'SUCCESS 1', failures: null, timing, thread_id: 'Thread-2', execution_time: 9.8, adapter_response: {} },
    { unique_id: 'snapshot.shop.customers_snapshot', status: 'skipped', message: null, failures: null, timing: [], thread_id: 'Thread-3', execution_time: 0, adapter_response: {} },
    { unique_id: 'test.shop.not_null_orders_id.5a1b', status: 'pass', message: null, failures: 0, timing, thread_id: 'Thread-1', execution_time: 0.4, adapter_response: {} },
    { unique_id: 'test.shop.accepted_values_orders_status.9c2d', status: 'warn', message: 'Got 2 results, configured to warn if != 0', failures: 2, timing, thread_id: 'Thread-2', execution_time: 0.5, adapter_response: {} },
  ],
  args: { which: 'build' },
};

export const SUCCESS_METRICS = { modelsSucceeded: 3, modelsErrored: 0, modelsSkipped: 1, testsPassed: 1, testsFailed: 0, testsWarned: 1 };

export const MODEL_ERROR_MESSAGE = "Database Error in model orders (models/orders.sql)\n  002003 (42S02): SQL compilation error:\n  Object 'RAW.SHOP.ORDERS' does not exist or not authorized.";

export const MODEL_ERROR_RESULTS = {
  metadata: meta,
  elapsed_time: 12.5,
  results: [
    { unique_id: 'model.shop.stg_orders', status: 'success', message: 'SUCCESS 1', failures: null, timing, thread_id: 'Thread-1', execution_time: 3.2, adapter_response: {} },
    { unique_id: 'model.shop.orders', status: 'error', message: MODEL_ERROR_MESSAGE, failures: null, timing, thread_id: 'Thread-2', execution_time: 0.8, adapter_response: {} },
    { unique_id: 'model.shop.orders_daily', status: 'skipped', message: null, failures: null, timing: [], thread_id: 'Thread-1', execution_time: 0, adapter_response: {} },
  ],
  args: { which: 'run' },
};

export const TEST_FAILURE_RESULTS = {
  metadata: meta,
  elapsed_time: 20.1,
  results: [
    { unique_id: 'model.shop.orders', status: 'success', message: 'SUCCESS 1', failures: null, timing, thread_id: 'Thread-1', execution_time: 9.8, adapter_response: {} },
    { unique_id: 'test.shop.unique_orders_id.77aa', status: 'fail', message: 'Got 3 results, configured to fail if != 0', failures: 3, timing, thread_id: 'Thread-2', execution_time: 0.6, adapter_response: {} },
  ],
  args: { which: 'build' },
};

/** Starts the step and polls it (no waiting: the stand-ins count polls, not seconds) until it ends. */
export async function driveToEnd<S extends StepDefinition>(adapter: StepAdapter<S>, step: S, ctx: StepContext, maxPolls = 20) {
  const outcomes: StepOutcome[] = [];
  let outcome = await adapter.start(step, ctx);
  outcomes.push(outcome);
  for (let i = 0; outcome.status === 'running' && i < maxPolls; i++) {
    outcome = await adapter.poll!(step, outcome.handle, ctx);
    outcomes.push(outcome);
  }
  return { outcome, outcomes };
}

/** The error a promise rejects with; fails the test when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  assert.fail('expected a rejection');
}
