/**
 * Red-team pass 2, F2: an export function that answers with credentials of its own (a SAS token, a
 * `sig=` download URL, a connection string, a nested password) — values the app never read from
 * Key Vault — must not reach the run record, the run log or Durable's output, where Pipelines.Read
 * users read them. Real azureFunction adapter against a local HTTP server, through the step activity.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { isCredentialName, maskCredentialText } from '../../src/logging/serviceCredentials';
import { exportStep } from '../support/exportStep';

const LEAKS = ['LEAKED-SAS-SIGNATURE', 'LEAKED-ACCOUNT-KEY', 'LEAKED-URL-SIG', 'LEAKED-NESTED-PW', 'LEAKED-JWT-PAYLOAD'];
const ANSWER = {
  status: 'ok',
  files_exported: 3,
  row_count: 1200,
  tokens_used: 7,
  sas_token: 'sv=2024&sig=LEAKED-SAS-SIGNATURE',
  connectionString: 'DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=LEAKED-ACCOUNT-KEY;EndpointSuffix=core.windows.net',
  downloadUrl: 'https://acct.blob.core.windows.net/c/f.json?sv=2024&sig=LEAKED-URL-SIG',
  nested: { password: 'LEAKED-NESTED-PW', user: 'loader' },
  note: 'retry with Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJMRUFLRUQtSldULVBBWUxPQUQiOjF9.c2lnbmF0dXJlLXZhbHVl',
};

let server: http.Server;
let url = '';

before(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url?.startsWith('/fail')) {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'bad request', retryWith: 'https://acct.blob.core.windows.net/c?sig=LEAKED-URL-SIG', password: 'LEAKED-NESTED-PW' }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(ANSWER));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('credentials a service answers reach no reader', () => {
  test('the step output (Durable, run record) and the run log keep the answer without its credentials', async () => {
    const { start, lines, attempts } = exportStep(`${url}/export`);
    const outcome = await start('svc-cred-1');
    assert.equal(outcome.status, 'succeeded');
    const everything = JSON.stringify({ outcome, lines, attempts });
    for (const leak of LEAKS) assert.ok(!everything.includes(leak), `${leak} reached the record: ${everything}`);
    // What is not a credential is kept: the answer stays useful.
    const output = outcome.status === 'succeeded' ? (outcome.output as Record<string, unknown>) : {};
    assert.equal(output['status'], 'ok');
    assert.equal(output['tokens_used'], 7, 'a count under a credential-like name stays a number');
    assert.deepEqual(output['nested'], { password: '***', user: 'loader' });
    assert.equal(output['downloadUrl'], 'https://acct.blob.core.windows.net/c/f.json?sv=2024&sig=***');
    assert.deepEqual(outcome.metrics, { files_exported: 3, row_count: 1200 });
    assert.ok(lines.some((l) => l.msg.includes('"sas_token":"***"')), lines.map((l) => l.msg).join('\n'));
  });

  test('a failure answer carrying credentials is recorded without them', async () => {
    const { start, lines, attempts } = exportStep(`${url}/fail`);
    await assert.rejects(start('svc-cred-2'), (error: Error) => !LEAKS.some((l) => error.message.includes(l)));
    const everything = JSON.stringify({ lines, attempts });
    assert.match(everything, /answered HTTP 400/);
    for (const leak of LEAKS) assert.ok(!everything.includes(leak), `${leak} reached the record: ${everything}`);
  });

  test('the rule: names and text forms', () => {
    for (const name of ['password', 'sas_token', 'SasToken', 'connectionString', 'AccountKey', 'api-key', 'client_secret', 'sig', 'Authorization'])
      assert.ok(isCredentialName(name), name);
    for (const name of ['status', 'files_exported', 'row_count', 'message', 'container', 'signal']) assert.ok(!isCredentialName(name), name);
    assert.equal(maskCredentialText('Password=hunter22;Server=x'), 'Password=***;Server=x');
    assert.equal(maskCredentialText('sig=abcdef&se=2026'), 'sig=***&se=2026');
    assert.equal(maskCredentialText('{"secret": "s3cr3t", "ok": "yes"}'), '{"secret": "***", "ok": "yes"}');
    assert.equal(maskCredentialText('rows 12, day 2026-11-27'), 'rows 12, day 2026-11-27');
  });
});
