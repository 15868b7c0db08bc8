/**
 * dbt Cloud's `include_related` in either form the API might parse (a JSON list, or a plain /
 * comma-separated value): the look-up for a run this attempt already triggered, and the run's
 * steps whose artifacts are read, work whichever form the stand-in honours.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { dbtStepSchema } from '../../src/pipelines/schema';
import { createDbtAdapter } from '../../src/steps/dbt/adapter';
import type { DbtStep } from '../../src/steps/dbt/types';
import { startDbtCloudStandIn, type DbtCloudStandIn } from '../../src/standins/dbtCloud/server';
import { createTestStepContext } from '../support/dbtCloud/stepContext';
import { driveToEnd, SUCCESS_METRICS, SUCCESS_RESULTS } from '../support/dbtCloud/fixtures';

const TOKEN = 'dbt-include-related-token-1';

const only = (test: (id: string) => boolean) => ({ ...SUCCESS_RESULTS, results: SUCCESS_RESULTS.results.filter((r) => test(r.unique_id)) });
const THREE_COMMANDS = {
  status: 10 as const,
  steps: [
    { command: 'dbt seed', runResults: only((id) => id.startsWith('seed.')) },
    { command: 'dbt run', runResults: only((id) => /^(model|snapshot)\./.test(id)) },
    { command: 'dbt test', runResults: only((id) => id.startsWith('test.')) },
  ],
};

for (const form of ['json', 'plain'] as const) {
  void describe(`dbt Cloud honouring include_related only as ${form === 'json' ? 'a JSON list' : 'a plain value'}`, () => {
    let server: DbtCloudStandIn;
    before(async () => {
      server = await startDbtCloudStandIn({ token: TOKEN, includeRelatedForm: form, outcome: THREE_COMMANDS });
    });
    after(() => server.close());

    const step = (): DbtStep =>
      dbtStepSchema.parse({ id: 'transform', kind: 'dbt', runner: { type: 'cloud', accountId: server.accountId, jobId: server.jobId, token: { secret: 'dbt-cloud-token' }, baseUrl: server.url } });

    void test('a start delivered twice for one attempt triggers one dbt Cloud run and follows it', async () => {
      const adapter = createDbtAdapter();
      const t = createTestStepContext({ secrets: { 'dbt-cloud-token': TOKEN }, runId: `run-${randomUUID()}` });
      const before = server.triggers.length;
      const first = await adapter.start(step(), t.ctx);
      const again = await createDbtAdapter().start(step(), t.ctx);
      assert.equal(server.triggers.length, before + 1, 'one dbt Cloud run');
      assert.deepEqual(again.status === 'running' && again.handle, first.status === 'running' && first.handle);
    });

    void test('the finished run’s steps are listed, so every command’s run_results.json is read', async () => {
      const t = createTestStepContext({ secrets: { 'dbt-cloud-token': TOKEN }, runId: `run-${randomUUID()}` });
      const { outcome } = await driveToEnd(createDbtAdapter(), step(), t.ctx);
      assert.equal(outcome.status, 'succeeded');
      assert.deepEqual(outcome.metrics, SUCCESS_METRICS, 'seed, models and tests all counted');
    });
  });
}
