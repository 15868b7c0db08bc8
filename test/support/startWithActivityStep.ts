/**
 * Loads the app's entry point (src/index, package.json `main`) in this process the way the
 * Functions worker does, with one extra pipeline whose third step is `kind: 'activity'` naming
 * STEP_ACTIVITY; REGISTER_ACTIVITY, when set, is registered first as a step activity. Prints
 * "started" when the entry point loaded; a refusal surfaces as the thrown error (exit code 1).
 */
import { registerStepActivity } from '../../src/functions/activities';
import { pipelineInputs } from '../../src/pipelines/definitions';
import type { PipelineInput } from '../../src/pipelines/schema';

const stepActivity = process.env['STEP_ACTIVITY'] ?? 'myActivity';
const registered = process.env['REGISTER_ACTIVITY'];

(pipelineInputs as PipelineInput[]).push({
  name: 'custom-pipeline',
  title: 'custom',
  steps: [
    { id: 'export', kind: 'azureFunction', url: 'https://fn.example/api/export' },
    { id: 'check', kind: 'azureFunction', url: 'https://fn.example/api/check', dependsOn: ['export'] },
    { id: 'enrich', kind: 'activity', activity: stepActivity, dependsOn: ['check'] },
  ],
});
if (registered) registerStepActivity(registered, () => Promise.resolve({ enriched: true }));

// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded after the set-up above, as the worker loads `main`
require('../../src/index');
console.log('started');
