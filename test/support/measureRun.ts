/**
 * Runs the seed pipeline once through the real app (development host, real activities and SDK
 * clients, stand-ins, Azurite) with every long job taking `pollsPerJob` polls, and counts what the
 * run costs at the boundaries:
 *
 * - Table Storage requests of the run store (a pipeline policy on its clients, retries included)
 *   and Key Vault reads (the stand-in vault's request log);
 * - from the host's histories: orchestrator episodes (each `OrchestratorStarted` is one orchestrator
 *   execution, i.e. one control-queue work item), activity executions, durable timers created,
 *   fired during the run and still pending when the run ended (in Azure they fire later anyway: a
 *   cancelled timer stays a queue message, azure-functions-durable-extension
 *   `OutOfProcOrchestrationShim` creates the timer and only then cancels its token), the messages
 *   each queue carries, history events, instances;
 * - when work happens (virtual seconds since the start): every history event's instant, so the
 *   estimate can tell how long an instance stays up and how often one starts from zero;
 * - log lines the app writes through `InvocationContext` that host.json lets through (the `traces`
 *   rows of test/support/telemetry.ts), orchestrator lines included.
 *
 * `npm run bench -- runStore` writes it to src/cost/seed-run.measured.json for
 * `durable-pipelines cost`; test/integration/costMeasurement.test.ts fails when that file is stale.
 */
import { NcrontabSchedule } from '../../src/devhost/ncrontab';
import { RETENTION_SCHEDULE } from '../../src/scheduler/timerPlan';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import type { OrchestrationContext, OrchestrationHandler } from 'durable-functions';
import type { Registration } from '../../src/app/registry';
import type { RunCounts, RunMeasurement } from '../../src/cost/measurement';
import { MEASURED_POLLS } from '../../src/cost/measurement';
import { RATES } from '../../src/cost/rates';
import { EventType, type HistoryEvent } from '../../src/devhost/history';
import { isTerminalRunStatus } from '../../src/core/runStatus';
import { DEMO_COPY_RESULT } from '../../src/standins/environment';
import { startApp } from './appHarness';
import { TelemetryCapture } from './telemetry';

/** Counts requests per table (the URL path's first segment, without the `(PK,RK)` suffix). */
function tableRequestCounter(): { policy: PipelinePolicy; byTable: Map<string, number>; reset: () => void } {
  const byTable = new Map<string, number>();
  const policy: PipelinePolicy = {
    name: 'countTableRequests',
    sendRequest: (request, next) => {
      const table = (new URL(request.url).pathname.split('/').filter(Boolean).at(-1)?.replace(/\(.*$/u, '') ?? '?').replace(/RunIndex\d{6}$/u, 'RunIndex<month>');
      byTable.set(table, (byTable.get(table) ?? 0) + 1);
      return next(request);
    },
  };
  return { policy, byTable, reset: () => byTable.clear() };
}

/** Orchestrators log through `context.log` (when not replaying): count those lines too. */
function countOrchestratorLines(registrations: readonly Registration[], onLine: (text: string) => void): Registration[] {
  return registrations.map((r) => {
    if (r.kind !== 'orchestration') return r;
    const inner = r.handler;
    const handler: OrchestrationHandler = function* (context: OrchestrationContext) {
      const proxied = new Proxy(context, {
        get(target, property, receiver) {
          const value: unknown = Reflect.get(target, property, receiver);
          if (property === 'log' && typeof value === 'function') {
            return (...args: unknown[]) => {
              onLine(args.map(String).join(' '));
              (value as (...a: unknown[]) => void).apply(target, args);
            };
          }
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      });
      return yield* inner(proxied) as Generator<unknown, unknown, unknown>;
    } as OrchestrationHandler;
    return { ...r, handler };
  });
}

/** Control-queue messages an orchestration consumes: its start and every answer it gets. */
const CONTROL_MESSAGES: ReadonlySet<number> = new Set([
  EventType.ExecutionStarted,
  EventType.TaskCompleted,
  EventType.TaskFailed,
  EventType.SubOrchestrationInstanceCompleted,
  EventType.SubOrchestrationInstanceFailed,
  EventType.TimerFired,
  EventType.EventRaised,
]);

const seconds = (fromMs: number, iso: string): number => Math.round((Date.parse(iso) - fromMs) / 100) / 10;

/** Virtual time a measured run may take (880 s at 10 polls per long job), with room. */
const MEASURE_WINDOW_MS = 30 * 60_000;

/**
 * Where the measured run's virtual clock starts: now, unless the daily retention purge
 * (RETENTION_SCHEDULE) would fire within the run and add its table operations to the count; then
 * 45 minutes earlier, a window that ends before that fire.
 */
function startClearOfRetention(now: Date): Date {
  const fire = new NcrontabSchedule(RETENTION_SCHEDULE).next(now);
  return fire !== undefined && fire.getTime() - now.getTime() <= MEASURE_WINDOW_MS ? new Date(now.getTime() - 45 * 60_000) : now;
}

/**
 * One seed run with `pollsPerJob` polls for each long job (export, COPY INTO, dbt).
 * `secretCacheSeconds` sets SECRET_CACHE_TTL_SECONDS (default: the app's 300 s).
 */
export async function measureSeedRunWith(pollsPerJob: number, secretCacheSeconds?: number): Promise<Omit<RunCounts, 'keyVaultReadsColdPolls'>> {
  if (!Number.isInteger(pollsPerJob) || pollsPerJob < 1) throw new Error(`pollsPerJob: a whole number ≥ 1, got ${pollsPerJob}`);
  // startApp layers settings over process.env, where an earlier run's cache setting would stay.
  delete process.env['SECRET_CACHE_TTL_SECONDS'];
  const counter = tableRequestCounter();
  const capture = new TelemetryCapture('host.json');
  const orchestratorLines: string[] = [];
  const app = await startApp({
    startTime: startClearOfRetention(new Date()),
    tableClientOptions: { additionalPolicies: [{ policy: counter.policy, position: 'perRetry' }] },
    // The level infra deploys (infra/main.bicep logLevel).
    settings: { LOG_LEVEL: 'info', ...(secretCacheSeconds === undefined ? {} : { SECRET_CACHE_TTL_SECONDS: String(secretCacheSeconds) }) },
    // The stand-in job answers Running to this many status reads; the adapter reads once per poll.
    dbtJobPolls: pollsPerJob - 1,
    wrapRegistrations: (list) => capture.wrap(countOrchestratorLines(list, (line) => orchestratorLines.push(line))),
  });
  try {
    const { exportFunction, keyVault, snowflake } = app.world;
    // The export as users run it: the Durable HTTP API's 202 pattern, Running for N − 1 status reads.
    exportFunction.config.asyncPollsBeforeDone = pollsPerJob - 1;
    keyVault.setSecret('azure-function-url', `${exportFunction.baseUrl}/api/export-async`);
    // COPY INTO runs asynchronously: Running for N − 1 status checks (later scripts win).
    snowflake.script({ match: /^\s*COPY INTO/i, result: DEMO_COPY_RESULT, runningPolls: pollsPerJob + 2 });
    // Tables created, clients warm: a deployed app has done this once, not per run.
    await app.store.ready();
    const kvBefore = app.world.keyVault.totalReads();
    counter.reset();
    const startedMs = app.host.now().getTime();
    const started = await app.api<{ runId: string }>('POST', 'pipelines/data-pipeline/runs', {});
    if (started.status !== 202) throw new Error(`start answered ${started.status}: ${started.text}`);
    const runId = started.json.runId;
    await app.until('the seed run to finish', () => {
      const status = app.host.status(runId);
      return Promise.resolve(status && ['Completed', 'Failed', 'Terminated'].includes(status.runtimeStatus) ? status : undefined);
    }, { timeoutMs: 120_000 });
    await app.host.runUntilIdle();
    const run = await app.store.getRun(runId);
    if (!run || !isTerminalRunStatus(run.status) || run.status !== 'succeeded') throw new Error(`the seed run ended ${run?.status ?? 'unrecorded'}`);
    const tableOps = [...counter.byTable.values()].reduce((a, b) => a + b, 0);
    const byTable = Object.fromEntries([...counter.byTable].sort(([a], [b]) => (a < b ? -1 : 1)));

    let activityExecutions = 0;
    let orchestratorExecutions = 0;
    let timersCreated = 0;
    let timersFired = 0;
    let controlQueueMessages = 0;
    let historyEvents = 0;
    let executions = 0;
    const pollsByStep: Record<string, number> = {};
    const instants = new Set<number>();
    const pendingTimerOffsets: number[] = [];
    let endMs = startedMs;
    for (const id of app.host.instanceIds()) {
      const name = app.host.orchestratorName(id);
      for (const execution of app.host.executions(id)) {
        executions += 1;
        historyEvents += execution.length;
        const created = new Map<number, HistoryEvent>();
        const fired = new Set<number>();
        for (const event of execution) {
          instants.add(seconds(startedMs, event.Timestamp));
          endMs = Math.max(endMs, Date.parse(event.Timestamp));
          if (event.EventType === EventType.OrchestratorStarted) orchestratorExecutions += 1;
          if (event.EventType === EventType.TaskScheduled) {
            activityExecutions += 1;
            if (name === 'pollStepUntilDone' && event['Name'] === 'pollStep') {
              const stepId = id.split(':').at(-2) ?? '?';
              pollsByStep[stepId] = (pollsByStep[stepId] ?? 0) + 1;
            }
          }
          if (event.EventType === EventType.TimerCreated) created.set(event.EventId, event);
          if (event.EventType === EventType.TimerFired) fired.add(Number(event['TimerId']));
          if (CONTROL_MESSAGES.has(event.EventType)) controlQueueMessages += 1;
        }
        timersCreated += created.size;
        timersFired += fired.size;
        for (const [timerId, event] of created) {
          if (!fired.has(timerId)) pendingTimerOffsets.push(seconds(startedMs, String(event['FireAt'])));
        }
      }
    }
    const appRows = [...capture.rows.map((r) => r.message), ...orchestratorLines];
    return {
      pollsPerJob,
      pollsByStep: Object.fromEntries(Object.entries(pollsByStep).sort(([a], [b]) => (a < b ? -1 : 1))),
      tableOperations: tableOps,
      tableOperationsByTable: byTable,
      keyVaultReads: app.world.keyVault.totalReads() - kvBefore,
      activityExecutions,
      orchestratorExecutions,
      timersCreated,
      timersFired,
      timersPendingAtEnd: pendingTimerOffsets.length,
      controlQueueMessages,
      workItemMessages: activityExecutions,
      historyEvents,
      instances: app.host.instanceIds().length,
      executions,
      runSeconds: seconds(startedMs, new Date(endMs).toISOString()),
      workInstants: [...instants].sort((a, b) => a - b),
      pendingTimerOffsets: pendingTimerOffsets.sort((a, b) => a - b),
      appLogLines: appRows.length,
      // Rounded: a line carries run ids and durations whose length varies by a byte or two.
      appLogBytes: Math.round(appRows.reduce((n, text) => n + Buffer.byteLength(text), 0) / 100) * 100,
    };
  } finally {
    await app.stop();
  }
}

/**
 * The seed measured at each N of MEASURED_POLLS: what src/cost/seed-run.measured.json holds. Each N
 * runs twice: as deployed, and once more with secrets cached only as long as an idle Flex instance
 * lives (rates.ts idleKeepAliveSeconds), which is what a run pays when each poll lands on a new
 * instance: only its Key Vault reads are kept from that run.
 */
export async function measureSeedRun(): Promise<RunMeasurement> {
  const runs: RunCounts[] = [];
  for (const n of MEASURED_POLLS) {
    const warm = await measureSeedRunWith(n);
    const cold = await measureSeedRunWith(n, RATES.idleKeepAliveSeconds.value);
    runs.push({ ...warm, keyVaultReadsColdPolls: cold.keyVaultReads });
  }
  return { pipeline: 'data-pipeline', steps: 3, longJobs: ['export', 'load', 'transform'], runs };
}

