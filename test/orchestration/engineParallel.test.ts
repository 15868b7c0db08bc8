import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { StepState } from '../../src/engine';
import { pipeline, engineHostForSuite, snowflakeConnection } from './engineHarness';

const connection = snowflakeConnection;
const copy = (id: string, table: string) => ({
  id,
  kind: 'snowflake' as const,
  dependsOn: ['export'],
  connection,
  statement: { copyInto: { table, stage: 'mon_stage_azure', path: table, fileFormat: { type: 'JSON' as const } } },
  retry: { attempts: 3, delays: 120 },
  timeout: '1h',
});
const twoLoads = pipeline({
  name: 'two-loads',
  title: 'two loads',
  steps: [
    { id: 'export', kind: 'azureFunction', url: 'https://fn.example/api/export' },
    copy('loadOrders', 'orders'),
    copy('loadCustomers', 'customers'),
    { id: 'transform', kind: 'dbt', dependsOn: ['loadOrders', 'loadCustomers'], runner: { type: 'cloud', accountId: '1', jobId: '2', token: { secret: 'dbt-token' } } },
  ],
});

function interval(step: StepState | undefined): [number, number] {
  const last = step?.attempts.at(-1);
  assert.ok(last?.endedAt, `${step?.id} has an ended attempt`);
  return [Date.parse(last.startedAt), Date.parse(last.endedAt)];
}

describe('independent steps run in parallel', () => {
  const engine = engineHostForSuite();

  test('two independent COPY INTO steps run concurrently before dbt', async () => {
    engine().fake.script('loadOrders', [{ running: { polls: 4, pollAfterSeconds: 30 } }]);
    engine().fake.script('loadCustomers', [{ fail: 'transient' }, { running: { polls: 1, pollAfterSeconds: 30 } }]);
    const run = await engine().run(twoLoads, 'parallel-1');

    assert.equal(run.status, 'succeeded');
    const [, orders, customers, transform] = run.steps;
    const [oStart, oEnd] = interval(orders);
    const [cStart, cEnd] = interval(customers);
    assert.ok(oStart < cEnd && cStart < oEnd, 'the two loads overlap in virtual time');
    assert.equal(orders?.attempts[0]?.startedAt, customers?.attempts[0]?.startedAt, 'both start as soon as export succeeds');
    assert.deepEqual(customers?.attempts.map((a) => a.status), ['failed', 'succeeded'], 'each keeps its own retry policy');
    const [tStart] = interval(transform);
    assert.ok(tStart >= Math.max(oEnd, cEnd), 'dbt starts after both loads');
  });

  test('when one parallel step fails for good, its sibling still finishes and nothing downstream starts', async () => {
    engine().fake.script('loadOrders', [{ fail: 'permanent', message: "SQL compilation error: Table 'ORDERS' does not exist" }]);
    engine().fake.script('loadCustomers', [{ running: { polls: 2, pollAfterSeconds: 30 } }]);
    const noRetry = { ...twoLoads, pipelineRetry: { retries: 0, delay: 0, retryPermanent: false } };
    const run = await engine().run(noRetry, 'parallel-fail');

    assert.equal(run.status, 'failed');
    assert.equal(run.error?.stepId, 'loadOrders');
    assert.deepEqual(run.steps.map((s) => s.status), ['succeeded', 'failed', 'succeeded', 'skipped']);
    assert.equal(engine().fake.callsOf('parallel-fail', 'transform').length, 0);
  });
});
