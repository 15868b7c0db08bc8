/**
 * The wait for a pipeline retry is part of the run's published state (issue 22): while a failed
 * round waits, the live status says which pipeline attempt comes and when; the next attempt's
 * start clears it, and so does a cancel during the wait. Virtual time: the seed's 120 s retries
 * and 300 s pipeline retry cost no wall time.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CANCEL_EVENT, type RunState } from '../../src/engine';
import { START, seedPipeline, engineHostForSuite } from './engineHarness';

const at = (seconds: number): string => new Date(START.getTime() + seconds * 1000).toISOString();

describe('the pipeline-retry wait in the run state', () => {
  const engine = engineHostForSuite();
  const live = (runId: string): RunState => engine().host.status(runId)?.customStatus as RunState;

  test('published from the last failure until the next pipeline attempt starts, then cleared', async () => {
    // The seed's load: 4 tries 120 s apart (t = 0, 120, 240, 360 s), then the pipeline retry 300 s later.
    engine().fake.script('load', [{ fail: 'transient' }, { fail: 'transient' }, { fail: 'transient' }, { fail: 'transient' }, { running: { polls: 2, pollAfterSeconds: 30 } }]);
    await engine().start(seedPipeline(), 'wait-1');
    await engine().host.advance(400_000);
    const waiting = live('wait-1');
    assert.equal(waiting.status, 'running');
    assert.equal(waiting.pipelineAttempt, 1);
    assert.deepEqual(waiting.pipelineRetry, { attempt: 2, at: at(660) });
    assert.deepEqual(waiting.steps.map((s) => s.status), ['succeeded', 'failed', 'skipped']);

    // Past the wait: attempt 2 runs (load is being polled) and the wait is gone.
    await engine().host.advance(280_000);
    const retried = live('wait-1');
    assert.equal(retried.pipelineAttempt, 2);
    assert.equal(retried.pipelineRetry, undefined);
    assert.equal(retried.steps[1]?.status, 'running');
    assert.equal(engine().fake.callsOf('wait-1', 'load')[4]?.at.toISOString(), at(660));

    const done = (await engine().host.waitFor('wait-1')).output as RunState;
    assert.equal(done.status, 'succeeded');
    assert.equal(done.pipelineRetry, undefined);
  });

  test('a cancel during the wait ends the run cancelled, with no wait left in its state', async () => {
    engine().fake.script('load', [{ fail: 'transient' }, { fail: 'transient' }, { fail: 'transient' }, { fail: 'transient' }]);
    await engine().start(seedPipeline(), 'wait-2');
    await engine().host.advance(400_000);
    assert.equal(live('wait-2').pipelineRetry?.attempt, 2);
    await engine().host.client.raiseEvent('wait-2', CANCEL_EVENT, { reason: 'operator request' });
    const done = (await engine().host.waitFor('wait-2')).output as RunState;
    assert.equal(done.status, 'cancelled');
    assert.equal(done.pipelineRetry, undefined);
    assert.equal(engine().fake.callsOf('wait-2', 'load').length, 4, 'the retry never ran');
  });
});
