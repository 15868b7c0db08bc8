/**
 * What a webhook's answer means for an alert. Slack checks Block Kit and refuses a message whose
 * blocks break its limits (400 invalid_blocks): the alert then goes as plain text rather than not
 * at all. A Teams workflow answers 202 before its flow posts anything: the notifier reports such
 * an alert as accepted, not as posted.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createNotifier, type RunEvent } from '../../src/notify';
import { slackPayload, factsOf } from '../../src/notify/format';
import { alertSchema } from '../../src/pipelines/schema';
import { createSecretResolver } from '../../src/secrets/resolver';
import { memoryLogger } from '../support/canary';
import { startWebhookStandIn, type WebhookStandIn } from '../../src/standins/webhooks/server';

const failed: RunEvent = {
  kind: 'failed',
  pipeline: 'data-pipeline',
  title: 'Pipeline Data Complet',
  runId: 'data-pipeline-20261126T0100Z',
  durationSeconds: 312,
  failedStep: 'load',
  error: 'COPY INTO failed: Table MA_TABLE_DESTINATION does not exist',
};

const slackAlert = alertSchema.parse({ on: ['failed'], channel: 'slack', webhook: { secret: 'slack-webhook' } });
const teamsAlert = alertSchema.parse({ on: ['failed'], channel: 'teams', webhook: { secret: 'teams-webhook' } });

void describe('webhook answers and what the notifier makes of them', () => {
  let hooks: WebhookStandIn;
  let settings: Record<string, string>;
  const notifier = (log = memoryLogger().logger) =>
    createNotifier({ secrets: createSecretResolver({ settings: (n) => settings[n] }), publicBaseUrl: 'https://pipelines.example.net/', log, sleep: () => Promise.resolve() });
  const post = (payload: unknown) => fetch(hooks.slackUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) }).then(async (r) => [r.status, await r.text()]);

  before(async () => {
    hooks = await startWebhookStandIn();
    settings = { SECRET_SLACK_WEBHOOK: hooks.slackUrl, SECRET_TEAMS_WEBHOOK: hooks.teamsUrl };
  });
  after(async () => {
    await hooks.close();
  });

  void test('the Slack stand-in refuses blocks past Block Kit’s limits, as Slack does', async () => {
    assert.deepEqual(await post({ text: 'x', blocks: [{ type: 'header', text: { type: 'plain_text', text: 'h'.repeat(151) } }] }), [400, 'invalid_blocks']);
    assert.deepEqual(await post({ text: 'x', blocks: [{ type: 'section', fields: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'f' })) }] }), [400, 'invalid_blocks']);
    assert.deepEqual(await post({ text: 'x', blocks: [{ type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open run' }, url: 'pipelines.example.net/api/runs/1' }] }] }), [400, 'invalid_blocks']);
    assert.deepEqual(await post({ text: 'x', blocks: { type: 'divider' } }), [400, 'invalid_blocks_format']);
    assert.deepEqual(await post({ blocks: [] }), [200, 'ok']);
    assert.deepEqual(await post({}), [400, 'no_text']);
  });

  void test('what the formatter sends stays within Block Kit’s limits, however long the run’s texts', async () => {
    const long: RunEvent = { ...failed, title: 'T'.repeat(500), pipeline: 'p'.repeat(200), failedStep: 's'.repeat(3000), error: '<&>'.repeat(5000), schedule: 'x'.repeat(2500) };
    assert.deepEqual(await post(slackPayload(factsOf(long, `https://pipelines.example.net/api/runs/${'r'.repeat(200)}`, long.error))), [200, 'ok']);
  });

  void test('a Slack message refused for its blocks (invalid_blocks) is sent again as plain text, and arrives', async () => {
    const from = hooks.posts.length;
    hooks.script([{ status: 400, body: 'invalid_blocks' }]);
    const [result] = await notifier().notify(failed, [slackAlert]);
    assert.equal(result?.ok, true, JSON.stringify(result));
    assert.equal(result?.format, 'text');
    const [refused, resent] = hooks.posts.slice(from);
    assert.equal(refused?.status, 400);
    assert.equal(resent?.status, 200);
    assert.equal((resent?.payload as { blocks?: unknown }).blocks, undefined);
    assert.match((resent?.payload as { text: string }).text, /Pipeline Data Complet failed.*does not exist/);
  });

  void test('a Teams 202 is reported as accepted, not posted: the flow posts later, or fails where only its run history shows it', async () => {
    hooks.teamsFlowFails = true;
    try {
      const memory = memoryLogger();
      const results = await notifier(memory.logger).notify(failed, [slackAlert, teamsAlert]);
      assert.deepEqual(results.map((r) => [r.channel, r.ok, r.status, r.delivery]), [['slack', true, 200, 'posted'], ['teams', true, 202, 'accepted']]);
      assert.equal(hooks.teamsCards.at(-1)?.posted, false, 'the flow did not post the card');
      assert.match(memory.lines().join('\n'), /Teams accepted the alert \(202\).*run history/);
    } finally {
      hooks.teamsFlowFails = false;
    }
  });
});
