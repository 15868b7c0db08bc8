/**
 * The pool ledger's rules (src/pools/ledger.ts), on random sequences of arrivals, releases and
 * expiries: never more holders than slots, grants in arrival order, no claim both holding and
 * waiting, repeated calls answered the same, a crashed holder evicted only when its orchestration
 * is gone.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { acquire, EMPTY_LEDGER, release, settleExpired, type PoolLedger } from '../../src/pools/ledger';
import { random } from '../support/random';

const LEASE = 60_000;
const claim = (n: number) => ({ id: `r${n}|load#1`, runId: `r${n}`, instanceId: `r${n}` });


describe('pool ledger', () => {
  test('a newcomer queues behind waiters even when a slot is free (no barging); grants follow arrival', () => {
    let l: PoolLedger = EMPTY_LEDGER;
    l = acquire(l, 1, claim(1), 0, LEASE).ledger;
    const second = acquire(l, 1, claim(2), 1, LEASE);
    assert.deepEqual(second.answer, { granted: false, position: 1 });
    l = acquire(second.ledger, 1, claim(3), 2, LEASE).ledger;
    const freed = release(l, 1, (e) => e.id === claim(1).id, 3, LEASE);
    assert.deepEqual(freed.promoted.map((h) => h.id), [claim(2).id], 'the head of the queue, not the latest');
    assert.equal(freed.promoted[0]?.queuedAt, 1);
    assert.deepEqual(acquire(freed.ledger, 1, claim(3), 4, LEASE).answer, { granted: false, position: 1 });
  });

  test('asking again is answered from the ledger; releasing what is not there changes nothing', () => {
    const l = acquire(EMPTY_LEDGER, 1, claim(1), 0, LEASE).ledger;
    const again = acquire(l, 1, claim(1), 5, LEASE);
    assert.equal(again.ledger, l);
    assert.deepEqual(again.answer, { granted: true });
    assert.equal(l.holders[0]?.queuedAt, undefined, 'granted on arrival: it never queued');
    assert.deepEqual(release(l, 1, (e) => e.id === 'nobody', 6, LEASE).answer, { released: 0 });
  });

  test('an expired holder is kept (lease renewed) while its orchestration runs, evicted when it is gone', () => {
    let l = acquire(EMPTY_LEDGER, 1, claim(1), 0, LEASE).ledger;
    l = acquire(l, 1, claim(2), 1, LEASE).ledger;
    const kept = settleExpired(l, 1, new Set([claim(1).id]), new Set(), LEASE + 1, LEASE);
    assert.equal(kept.answer.evicted, 0);
    assert.equal(kept.ledger.holders[0]?.leaseUntil, 2 * LEASE + 1);
    const evicted = settleExpired(l, 1, new Set(), new Set([claim(1).id]), LEASE + 1, LEASE);
    assert.equal(evicted.answer.evicted, 1);
    assert.deepEqual(evicted.ledger.holders.map((h) => h.id), [claim(2).id]);
  });

  test('random arrivals, releases and expiries (200 sequences): never more holders than slots, grants in arrival order', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const next = random(seed);
      const slots = 1 + Math.floor(next() * 3);
      let l: PoolLedger = EMPTY_LEDGER;
      const arrived: string[] = [];
      const granted: string[] = [];
      let n = 0;
      for (let t = 0; t < 60; t++) {
        const roll = next();
        let promoted: readonly { id: string }[] = [];
        if (roll < 0.5) {
          const c = claim(n++);
          arrived.push(c.id);
          const r = acquire(l, slots, c, t, LEASE);
          if (r.answer.granted) granted.push(c.id);
          ({ ledger: l, promoted } = r);
        } else if (roll < 0.85 && l.holders.length > 0) {
          const gone = l.holders[Math.floor(next() * l.holders.length)]!.id;
          ({ ledger: l, promoted } = release(l, slots, (e) => e.id === gone, t, LEASE));
        } else if (l.holders.length > 0) {
          const dead = l.holders[Math.floor(next() * l.holders.length)]!.id;
          ({ ledger: l, promoted } = settleExpired(l, slots, new Set(), new Set([dead]), t + LEASE, LEASE));
        }
        granted.push(...promoted.map((h) => h.id));
        assert.ok(l.holders.length <= slots, `seed ${seed}: ${l.holders.length} holders for ${slots} slots`);
        assert.ok(l.holders.length === slots || l.waiters.length === 0, `seed ${seed}: a free slot while someone waits`);
        const ids = [...l.holders, ...l.waiters].map((e) => e.id);
        assert.equal(new Set(ids).size, ids.length, `seed ${seed}: a claim both holds and waits`);
      }
      assert.deepEqual(granted, arrived.slice(0, granted.length), `seed ${seed}: grants out of arrival order`);
    }
  });
});
