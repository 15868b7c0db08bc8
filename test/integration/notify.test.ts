/** Slack and Teams alerts against webhook stand-ins that capture the payloads. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createNotifier, type RunEvent } from '../../src/notify';
import { alertSchema } from '../../src/pipelines/schema';
import { createSecretResolver } from '../../src/secrets/resolver';
import { memoryLogger } from '../support/canary';
import { startWebhookStandIn, type WebhookStandIn } from '../../src/standins/webhooks/server';

const failed: RunEvent = {
  kind: 'failed',
  pipeline: 'data-pipeline',
  title: 'Pipeline Data Complet',
  runId: 'data-pipeline-20261126T0100Z',
  startedAt: '2026-11-26T01:00:00Z',
  durationSeconds: 312,
  failedStep: 'load',
  error: 'COPY INTO failed: Table MA_TABLE_DESTINATION does not exist <<dp-failure>>{"class":"permanent","message":"x"}<</dp-failure>>',
};

const alerts = [
  alertSchema.parse({ on: ['failed', 'late'], channel: 'slack', webhook: { secret: 'slack-webhook' } }),
  alertSchema.parse({ on: ['failed', 'succeeded'], channel: 'teams', webhook: { secret: 'teams-webhook' } }),
];

void describe('notifications', () => {
  let hooks: WebhookStandIn;
  let settings: Record<string, string>;
  const notifier = (log = memoryLogger().logger) =>
    createNotifier({ secrets: createSecretResolver({ settings: (n) => settings[n] }), publicBaseUrl: 'https://pipelines.example.net/', log });

  before(async () => {
    hooks = await startWebhookStandIn();
    settings = { SECRET_SLACK_WEBHOOK: hooks.slackUrl, SECRET_TEAMS_WEBHOOK: hooks.teamsUrl };
  });
  after(async () => {
    await hooks.close();
  });

  void test('a failed run posts a Slack message and a Teams card with pipeline, run, step, error, duration and link', async () => {
    const from = hooks.posts.length;
    const results = await notifier().notify(failed, alerts);
    assert.deepEqual(results.map((r) => [r.channel, r.ok, r.status]), [['slack', true, 200], ['teams', true, 202]]);
    const [slack, teams] = hooks.posts.slice(from);
    const link = 'https://pipelines.example.net/api/runs/data-pipeline-20261126T0100Z';

    assert.equal(slack!.contentType, 'application/json');
    const s = slack!.payload as { text: string; blocks: { type: string; fields?: { text: string }[]; text?: { text: string }; elements?: { url: string }[] }[] };
    assert.match(s.text, /Pipeline Data Complet failed/);
    const slackText = JSON.stringify(s.blocks);
    for (const expected of ['data-pipeline', 'data-pipeline-20261126T0100Z', 'load', '5m 12s', 'Table MA_TABLE_DESTINATION does not exist']) {
      assert.ok(slackText.includes(expected), `Slack blocks lack ${expected}`);
    }
    assert.ok(!slackText.includes('dp-failure'), 'the classification marker is not for humans');
    assert.equal(s.blocks.find((b) => b.type === 'actions')?.elements?.[0]?.url, link);

    const t = teams!.payload as { type: string; attachments: { contentType: string; content: { type: string; body: { type: string; text?: string; facts?: { title: string; value: string }[] }[]; actions: { url: string }[] } }[] };
    assert.equal(t.type, 'message');
    assert.equal(t.attachments[0]!.contentType, 'application/vnd.microsoft.card.adaptive');
    const card = t.attachments[0]!.content;
    assert.equal(card.type, 'AdaptiveCard');
    const facts = Object.fromEntries(card.body.find((b) => b.type === 'FactSet')!.facts!.map((f) => [f.title, f.value]));
    assert.deepEqual(facts, { Pipeline: 'data-pipeline', Run: 'data-pipeline-20261126T0100Z', 'Failed step': 'load', Duration: '5m 12s' });
    assert.ok(card.body.some((b) => b.text?.startsWith('COPY INTO failed')));
    assert.equal(card.actions[0]!.url, link);
  });

  void test('only the alerts subscribed to the event kind are sent', async () => {
    const from = hooks.posts.length;
    const results = await notifier().notify({ kind: 'succeeded', pipeline: 'data-pipeline', runId: 'r1', durationSeconds: 4000 }, alerts);
    assert.deepEqual(results.map((r) => r.channel), ['teams']);
    assert.equal(hooks.posts.length - from, 1);
    assert.match(JSON.stringify(hooks.posts.at(-1)!.payload), /1h 06m/);
  });

  void test('a late slot is announced with its schedule and lateness', async () => {
    const from = hooks.posts.length;
    await notifier().notify({ kind: 'late', pipeline: 'data-pipeline', schedule: 'production-daily', scheduledFor: '2026-11-26T01:00:00Z', lateBySeconds: 900 }, alerts);
    const slack = JSON.stringify(hooks.posts.slice(from)[0]!.payload);
    assert.match(slack, /is late/);
    assert.match(slack, /production-daily/);
    assert.match(slack, /15m 00s/);
  });

  void test('a webhook answering 500 does not throw: the result says so and a warning is logged without the URL', async () => {
    const { logger, lines } = memoryLogger();
    hooks.failWith = 500;
    try {
      const results = await notifier(logger).notify(failed, alerts);
      assert.deepEqual(results.map((r) => [r.ok, r.status]), [[false, 500], [false, 500]]);
      assert.match(results[0]!.error ?? '', /HTTP 500/);
    } finally {
      hooks.failWith = undefined;
    }
    const warnings = lines().filter((l) => l.includes('"level":"warn"'));
    assert.equal(warnings.length, 2);
    assert.ok(warnings.every((w) => !w.includes('slackwebhooktoken0001') && !w.includes('teamssig0001')));
  });

  void test('an unreachable webhook or a missing webhook secret does not throw either', async () => {
    const saved = { ...settings };
    settings = { SECRET_SLACK_WEBHOOK: 'http://127.0.0.1:1/services/x' };
    try {
      const results = await notifier().notify(failed, alerts);
      assert.equal(results.length, 2);
      assert.ok(results.every((r) => !r.ok));
      assert.match(results[1]!.error ?? '', /SECRET_TEAMS_WEBHOOK/);
    } finally {
      settings = saved;
    }
  });
});
