/**
 * A `kind: 'activity'` step naming an activity nobody registered hangs forever in Azure (the
 * extension swallows the error: OutOfProcOrchestrationShim.ProcessAsyncActionsV2; durable-js #197),
 * so the app refuses it when it starts, naming the pipeline and the step's path.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { refuseUnregisteredActivitySteps, unregisteredActivitySteps } from '../../src/app/activitySteps';
import type { Registration } from '../../src/app/registry';
import { loadCatalog } from '../../src/pipelines/catalog';
import { PipelineValidationError } from '../../src/pipelines/validate';

const catalog = loadCatalog([
  {
    name: 'data-pipeline',
    title: 'with activities',
    steps: [
      { id: 'export', kind: 'azureFunction', url: 'https://fn.example/api/export' },
      { id: 'known', kind: 'activity', activity: 'enrichRows', dependsOn: ['export'] },
      { id: 'unknown', kind: 'activity', activity: 'myActivity', dependsOn: ['known'] },
    ],
  },
]);

const activity = (name: string): Registration => ({ kind: 'activity', name, handler: () => null });
const orchestration = (name: string): Registration => ({ kind: 'orchestration', name, handler: function* () {} });

describe('start-up refusal of activity steps nobody registered', () => {
  test('names the pipeline, the step path and the activity; registered ones pass', () => {
    assert.deepEqual(unregisteredActivitySteps(catalog, [activity('enrichRows'), activity('startStep')]), [
      { path: 'data-pipeline.steps[2].activity', message: '"myActivity" is not a registered activity (register it with registerStepActivity)' },
    ]);
    assert.throws(
      () => refuseUnregisteredActivitySteps(catalog, [activity('enrichRows')]),
      (error: unknown) => error instanceof PipelineValidationError && /data-pipeline\.steps\[2\]\.activity: "myActivity" is not a registered activity/.test(error.message),
    );
    assert.doesNotThrow(() => refuseUnregisteredActivitySteps(catalog, [activity('enrichRows'), activity('myActivity')]));
  });

  test('an orchestrator of that name is not an activity', () => {
    assert.equal(unregisteredActivitySteps(catalog, [activity('enrichRows'), orchestration('myActivity')]).length, 1);
  });
});
