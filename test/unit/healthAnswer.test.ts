/**
 * Red-team pass 2, F5: GET /api/health (a reader through the console door too) runs the checks at
 * most once per HEALTH_TTL_MS for readers, whatever their number, and tells a reader which check
 * fails but not where the vault or the storage lives; a key or an operator gets fresh, detailed checks.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiDeps, HealthCheck } from '../../src/api/ports';
import type { ApiRequest } from '../../src/api/request';
import { createRoutes } from '../../src/api/routes';
import { KEY_CALLER, LOCAL_USERS, userCaller } from '../../src/auth/roles';

const VAULT = 'https://kv-pipelines-prod.vault.azure.net/';

function healthRoute(checks: HealthCheck[]) {
  // Only `health` is read by the health handler; the other ports are never reached here.
  const request: ApiRequest = { method: 'GET', url: 'https://app.example.net/api/console/health', headers: new Headers(), query: new URLSearchParams(), params: {}, text: () => Promise.resolve('') };
  // As src/functions/api.ts does: the routes are built for every request, over the app's one set of checks.
  return (caller = userCaller(LOCAL_USERS.reader.name, LOCAL_USERS.reader.roles)) => {
    const deps = { health: checks, now: () => new Date('2026-12-01T00:00:00Z') } as Partial<ApiDeps> as ApiDeps;
    const route = createRoutes(deps).find((r) => r.name === 'health');
    assert.ok(route);
    return route.handle(request, caller);
  };
}

const bodyOf = (answer: { body?: unknown }): string => (typeof answer.body === 'string' ? answer.body : '');

describe('health', () => {
  test('ten reader calls read the secrets once; the reader sees no vault URL, an operator does', async () => {
    let reads = 0;
    const ask = healthRoute([{ name: 'secrets', check: () => ((reads += 1), Promise.resolve({ ok: false, detail: `1 of 1 secrets unreadable in Key Vault ${VAULT}: azure-function-key (403)`, missing: ['azure-function-key'] })) }]);
    const answers = await Promise.all(Array.from({ length: 10 }, () => ask()));
    assert.equal(reads, 1, 'each reader call re-ran the checks');
    for (const answer of answers) {
      assert.equal(answer.status, 503);
      assert.ok(!bodyOf(answer).includes('vault.azure.net'), bodyOf(answer));
      assert.match(bodyOf(answer), /"name":"secrets","ok":false/);
    }
    const operator = await ask(KEY_CALLER);
    assert.equal(reads, 2, 'an operator gets a fresh run');
    assert.match(bodyOf(operator), /vault\.azure\.net.*azure-function-key/);
    const operatorUser = await ask(userCaller(LOCAL_USERS.operator.name, LOCAL_USERS.operator.roles));
    assert.equal(reads, 3);
    assert.match(bodyOf(operatorUser), /vault\.azure\.net/);
  });
});
