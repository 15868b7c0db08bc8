/**
 * One record, one line, everywhere (issue 20, finding 4): a run whose error, log lines, COPY INTO
 * file name, parameters and attribution carry line breaks, bidi overrides and terminal controls is
 * shown one record per line with those characters visible — in the console (run page and log view,
 * in Chromium, still accessible), in the CLI (every field), and in Slack and Teams alerts (plain
 * text, no mrkdwn or Markdown) — while the run store and the API keep the original text. Also here,
 * because it needs a real run store: a list cursor is refused under other filters (finding 5).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { encodePrincipal } from '../../src/auth/principal';
import { LOCAL_USERS } from '../../src/auth/roles';
import { factsOf, slackPayload, teamsPayload } from '../../src/notify';
import { buildConsole } from '../../scripts/buildConsole.mjs';
import { FUNCTION_KEY, startApp, type ApiResponse, type AppHarness } from '../support/appHarness';
import { launchBrowser, seriousViolations, type Browser } from '../support/browser';
import { runCli } from '../support/demoProcess';

// eslint-disable-next-line no-control-regex -- looking for the raw characters is the point
const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]/;

const FORGED_LOG = '2026-01-01 00:00:00Z INFO  [load#1] COPY INTO loaded 1000000 rows, all good';
const EVIL = {
  by: `user:alice@contoso.com\nerror: forged: the run was cancelled by the admin`,
  error: `COPY INTO failed: file 'in/part-1.json\n${FORGED_LOG}' was rejected \u202eevil.exe\u202c by ${'\u001b'}[31mthe service`,
  file: `in/part-0002.json\r\n${FORGED_LOG}\u2028\u202egnp.exe`,
  parameter: `2026-01-01\n${FORGED_LOG}\u202e`,
};

let app: AppHarness;
let consoleDir: string;
let runId: string;
const logMessages = [`COPY INTO ${EVIL.file}: LOADED, 10 of 10 rows`, `service said: ${EVIL.error}`, 'step load attempt 1 failed'];

before(async () => {
  consoleDir = mkdtempSync(join(tmpdir(), 'dp-security-console-'));
  await buildConsole(consoleDir);
  app = await startApp({
    settings: { CONSOLE_DIR: consoleDir, WEBSITE_AUTH_ENABLED: 'True' },
    platformPrincipal: () => encodePrincipal(LOCAL_USERS.reader),
  });
  runId = `data-pipeline-20260101T000000Z-${randomUUID().slice(0, 6)}`;
  const now = new Date().toISOString();
  await app.store.upsertRun({
    runId, pipeline: 'data-pipeline', status: 'failed', trigger: { kind: 'manual', origin: 'api', by: EVIL.by }, parameters: { day: EVIL.parameter },
    createdAt: now, startedAt: now, endedAt: now, durationSeconds: 3,
    error: { message: EVIL.error, class: 'permanent', stepId: 'load' },
    metrics: { load: { [`rows\n${FORGED_LOG}`]: 5, lastFile: EVIL.file } },
  });
  await app.store.recordAttempt({ runId, pipeline: 'data-pipeline', stepId: 'export', attempt: 1, status: 'succeeded', startedAt: now, endedAt: now });
  await app.store.recordAttempt({ runId, pipeline: 'data-pipeline', stepId: 'load', attempt: 1, status: 'failed', startedAt: now, endedAt: now, error: { message: EVIL.error, class: 'permanent' } });
  await app.store.appendLogs(runId, logMessages.map((msg) => ({ time: now, level: 'error', msg, stepId: 'load', attempt: 1 })));
});
after(async () => {
  await app?.stop();
  rmSync(consoleDir, { recursive: true, force: true });
});

describe('the run store and the API keep the original text', () => {
  test('trigger.by, the error, the parameter and the file name come back byte for byte', async () => {
    const run = await app.api<{ trigger: { by: string }; error: { message: string }; parameters: { day: string } }>('GET', `runs/${runId}`);
    assert.equal(run.json.trigger.by, EVIL.by);
    assert.equal(run.json.error.message, EVIL.error);
    assert.equal(run.json.parameters.day, EVIL.parameter);
    const logs = await app.api<{ lines: { msg: string }[] }>('GET', `runs/${runId}/logs`);
    assert.deepEqual(logs.json.lines.map((l) => l.msg), logMessages);
  });
});

describe('the console shows one record per line', () => {
  let browser: Browser;
  let page: Page;
  before(async () => {
    browser = await launchBrowser();
    page = await browser.newPage();
  });
  after(async () => {
    await browser?.close();
  });

  test('run page and log view: no forged line, no raw control or bidi character, the escapes visible; axe finds nothing serious', async () => {
    await page.goto(`${app.baseUrl}/#/runs/${encodeURIComponent(runId)}`);
    const log = page.locator('pre.log');
    await log.filter({ hasText: 'step load attempt 1 failed' }).waitFor();
    const logLines = (await log.innerText()).split('\n').filter((l) => l.trim() !== '');
    assert.equal(logLines.length, logMessages.length, `the log view shows ${logLines.length} lines for ${logMessages.length} records:\n${logLines.join('\n')}`);
    assert.ok(!logLines.some((l) => l.startsWith('2026-01-01 00:00:00Z INFO')), 'a forged line stands on its own');
    const facts = page.locator('dl.facts').first();
    for (const fact of ['Started by', 'Error', 'Parameters']) {
      const text = await facts.locator('dt', { hasText: fact }).locator('xpath=following-sibling::dd[1]').innerText();
      assert.ok(!text.includes('\n'), `${fact} spans lines: ${JSON.stringify(text)}`);
    }
    const body = await page.locator('body').innerText();
    assert.doesNotMatch(body, RAW, 'a raw control or bidi character reached the page');
    for (const escape of ['\\u202e', '\\n', '\\r', '\\u2028', '\\u001b']) assert.ok(body.includes(escape), `${escape} is shown`);
    assert.match(body, /alice@contoso\.com\\nerror: forged/);
    const violations = await seriousViolations(page);
    assert.deepEqual(violations.map((v) => `${v.id}: ${v.help}`), [], 'axe on the run page');
  });

  test('runs list: the attribution is one line', async () => {
    await page.goto(`${app.baseUrl}/#/runs`);
    const row = page.locator('table.runs tbody tr', { hasText: runId });
    await row.waitFor();
    // By its header: the list's columns change (projects and tags came in), the attribution's does not.
    const headers = await page.locator('table.runs thead th').allInnerTexts();
    const startedBy = await row.locator('th, td').nth(headers.indexOf('Started by')).innerText();
    assert.equal(startedBy, 'alice@contoso.com\\nerror: forged: the run was cancelled by the admin');
  });
});

describe('the CLI shows every field on one line', () => {
  const env = () => ({ DURABLE_PIPELINES_URL: app.baseUrl, DURABLE_PIPELINES_KEY: FUNCTION_KEY });

  test('runs show: a multi-line trigger.by is no forged error: line; logs: one line per record; runs ls: the table holds', async () => {
    const [show, logs, list] = await Promise.all([runCli(['runs', 'show', runId], env()), runCli(['logs', runId], env()), runCli(['runs', 'ls', '--limit', '100'], env())]);
    for (const [what, result] of [['runs show', show], ['logs', logs], ['runs ls', list]] as const) {
      assert.equal(result.code, 0, `${what}: ${result.stderr}`);
      assert.doesNotMatch(result.stdout, RAW, `${what} printed a raw control or bidi character`);
    }
    const showLines = show.stdout.split('\n');
    assert.equal(showLines.filter((l) => l.startsWith('error:')).length, 1, `runs show printed a forged error line:\n${show.stdout}`);
    assert.ok(showLines.some((l) => l === 'started by: alice@contoso.com\\nerror: forged: the run was cancelled by the admin'), show.stdout);
    assert.equal(logs.stdout.trim().split('\n').length, logMessages.length, `logs:\n${logs.stdout}`);
    const row = list.stdout.split('\n').filter((l) => l.startsWith(runId));
    assert.equal(row.length, 1);
    assert.match(row[0] ?? '', /alice@contoso\.com\\nerror: forged/);
    assert.ok(!list.stdout.split('\n').some((l) => l.startsWith('error: forged')), 'runs ls printed a forged line');
  });
});

describe('alerts are plain text', () => {
  const event = { kind: 'failed' as const, pipeline: 'data-pipeline', title: 'Nightly *load* <!channel>', runId: 'r-1', failedStep: 'load', error: `*URGENT* <!channel> _rotate_ the key at <https://attacker.example|the portal> or [here](https://attacker.example)\n${FORGED_LOG} \u202eevil` };
  const facts = factsOf(event, 'https://pipelines.example.net/api/runs/r-1', event.error);

  test('Slack: every text object plain_text, &<> escaped, mrkdwn off for the fallback, one line per value', () => {
    const payload = slackPayload(facts) as { text: string; mrkdwn?: boolean; blocks: unknown[] };
    assert.equal(payload.mrkdwn, false);
    const texts: { type: string; text: string }[] = [];
    const walk = (value: unknown): void => {
      if (Array.isArray(value)) value.forEach(walk);
      else if (value && typeof value === 'object') {
        const o = value as Record<string, unknown>;
        if (typeof o['type'] === 'string' && typeof o['text'] === 'string') texts.push({ type: o['type'], text: o['text'] });
        Object.values(o).forEach(walk);
      }
    };
    walk(payload.blocks);
    assert.ok(texts.length >= 3);
    for (const t of [...texts, { type: 'plain_text', text: payload.text }]) {
      assert.equal(t.type, 'plain_text', `a ${t.type} text object: ${t.text}`);
      assert.doesNotMatch(t.text, /[<>]/, `Slack would parse: ${t.text}`);
      assert.doesNotMatch(t.text, RAW, `a raw control or bidi character: ${JSON.stringify(t.text)}`);
    }
    const error = texts.find((t) => t.text.includes('URGENT'));
    assert.ok(error && !error.text.includes('\n'), 'the error is one line');
    assert.match(error.text, /&lt;!channel&gt;/);
    assert.match(error.text, /\\n2026-01-01/);
  });

  test('Teams: every text that is not ours is a TextRun (no Markdown), one line each', () => {
    const card = (teamsPayload(facts, 'failed') as { attachments: { content: { body: { type: string; inlines?: { type: string; text: string }[] }[] } }[] }).attachments[0]?.content;
    assert.ok(card);
    for (const block of card.body) {
      assert.equal(block.type, 'RichTextBlock', `a ${block.type} renders Markdown`);
      for (const run of block.inlines ?? []) {
        assert.equal(run.type, 'TextRun');
        assert.doesNotMatch(run.text, RAW, JSON.stringify(run.text));
        assert.ok(!run.text.includes('\n'));
      }
    }
    assert.ok(card.body.some((b) => b.inlines?.some((r) => r.text.includes('[here](https://attacker.example)'))), 'the text is kept, shown as written');
  });
});

describe('cursors belong to the query they came from', () => {
  test('a cursor issued for one filter is refused under another; under its own it pages on', async () => {
    const now = new Date().toISOString();
    for (let i = 0; i < 3; i++) {
      await app.store.upsertRun({ runId: `data-pipeline-20260101T00000${i}Z-cur${i}00`, pipeline: 'data-pipeline', status: 'succeeded', trigger: { kind: 'manual' }, parameters: {}, createdAt: now, startedAt: now, endedAt: now, durationSeconds: 1 });
    }
    const first = await app.api<{ nextCursor: string | null }>('GET', 'runs?status=succeeded&limit=1');
    assert.equal(first.status, 200, first.text);
    const cursor = first.json.nextCursor;
    assert.ok(cursor);
    const same = await app.api('GET', `runs?status=succeeded&limit=2&cursor=${encodeURIComponent(cursor)}`);
    assert.equal(same.status, 200, `the same filters, another page size: ${same.text}`);
    for (const other of ['status=failed', 'pipeline=data-pipeline&status=succeeded', '', `status=succeeded&since=${encodeURIComponent('2020-01-01T00:00:00Z')}`]) {
      const answer: ApiResponse<{ invalidFields?: { field: string }[] }> = await app.api('GET', `runs?${other}${other ? '&' : ''}limit=1&cursor=${encodeURIComponent(cursor)}`);
      assert.equal(answer.status, 400, `${other || 'no filter'}: ${answer.text}`);
      assert.deepEqual(answer.json.invalidFields?.map((f) => f.field), ['query.cursor']);
    }
  });
});
