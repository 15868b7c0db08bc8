/**
 * Parameters named after Object.prototype members in a start body are answered 400 naming the
 * parameter, never 202 with the name silently dropped (issue 11, item 4). zod's record parser drops
 * an own `__proto__` key, so this goes through the served app with the raw JSON a client sends.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCatalog } from '../../src/pipelines/catalog';
import seed from '../../src/pipelines/definitions/data-pipeline';
import { startApp, type AppHarness } from '../support/appHarness';

interface Problem {
  readonly status: number;
  readonly invalidFields?: { field: string; message: string }[];
}

let app: AppHarness;

before(async () => {
  app = await startApp();
  app.useCatalog(loadCatalog([seed, { ...seed, name: 'backfill', schedules: [], parameters: { day: { type: 'date', default: '2026-03-01' } } }]));
});
after(() => app.stop());

describe('a start body with a parameter named after a prototype member', () => {
  for (const name of ['__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty']) {
    test(`"${name}" is answered 400 naming it, and no run starts`, async () => {
      const before = app.runInstances().length;
      const response = await app.api<Problem>('POST', 'pipelines/backfill/runs', undefined, { rawBody: `{"parameters":{"${name}":"x","day":"2026-03-02"}}` });
      assert.equal(response.status, 400, response.text);
      assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
      const field = response.json.invalidFields?.find((f) => f.field === `body.parameters.${name}`);
      assert.ok(field, response.text);
      assert.match(field.message, new RegExp(`parameter "${name}" is reserved`));
      assert.equal(app.runInstances().length, before);
    });
  }

  test('the same body without it starts a run', async () => {
    const response = await app.api('POST', 'pipelines/backfill/runs', undefined, { rawBody: '{"parameters":{"day":"2026-03-02"}}' });
    assert.equal(response.status, 202, response.text);
  });
});
