/**
 * Who may do what through the API's two doors (src/api/access.ts): the principal header is
 * believed only when the platform says App Service Authentication is on; roles decide reads and
 * changes; read-only mode stops every change; the console door refuses changes a cross-site page
 * could send.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { admit } from '../../src/api/access';
import { ApiProblem } from '../../src/api/problem';
import { decodePrincipal, encodePrincipal } from '../../src/auth/principal';
import { LOCAL_USERS } from '../../src/auth/roles';
import { loadAuthSettings } from '../../src/auth/settings';

const request = (method: string, headers: Record<string, string> = {}) => ({ method, url: 'https://pipelines.example.net/api/console/runs', headers: new Headers(headers) });
const signedIn = (user: { name: string; roles: readonly string[] }, extra: Record<string, string> = {}) => ({ 'x-ms-client-principal': encodePrincipal(user), ...extra });
const consoleChange = { 'content-type': 'application/json', 'x-requested-with': 'durable-pipelines-console' };
const on = { platformAuth: true, readOnly: false };
const off = { platformAuth: false, readOnly: false };

function statusOf(run: () => unknown): number | 'admitted' {
  try {
    run();
    return 'admitted';
  } catch (error) {
    if (error instanceof ApiProblem) return error.status;
    throw error;
  }
}

describe('console access', () => {
  test('a principal header sent to an app with App Service Authentication off is ignored (401), even claiming Operate', () => {
    const forged = signedIn({ name: 'mallory', roles: ['Pipelines.Operate'] }, consoleChange);
    assert.equal(statusOf(() => admit('console', 'read', request('GET', forged), off)), 401);
    assert.equal(statusOf(() => admit('console', 'operate', request('POST', forged), off)), 401);
  });

  test('WEBSITE_AUTH_ENABLED is read as App Service sets it ("True"); anything but true/false is a configuration error', () => {
    assert.equal(loadAuthSettings({ WEBSITE_AUTH_ENABLED: 'True' }).platformAuth, true);
    assert.equal(loadAuthSettings({ WEBSITE_AUTH_ENABLED: 'False' }).platformAuth, false);
    assert.equal(loadAuthSettings({}).platformAuth, false);
    assert.throws(() => loadAuthSettings({ WEBSITE_AUTH_ENABLED: 'yes' }), /WEBSITE_AUTH_ENABLED: must be true or false/);
  });

  test('with sign-in on: a reader reads but may not change (403 naming the role); an operator changes', () => {
    const reader = admit('console', 'read', request('GET', signedIn(LOCAL_USERS.reader)), on);
    assert.deepEqual(reader, { kind: 'user', name: 'reader@localhost', canRead: true, canOperate: false });
    assert.throws(() => admit('console', 'operate', request('POST', signedIn(LOCAL_USERS.reader, consoleChange)), on), /does not have the app role Pipelines\.Operate/);
    assert.equal(admit('console', 'operate', request('POST', signedIn(LOCAL_USERS.operator, consoleChange)), on)?.name, 'operator@localhost');
  });

  test('a signed-in user with neither role may not read', () => {
    assert.throws(() => admit('console', 'read', request('GET', signedIn({ name: 'guest@contoso.com', roles: [] })), on), /does not have the app role Pipelines\.Read/);
  });

  test('a change through the console door without JSON and the console header is refused as cross-site', () => {
    const operator = LOCAL_USERS.operator;
    assert.equal(statusOf(() => admit('console', 'operate', request('POST', signedIn(operator)), on)), 403);
    assert.equal(statusOf(() => admit('console', 'operate', request('POST', signedIn(operator, { 'content-type': 'text/plain', 'x-requested-with': 'durable-pipelines-console' })), on)), 403);
    assert.equal(statusOf(() => admit('console', 'operate', request('POST', signedIn(operator, { 'content-type': 'application/json' })), on)), 403);
  });

  test('a function key acts as Operate; read-only mode refuses every change, keys included', () => {
    assert.deepEqual(admit('key', 'operate', request('POST'), on), { kind: 'key', name: 'function key', canRead: true, canOperate: true });
    const readOnly = { platformAuth: true, readOnly: true };
    assert.throws(() => admit('key', 'operate', request('POST'), readOnly), /read-only mode/);
    assert.throws(() => admit('console', 'operate', request('POST', signedIn(LOCAL_USERS.operator, consoleChange)), readOnly), /read-only mode/);
    assert.equal(admit('key', 'read', request('GET'), readOnly)?.kind, 'key');
  });

  test('the App Service principal format decodes: name from name_typ, roles from role_typ claims', () => {
    const header = Buffer.from(JSON.stringify({
      auth_typ: 'aad',
      name_typ: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress',
      role_typ: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role',
      claims: [
        { typ: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress', val: 'ada@contoso.com' },
        { typ: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role', val: 'Pipelines.Read' },
      ],
    })).toString('base64');
    assert.deepEqual(decodePrincipal(header), { name: 'ada@contoso.com', roles: ['Pipelines.Read'], identityProvider: 'aad' });
    assert.equal(decodePrincipal('not base64 json'), undefined);
  });
});

describe('console door: what a client writes cannot vouch for its origin (red-team pass 2, F14, F4)', () => {
  const operator = signedIn(LOCAL_USERS.operator, consoleChange);
  test('Origin of another site is refused, with or without an X-Forwarded-Host naming that site', () => {
    assert.equal(statusOf(() => admit('console', 'operate', request('POST', { ...operator, origin: 'https://evil.example' }), on)), 403);
    assert.equal(statusOf(() => admit('console', 'operate', request('POST', { ...operator, origin: 'https://evil.example', 'x-forwarded-host': 'evil.example' }), on)), 403);
    // The host the request was sent to (App Service copies DISGUISED-HOST into Host) is the one that counts.
    assert.equal(admit('console', 'operate', request('POST', { ...operator, origin: 'https://pipelines.example.net' }), on)?.name, 'operator@localhost');
  });
  test('a cross-site read (another site\'s <img> riding on the sign-in) is refused before any work; the console\'s own and a typed URL are served', () => {
    const reader = signedIn(LOCAL_USERS.reader);
    for (const site of ['cross-site', 'same-site']) assert.equal(statusOf(() => admit('console', 'read', request('GET', { ...reader, 'sec-fetch-site': site }), on)), 403, site);
    for (const site of ['same-origin', 'none']) assert.equal(admit('console', 'read', request('GET', { ...reader, 'sec-fetch-site': site }), on)?.name, 'reader@localhost', site);
    assert.equal(admit('console', 'read', request('GET', reader), on)?.name, 'reader@localhost');
  });
});
