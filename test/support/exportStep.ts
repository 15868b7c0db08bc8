/**
 * The seed's export step as its activity runs it: the real azureFunction adapter behind
 * createStepActivities, the function's URL pointed at a local server, and a recorder that keeps
 * every log line and attempt the activity writes (what the run store would hold).
 */
import { createStepActivities } from '../../src/activities';
import { createLogger } from '../../src/logging/logger';
import { loadCatalog } from '../../src/pipelines/catalog';
import { pipelineInputs } from '../../src/pipelines/definitions';
import { definitionVersion } from '../../src/pipelines/version';
import type { AttemptRecord, LogLine, RunRecorder } from '../../src/runs/recorder';
import { createAzureFunctionAdapter } from '../../src/steps/azureFunction';

export function exportStep(functionUrl: string) {
  const catalog = loadCatalog(pipelineInputs);
  const lines: LogLine[] = [];
  const attempts: AttemptRecord[] = [];
  const recorder: RunRecorder = {
    upsertRun: () => Promise.resolve(),
    recordAttempt: () => Promise.resolve(),
    recordAbandoned: () => Promise.resolve(),
    recordAnswer: () => Promise.resolve(),
    appendLogs: () => Promise.resolve(),
    record: (write) => {
      lines.push(...(write.lines ?? []));
      attempts.push(...(write.attempts ?? []));
      return Promise.resolve();
    },
  };
  const secrets: Record<string, string> = { 'azure-function-url': functionUrl, 'azure-function-key': 'the-function-key-1234' };
  const activities = createStepActivities({
    adapters: { azureFunction: createAzureFunctionAdapter() },
    secrets: { get: (name) => (name in secrets ? Promise.resolve(secrets[name] ?? '') : Promise.reject(new Error(`no secret ${name}`))), invalidate: () => undefined },
    settings: () => undefined,
    recorder,
    logger: createLogger({ level: 'silent' }),
    catalog,
  });
  const version = definitionVersion(catalog.get('data-pipeline')!);
  /** Starts the export step of a run of the seed pipeline. */
  const start = (runId: string) =>
    activities.startStep({ runId, pipeline: 'data-pipeline', definitionVersion: version, stepId: 'export', attempt: 1, parameters: { day: '2026-11-27' }, trigger: { kind: 'manual', requestedAt: '2026-11-29T08:00:00.000Z' } });
  return { start, lines, attempts };
}
