/** A credential riding inside a URL secret is masked on its own, wherever a service echoes it. */
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { forgetSecretValues, maskSecrets, MASK, rememberSecretValue } from '../../src/logging/mask';

afterEach(() => forgetSecretValues());

test('each credential query value of a URL secret is masked alone, decoded and as written', () => {
  rememberSecretValue('https://fn.example.net/api/export?Code=fn%2Bkey%3D%3D&sig=sasSig123&Api_Key=k-4567&access_token=tok-8910&page=2');
  const echoed = 'rejected code fn+key== (sent as fn%2Bkey%3D%3D), sig=sasSig123, api key k-4567, token tok-8910, page 2';
  assert.equal(maskSecrets(echoed), `rejected code ${MASK} (sent as ${MASK}), sig=${MASK}, api key ${MASK}, token ${MASK}, page 2`);
});

test('the userinfo of a URL secret is masked: the password alone and user:password', () => {
  rememberSecretValue('postgres://loader:p%40ss-w0rd@db.example.net:5432/warehouse');
  assert.equal(maskSecrets('auth failed for loader:p%40ss-w0rd, password p@ss-w0rd'), `auth failed for ${MASK}, password ${MASK}`);
});

test('query values that are not credentials and non-URL secrets add nothing', () => {
  rememberSecretValue('https://fn.example.net/api/export?action=export_to_blob&container=exports');
  rememberSecretValue('plain-secret-value?code=notaurl');
  assert.equal(maskSecrets('action export_to_blob in container exports; code notaurl'), 'action export_to_blob in container exports; code notaurl');
});
