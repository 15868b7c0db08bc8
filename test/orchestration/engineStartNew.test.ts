import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ORCHESTRATOR_NAMES, type RunInput, type RunState } from '../../src/engine';
import { definitionVersion } from '../../src/pipelines/version';
import { seedPipeline, engineHostForSuite } from './engineHarness';

describe('startNew with an existing run id', () => {
  const engine = engineHostForSuite({ hostJson: { version: '2.0', extensions: { durableTask: { overridableExistingInstanceStates: 'NonRunningStates' } } } });

  test('is rejected while the run is running; over a completed one Durable starts it again, and the run refuses to run twice', async () => {
    const pipeline = seedPipeline();
    const input: RunInput = { pipeline: pipeline.name, definitionVersion: definitionVersion(pipeline), runId: 'same-id', trigger: { kind: 'manual' }, parameters: { day: '2026-03-02' } };
    engine().fake.script('load', [{ running: { polls: 3, pollAfterSeconds: 30 } }]);
    await engine().start(pipeline, 'same-id');
    await engine().host.advance(31_000);
    assert.equal(engine().host.status('same-id')?.runtimeStatus, 'Running');
    await assert.rejects(engine().host.client.startNew(ORCHESTRATOR_NAMES.runPipeline, { instanceId: 'same-id', input }));

    const first = await engine().host.waitFor('same-id');
    assert.equal((first.output as RunState).status, 'succeeded');
    // Durable overwrites a completed instance (NonRunningStates); the run's record says it ended.
    await engine().host.client.startNew(ORCHESTRATOR_NAMES.runPipeline, { instanceId: 'same-id', input });
    const second = await engine().host.waitFor('same-id');
    assert.equal(second.runtimeStatus, 'Failed');
    assert.match(String(second.output), /run refused: run "same-id" has already ended \(succeeded\)/);
    assert.equal(engine().fake.callsOf('same-id', 'export').length, 1, 'nothing ran twice');
    assert.equal((await engine().store.getRun('same-id'))?.status, 'succeeded', 'the record still says how the run ended');
  });
});
