/**
 * Runs the seed pipeline once through the real app (development host, real activities and SDK
 * clients, stand-ins, Azurite) and counts what it costs at the boundaries: Table Storage requests
 * (a pipeline policy on the run store's clients, retries included), Key Vault reads (the stand-in
 * vault's request log), and from the host's history: activity executions, orchestrator executions
 * (each replay is one), durable timers and history events. `npm run bench -- runStore` prints it;
 * src/cost/seed-run.measured.json keeps it for `durable-pipelines cost`, and
 * test/integration/costMeasurement.test.ts fails when that file is stale.
 */
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import type { RunMeasurement } from '../../src/cost/measurement';
import { EventType } from '../../src/devhost/history';
import { isTerminalRunStatus } from '../../src/core/runStatus';
import { startApp } from './appHarness';

/** Counts requests per table (the URL path's first segment, without the `(PK,RK)` suffix). */
function tableRequestCounter(): { policy: PipelinePolicy; byTable: Map<string, number>; reset: () => void } {
  const byTable = new Map<string, number>();
  const policy: PipelinePolicy = {
    name: 'countTableRequests',
    sendRequest: (request, next) => {
      const table = new URL(request.url).pathname.split('/').filter(Boolean).at(-1)?.replace(/\(.*$/u, '') ?? '?';
      byTable.set(table, (byTable.get(table) ?? 0) + 1);
      return next(request);
    },
  };
  return { policy, byTable, reset: () => byTable.clear() };
}

export async function measureSeedRun(): Promise<RunMeasurement> {
  const counter = tableRequestCounter();
  const app = await startApp({ tableClientOptions: { additionalPolicies: [{ policy: counter.policy, position: 'perRetry' }] } });
  try {
    // Tables created, clients warm: a deployed app has done this once, not per run.
    await app.store.ready();
    const kvBefore = app.world.keyVault.totalReads();
    counter.reset();
    const started = await app.api<{ runId: string }>('POST', 'pipelines/data-pipeline/runs', {});
    if (started.status !== 202) throw new Error(`start answered ${started.status}: ${started.text}`);
    const runId = started.json.runId;
    await app.until('the seed run to finish', () => {
      const status = app.host.status(runId);
      return Promise.resolve(status && ['Completed', 'Failed', 'Terminated'].includes(status.runtimeStatus) ? status : undefined);
    }, { timeoutMs: 60_000 });
    await app.host.runUntilIdle();
    const tableOps = [...counter.byTable.values()].reduce((a, b) => a + b, 0);
    const byTable = Object.fromEntries([...counter.byTable].sort(([a], [b]) => (a < b ? -1 : 1)));
    const run = await app.store.getRun(runId);
    if (!run || !isTerminalRunStatus(run.status) || run.status !== 'succeeded') throw new Error(`the seed run ended ${run?.status ?? 'unrecorded'}`);
    let activityExecutions = 0;
    let orchestratorExecutions = 0;
    let durableTimers = 0;
    let historyEvents = 0;
    for (const id of app.host.instanceIds()) {
      const stats = app.host.stats(id);
      orchestratorExecutions += stats.replays;
      historyEvents += stats.totalHistoryEvents;
      for (const execution of app.host.executions(id)) {
        for (const event of execution) {
          if (event.EventType === EventType.TaskScheduled) activityExecutions += 1;
          if (event.EventType === EventType.TimerCreated) durableTimers += 1;
        }
      }
    }
    return {
      pipeline: 'data-pipeline',
      steps: 3,
      tableOperations: tableOps,
      tableOperationsByTable: byTable,
      keyVaultReads: app.world.keyVault.totalReads() - kvBefore,
      activityExecutions,
      orchestratorExecutions,
      durableTimers,
      historyEvents,
      instances: app.host.instanceIds().length,
    };
  } finally {
    await app.stop();
  }
}
