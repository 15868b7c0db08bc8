/**
 * Shared pools' activities answer only a run's own instances (as the step activities do:
 * src/activities/runGate.ts). Without it, whoever starts an orchestration through the Durable
 * webhook could queue a claim in another run's name, have a waiter's wake-up raised into any
 * instance, or release another run's slots. Refused before the ledger is touched.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DurableClient } from 'durable-functions';
import { acquirePoolSlot, releasePoolSlots, type PoolActivityDeps } from '../../src/pools/activities';

const untouched = new Proxy({}, { get: () => { throw new Error('the ledger was touched'); } });
const deps: PoolActivityDeps = {
  store: untouched as PoolActivityDeps['store'],
  pool: () => { throw new Error('the pool was looked up'); },
  now: () => new Date('2026-12-05T00:00:00Z'),
};
const client = untouched as Pick<DurableClient, 'getStatus' | 'raiseEvent'>;
const claim = { id: 'victim|load#1', runId: 'victim', instanceId: 'victim:load:from1' };

describe('pool activities answer only the run that calls', () => {
  test('another instance cannot queue a claim in a run\'s name, nor have another instance woken', async () => {
    await assert.rejects(acquirePoolSlot({ pool: 'load-wh', claim }, client, deps, 'mallory'), /run refused: instance "mallory" is not run "victim"/);
    await assert.rejects(acquirePoolSlot({ pool: 'load-wh', claim: { ...claim, instanceId: 'elsewhere' } }, client, deps, 'victim:load:from1'), /run refused: instance "victim:load:from1" cannot queue "elsewhere"/);
    await assert.rejects(acquirePoolSlot({ pool: 'load-wh', claim: { ...claim, id: 'other|run' } }, client, deps, 'victim:load:from1'), /run refused: claim "other\|run" is not one of run "victim"/);
  });

  test('another instance cannot release a run\'s slots, nor a run release another run\'s claim', async () => {
    await assert.rejects(releasePoolSlots({ pools: ['load-wh'], runId: 'victim' }, client, deps, 'mallory'), /run refused: instance "mallory" is not run "victim"/);
    await assert.rejects(releasePoolSlots({ pools: ['load-wh'], runId: 'victim', claimId: 'other|run' }, client, deps, 'victim'), /run refused: claim "other\|run" is not one of run "victim"/);
  });
});
