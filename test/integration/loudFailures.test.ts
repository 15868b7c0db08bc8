/**
 * What fails without a run failing must be loud (issue 22), and a run waiting for its pipeline
 * retry must say so: the whole app in the development host against the stand-ins.
 * - an alert that cannot be delivered is written in the run's log (and the console shows it);
 * - GET /api/health checks that every alert webhook secret holds a URL an alert can be posted to;
 * - the pipeline-retry wait is in GET /api/runs/{id} as the engine published it, and
 *   `durable-pipelines logs <id> --follow` says "pipeline attempt 2 at HH:MM" while it waits;
 * - a scheduled slot whose run cannot be started is alerted like a failed run, and the schedule
 *   shows `failing` in GET /api/pipelines and `schedules ls`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FUNCTION_KEY, startApp, type AppHarness } from '../support/appHarness';
import { runCli, startCli, stopAllChildren } from '../support/demoProcess';
import { withSchedules } from '../support/schedulerPipelines';
import { loadCatalog } from '../../src/pipelines/catalog';
import seed from '../../src/pipelines/definitions/data-pipeline';
import { tickWithServices } from '../../src/scheduler/fromServices';
import type { DurableStartClient } from '../../src/app/durableStarter';
import { useServices } from '../../src/app/services';

interface RunJson {
  status: string;
  pipelineAttempt?: number;
  pipelineRetry?: { attempt: number; at: string };
  steps: { id: string; status: string; attempts: { endedAt?: string }[] }[];
}
interface HealthJson {
  status: string;
  checks: { name: string; ok: boolean; detail?: string; missing?: string[] }[];
}
interface LogsJson {
  lines: { level: string; msg: string; fields?: { alert?: { channel: string; webhook: string; error: string } } }[];
}

const WEBHOOK = 'slack-webhook-url';

void describe('loud failures and the pipeline-retry wait', () => {
  let app: AppHarness;
  before(async () => {
    app = await startApp({ startTime: new Date('2026-11-28T01:00:00Z') });
  });
  after(async () => {
    await stopAllChildren();
    await app.stop();
  });

  const setWebhook = (value: string): void => {
    app.world.keyVault.setSecret(WEBHOOK, value);
    app.services.secrets.invalidate(WEBHOOK);
  };
  const webhooksCheck = async () => {
    const health = await app.api<HealthJson>('GET', 'health');
    return { status: health.status, check: health.json.checks.find((c) => c.name === 'webhooks') };
  };
  const view = async (runId: string) => (await app.api<RunJson>('GET', `runs/${encodeURIComponent(runId)}`)).json;
  const startRun = async (): Promise<string> => {
    const started = await app.api<{ runId: string }>('POST', 'pipelines/data-pipeline/runs', {});
    assert.equal(started.status, 202, started.text);
    return started.json.runId;
  };

  void test('/api/health names an alert webhook whose URL does not parse, never its value', async () => {
    const good = await webhooksCheck();
    assert.equal(good.check?.ok, true, JSON.stringify(good));
    setWebhook('hooks.slack.com/services/T0/B0/not-a-url-secret');
    try {
      const bad = await webhooksCheck();
      assert.equal(bad.status, 503);
      assert.equal(bad.check?.ok, false);
      assert.match(bad.check?.detail ?? '', /slack-webhook-url \(slack\): not a URL/);
      assert.deepEqual(bad.check?.missing, [WEBHOOK]);
      assert.ok(!JSON.stringify(bad).includes('not-a-url-secret'), 'the secret value is never shown');
    } finally {
      setWebhook(app.world.slack.slackUrl);
    }
  });

  void test('a failed run whose alert is refused by the webhook says so in its own log', async () => {
    // Slack answers a revoked webhook 404 no_service: not retried, not delivered.
    setWebhook(`${app.world.slack.baseUrl}/services/revoked`);
    app.setFailStep('transform');
    try {
      const runId = await startRun();
      await app.until('the run to fail', async () => ((await view(runId)).status === 'failed' ? true : undefined), { timeoutMs: 60_000 });
      const logs = (await app.api<LogsJson>('GET', `runs/${encodeURIComponent(runId)}/logs`)).json.lines;
      const line = await app.until('the alert line', async () => {
        const all = (await app.api<LogsJson>('GET', `runs/${encodeURIComponent(runId)}/logs`)).json.lines;
        return all.find((l) => l.fields?.alert);
      }).catch((error: unknown) => {
        throw new Error(`${(error as Error).message}\n${logs.map((l) => `${l.level} ${l.msg}`).join('\n')}`);
      });
      assert.equal(line.level, 'error');
      assert.equal(line.msg, 'failed alert to slack (webhook secret slack-webhook-url) not delivered: webhook answered HTTP 404: no_service');
      assert.deepEqual(line.fields?.alert, { channel: 'slack', webhook: WEBHOOK, error: 'webhook answered HTTP 404: no_service', attempts: 1 });
      assert.ok(logs.length > 0);
    } finally {
      app.setFailStep(undefined);
      setWebhook(app.world.slack.slackUrl);
    }
  });

  void test('while a failed round waits, the run view carries the wait and logs --follow says "pipeline attempt 2 at HH:MM"', async () => {
    app.setFailStep('load');
    let runId = '';
    try {
      runId = await startRun();
      // The seed's load: 4 tries 120 s apart, then the pipeline retry 300 s after the last failure.
      let waiting: RunJson | undefined;
      for (let i = 0; i < 30 && !waiting?.pipelineRetry; i++) {
        await app.host.advance(60_000);
        waiting = await view(runId);
      }
      assert.ok(waiting?.pipelineRetry, JSON.stringify(waiting));
      assert.equal(waiting.status, 'running');
      assert.deepEqual(waiting.steps.map((s) => s.status), ['succeeded', 'failed', 'skipped']);
      const lastFailure = waiting.steps[1]?.attempts.at(-1)?.endedAt ?? '';
      assert.equal(waiting.pipelineRetry.attempt, 2);
      assert.equal(Date.parse(waiting.pipelineRetry.at) - Date.parse(lastFailure), 300_000, 'the seed pipeline retry: 300 s after the last failure');
      const hhmm = waiting.pipelineRetry.at.slice(11, 16);

      const follower = startCli(['logs', runId, '--follow', '--interval', '0.2'], { DURABLE_PIPELINES_URL: app.baseUrl, DURABLE_PIPELINES_KEY: FUNCTION_KEY });
      await follower.waitFor(new RegExp(`run failed \\(pipeline attempt 1\\); pipeline attempt 2 at ${hhmm} UTC`));
      // The retry runs (and fails again): the follower ends with the run, exit code 1.
      await app.until('the run to end', async () => ((await view(runId)).status === 'failed' ? true : undefined), { timeoutMs: 60_000 });
      const result = await follower.done;
      assert.equal(result.code, 1, result.stdout + result.stderr);
      assert.equal(result.stdout.match(/pipeline attempt 2 at/g)?.length, 1, result.stdout);
      const ended = await view(runId);
      assert.equal(ended.pipelineAttempt, 2);
      assert.equal(ended.pipelineRetry, undefined, 'no wait on an ended run');
    } finally {
      app.setFailStep(undefined);
    }
  });

  void test('a slot whose run cannot start: alerted like a failed run, and the schedule shows failing in the listing and schedules ls', async () => {
    // An hourly schedule whose every start fails (Durable refuses it), alerting on failure.
    const hourly = withSchedules(seed, 'hourly-load', [{ name: 'hourly', cron: '0 * * * *', timezone: 'UTC' }], [{ on: ['failed'], channel: 'slack', webhook: { secret: WEBHOOK } }]);
    const catalog = loadCatalog([hourly]);
    app.useCatalog(catalog);
    try {
      const refusing: DurableStartClient = {
        getStatus: () => Promise.reject(new Error('404 Not Found')),
        getStatusBy: () => Promise.resolve([]),
        startNew: () => Promise.reject(new Error('the task hub is not available')),
      };
      const services = { ...app.services, config: { ...app.services.config, SCHEDULER_ENABLED: true } };
      const posts = app.world.slack.posts.length;
      // The slot's tick, then two retries on later ticks: the third gives up.
      for (const at of ['2026-11-28T02:00:05Z', '2026-11-28T02:01:05Z', '2026-11-28T02:02:05Z']) await tickWithServices(services, refusing, new Date(at));
      const alerts = app.world.slack.posts.slice(posts).map((p) => JSON.stringify(p.payload));
      assert.equal(alerts.length, 1, alerts.join('\n'));
      assert.match(alerts[0] ?? '', /hourly-load could not start its scheduled run/);
      assert.match(alerts[0] ?? '', /start failed \(attempt 3 of 3\): the task hub is not available/);

      // The app as deployed, with its scheduler on, lists the schedule as failing, saying why;
      // `schedules ls` prints the same word and the reason.
      useServices(services);
      const listing = await app.api<{ pipelines: { name: string; schedules: { name: string; state: string; lastStartFailure: { slot: string; reason: string } | null }[] }[] }>('GET', 'pipelines');
      const schedule = listing.json.pipelines.find((p) => p.name === 'hourly-load')?.schedules[0];
      assert.equal(schedule?.state, 'failing');
      assert.equal(schedule?.lastStartFailure?.slot, '2026-11-28T02:00:00Z');
      assert.match(schedule?.lastStartFailure?.reason ?? '', /the task hub is not available/);
      const ls = await runCli(['schedules', 'ls'], { DURABLE_PIPELINES_URL: app.baseUrl, DURABLE_PIPELINES_KEY: FUNCTION_KEY });
      assert.equal(ls.code, 0, ls.stderr);
      assert.match(ls.stdout, /^hourly-load +hourly +0 \* \* \* \* +UTC +failing /m);
      assert.match(ls.stdout, /hourly-load\/hourly is failing: the slot of 2026-11-28T02:00:00Z could not start its run: start failed \(attempt 3 of 3\): the task hub is not available/);
    } finally {
      app.useCatalog(loadCatalog([seed]));
    }
  });
});
