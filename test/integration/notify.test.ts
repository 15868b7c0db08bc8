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
  /** Waits the notifier asked for, in ms: recorded, not slept, so retries cost no test time. */
  let waits: number[] = [];
  const notifier = (log = memoryLogger().logger) =>
    createNotifier({
      secrets: createSecretResolver({ settings: (n) => settings[n] }),
      publicBaseUrl: 'https://pipelines.example.net/',
      log,
      sleep: (ms) => {
        waits.push(ms);
        return Promise.resolve();
      },
    });

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
    // The console's run page: the key door's /api/runs/… would ask whoever clicks for a function key.
    const link = 'https://pipelines.example.net/#/runs/data-pipeline-20261126T0100Z';

    assert.equal(slack!.contentType, 'application/json');
    const s = slack!.payload as { text: string; blocks: { type: string; fields?: { text: string }[]; text?: { text: string }; elements?: { url: string }[] }[] };
    assert.match(s.text, /Pipeline Data Complet failed/);
    const slackText = JSON.stringify(s.blocks);
    for (const expected of ['data-pipeline', 'data-pipeline-20261126T0100Z', 'load', '5m 12s', 'Table MA_TABLE_DESTINATION does not exist']) {
      assert.ok(slackText.includes(expected), `Slack blocks lack ${expected}`);
    }
    assert.ok(!slackText.includes('dp-failure'), 'the classification marker is not for humans');
    assert.equal(s.blocks.find((b) => b.type === 'actions')?.elements?.[0]?.url, link);

    const t = teams!.payload as { type: string; attachments: { contentType: string; content: { type: string; body: { type: string; inlines?: { text: string }[] }[]; actions: { url: string }[] } }[] };
    assert.equal(t.type, 'message');
    assert.equal(t.attachments[0]!.contentType, 'application/vnd.microsoft.card.adaptive');
    const card = t.attachments[0]!.content;
    assert.equal(card.type, 'AdaptiveCard');
    // Plain-text runs (no Markdown): the facts as "Title: value", the error after them.
    const lines = card.body.map((b) => (b.inlines ?? []).map((i) => i.text).join(''));
    for (const fact of ['Pipeline: data-pipeline', 'Run: data-pipeline-20261126T0100Z', 'Failed step: load', 'Duration: 5m 12s']) assert.ok(lines.includes(fact), `the card lacks ${fact}: ${lines.join(' | ')}`);
    assert.ok(lines.some((l) => l.startsWith('COPY INTO failed')));
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

  void test('a burst: Slack answers 429 with Retry-After, then 503; the alert is retried after the wait Slack asked for and delivered', async () => {
    waits = [];
    hooks.script([{ status: 429, retryAfter: 3 }, { status: 503, body: 'service_unavailable' }]);
    const from = hooks.posts.length;
    const slackOnly = alerts.filter((a) => a.channel === 'slack');
    const results = await notifier().notify(failed, slackOnly);
    assert.deepEqual(results.map((r) => [r.ok, r.status, r.attempts]), [[true, 200, 3]]);
    assert.deepEqual(hooks.posts.slice(from).map((p) => p.status), [429, 503, 200]);
    assert.equal(waits[0], 3000, 'waited what Retry-After said');
    assert.equal(waits.length, 2);
  });

  void test('Slack\'s documented 4xx answers are not retried; the result carries Slack\'s error code', async () => {
    waits = [];
    for (const [status, code] of [[400, 'invalid_payload'], [404, 'channel_not_found'], [410, 'channel_is_archived']] as const) {
      hooks.script([{ status }]);
      const from = hooks.posts.length;
      const [result] = await notifier().notify(failed, alerts.filter((a) => a.channel === 'slack'));
      assert.equal(result?.ok, false);
      assert.equal(result?.attempts, 1);
      assert.match(result?.error ?? '', new RegExp(`HTTP ${status}: ${code}`));
      assert.equal(hooks.posts.length - from, 1);
    }
    assert.deepEqual(waits, []);
  });

  void test('a Retry-After longer than the notifier waits is reported undelivered, not slept through', async () => {
    waits = [];
    hooks.script([{ status: 429, retryAfter: 3600 }]);
    const [result] = await notifier().notify(failed, alerts.filter((a) => a.channel === 'slack'));
    assert.equal(result?.ok, false);
    assert.match(result?.error ?? '', /HTTP 429: rate_limited.*retry after 3600 s/);
    assert.deepEqual(waits, []);
  });

  void test('a webhook that keeps answering 500 does not throw: retried, then the result says so and a warning is logged without the URL', async () => {
    const { logger, lines } = memoryLogger();
    hooks.failWith = 500;
    waits = [];
    try {
      const results = await notifier(logger).notify(failed, alerts);
      assert.deepEqual(results.map((r) => [r.ok, r.status, r.attempts]), [[false, 500, 4], [false, 500, 4]]);
      assert.match(results[0]!.error ?? '', /HTTP 500: rollup_error/);
      assert.deepEqual([...waits].sort((a, b) => a - b), [1000, 1000, 2000, 2000, 4000, 4000], 'three retries each, backing off');
    } finally {
      hooks.failWith = undefined;
    }
    const warnings = lines().filter((l) => l.includes('"level":"warn"'));
    assert.equal(warnings.length, 2);
    assert.ok(warnings.every((w) => !w.includes('slackwebhooktoken0001') && !w.includes('teamssig0001')));
  });

  void test('a revoked Slack webhook URL answers 404 no_service and is not retried', async () => {
    const saved = { ...settings };
    settings = { ...settings, SECRET_SLACK_WEBHOOK: `${hooks.baseUrl}/services/T0001/revoked` };
    try {
      const [result] = await notifier().notify(failed, alerts.filter((a) => a.channel === 'slack'));
      assert.deepEqual([result?.ok, result?.status, result?.attempts], [false, 404, 1]);
      assert.match(result?.error ?? '', /no_service/);
    } finally {
      settings = saved;
    }
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
