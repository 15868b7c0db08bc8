/**
 * Issue 26, engine versions (src/engine/README.md "Engine versions"): orchestrator names carry the
 * engine version, so after an incompatible engine change Durable routes each in-flight instance to
 * the code that started it, while new runs start under the new names.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ENGINE_VERSION, ORCHESTRATOR_NAMES, engineOrchestrators, engineVersionOfRun, orchestratorNames, type RunState } from '../../src/engine';
import { engineHostForSuite, seedPipeline } from './engineHarness';

describe('engine versions in orchestrator names', () => {
  test('version 1 keeps the names runs were started under before versions; a later version names every orchestrator anew', () => {
    assert.deepEqual(orchestratorNames(1), { runPipeline: 'runPipeline', pollStep: 'pollStepUntilDone', runStep: 'runPipelineStep', runSteps: 'runPipelineSteps', archive: 'runPipelineArchive' });
    assert.deepEqual(ORCHESTRATOR_NAMES, orchestratorNames(ENGINE_VERSION));
    const current = new Set(Object.values(orchestratorNames(ENGINE_VERSION)));
    for (const name of Object.values(orchestratorNames(ENGINE_VERSION + 1))) assert.ok(!current.has(name), `${name} would route old instances to the new code`);
    assert.equal(engineVersionOfRun(orchestratorNames(ENGINE_VERSION + 1).runPipeline), ENGINE_VERSION + 1);
    assert.equal(engineVersionOfRun(ORCHESTRATOR_NAMES.runPipeline), ENGINE_VERSION);
    assert.equal(engineVersionOfRun(ORCHESTRATOR_NAMES.runStep), undefined);
  });

  test('the app registers the current version’s names', () => {
    const names = engineOrchestrators({ definitions: { get: () => undefined } }).map((o) => o.name).sort();
    assert.deepEqual(names, Object.values(ORCHESTRATOR_NAMES).sort());
  });

  const engine = engineHostForSuite();
  test('a run started under the current names completes, every orchestration it starts under the same version', async () => {
    engine().fake.script('transform', [{ running: { polls: 3, pollAfterSeconds: 30 } }]);
    const state: RunState = await engine().run(seedPipeline(), 'v-run');
    assert.equal(state.status, 'succeeded');
    assert.equal(engine().host.orchestratorName('v-run'), ORCHESTRATOR_NAMES.runPipeline);
    const current = new Set<string>(Object.values(ORCHESTRATOR_NAMES));
    const started = engine().host.instanceIds().filter((id) => id.startsWith('v-run'));
    assert.ok(started.length > 1, 'the polled step ran in a sub-orchestration');
    for (const id of started) assert.ok(current.has(engine().host.orchestratorName(id)), `${id}: ${engine().host.orchestratorName(id)}`);
  });
});
