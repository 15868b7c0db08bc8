/**
 * A month of usage, as counts: what the schedules fire, what each run does (measured, priced at N
 * polls per long job), what the Durable backend and the Functions host do around it (rates.ts), and
 * how long instances are up. estimate.ts multiplies these by prices.
 */
import type { PipelineDefinition } from '../pipelines/schema';
import type { InfraParameters } from './infra';
import { countsAtPolls, type RunMeasurement } from './measurement';
import { RATES, rampPolls } from './rates';
import { RETENTION_SCHEDULE } from '../scheduler/timerPlan';
import { firesPerMonth, ncrontabFiresPerMonth, runsPerMonth, SECONDS_PER_MONTH, timerInvocationsPerMonth, type ScheduleFires, type TriggerDesign } from './schedules';

/** Figures nobody here could measure: stated in the output, changeable by the caller. */
export interface CostAssumptions {
  /**
   * Polls each long job (export, COPY INTO, dbt) takes: JOB_SECONDS at the steps' pollInterval
   * (30 s, the schema's default), i.e. 10; test/unit/cost.test.ts fails when the seed's intervals
   * and this figure part.
   */
  readonly pollsPerJob: number;
  /**
   * Billed seconds per active period of an instance. Flex bills the memory of an instance while it
   * executes at least one function, 1 s at least, then rounded up to 100 ms (MicrosoftDocs
   * azure-docs includes/functions-flex-consumption-billing-table.md, flex-consumption-plan.md
   * "Billing"): an orchestrator episode, the activity it schedules and the episode its answer
   * wakes are one period, assumed to fit in the minimum.
   */
  readonly billedSecondsPerActivePeriod: number;
  /** Bytes Log Analytics bills for a telemetry row besides its message (timestamp, ids, role, custom dimensions). */
  readonly bytesPerTelemetryRow: number;
  /** Console and system log bytes of one dbt Container Apps job execution. */
  readonly dbtJobLogBytes: number;
  /** Whether the billing account's 5 GB free Log Analytics ingestion is left for this app. */
  readonly logAnalyticsFreeGrantAvailable: boolean;
}

export const DEFAULT_ASSUMPTIONS: CostAssumptions = {
  pollsPerJob: 10,
  billedSecondsPerActivePeriod: 1,
  bytesPerTelemetryRow: 700,
  dbtJobLogBytes: 20_000,
  logAnalyticsFreeGrantAvailable: true,
};

/** How long an export, a COPY INTO or a dbt run of the seed takes, assumed: 5 minutes. */
export const JOB_SECONDS = 300;

export interface MonthlyUsage {
  readonly schedules: readonly ScheduleFires[];
  readonly runs: number;
  readonly pipelines: number;
  readonly perRun: ReturnType<typeof countsAtPolls> & { readonly awakeSeconds: number; readonly wakeUps: number; readonly staleWakeUps: number; readonly coldPolls: boolean };
  readonly timerInvocations: { readonly count: number; readonly basis: string };
  /** The daily retention purge's timer (src/functions/scheduler.ts RETENTION_SCHEDULE). */
  readonly retentionInvocations: number;
  readonly orchestratorExecutions: number;
  readonly activityExecutions: number;
  readonly durableExecutions: number;
  readonly timerExecutions: number;
  /** Active periods of a Durable instance (each burst of work of a run, measured) and of timer instances (one per invocation). */
  readonly durableActivePeriods: number;
  readonly timerActivePeriods: number;
  /** Durable backend traffic of the runs (Azure Storage provider). */
  readonly durableQueueOps: number;
  readonly durableTableOps: number;
  /** Scale controller polling of the task hub (Azure Storage provider). */
  readonly pulses: number;
  readonly scaleQueueOps: number;
  readonly scalePartitionReads: number;
  /** Seconds a month an instance of the Durable group is up (always-ready: all month). */
  readonly durableAwakeSeconds: number;
  readonly durableWakeUps: number;
  readonly workerQueuePolls: number;
  readonly leaseRenewOps: number;
  readonly leaseListOps: number;
  readonly leaseReadOps: number;
  /** Table partition manager: partition table queries and lease replaces. */
  readonly leaseTableOps: number;
  readonly hostLockOps: number;
  readonly timerInstanceSeconds: number;
  readonly timerLockOps: number;
  readonly timerStatusOps: number;
  readonly hostStartRequests: number;
  readonly runStoreTableOps: number;
  readonly keyVaultReads: number;
  readonly dbtExecutions: number;
  readonly dbtJobSeconds: number;
  readonly telemetryRows: number;
  readonly telemetryBytes: number;
  readonly dtsActions: number;
  readonly alertSeries: number;
}

/**
 * How long instances are up for work at `instants` (seconds from a run's start, measured on the
 * development host's clock, where a due timer is handled at once) and how many start from zero. An
 * idle instance lives `keep` seconds; on a live instance a due message waits `latency` more for the
 * worker's next queue poll. A gap the instance does not outlive starts a new one.
 */
export function awakeStretches(instants: readonly number[], keep: number, latency = 0): { seconds: number; stretches: number } {
  const sorted = [...instants].sort((a, b) => a - b);
  let seconds = 0;
  let stretches = 0;
  let previous: number | undefined;
  for (const t of sorted) {
    if (previous === undefined || t - previous + latency > keep) {
      stretches += 1;
      seconds += keep;
    } else {
      seconds += t - previous + latency;
    }
    previous = t;
  }
  return { seconds, stretches };
}

/** Host log rows per invocation that host.json lets through: Executing/Executed traces and the request row. */
export function hostRowsPerInvocation(levels: Readonly<Record<string, string>>): number {
  const rank: Record<string, number> = { trace: 0, debug: 1, information: 2, warning: 3, error: 4, critical: 5, none: 6 };
  const min = (category: string): number => {
    let best: string | undefined;
    for (const key of Object.keys(levels)) {
      if (key !== 'default' && (category === key || category.startsWith(`${key}.`)) && (!best || key.length > best.length)) best = key;
    }
    return rank[(levels[best ?? 'default'] ?? 'Information').toLowerCase()] ?? 2;
  };
  // azure-webjobs-sdk FunctionExecutor logs "Executing …" and "Executed …" under Function.<name>;
  // the host's Host.Results category carries the `requests` row (configure-monitoring#configure-categories).
  return (min('Function.runPipeline') <= 2 ? 2 : 0) + (min('Host.Results') <= 2 ? 1 : 0);
}

export interface UsageInput {
  readonly pipelines: readonly PipelineDefinition[];
  readonly infra: InfraParameters;
  readonly measurement: RunMeasurement;
  readonly trigger: TriggerDesign;
  readonly assumptions: CostAssumptions;
  readonly now?: Date;
}

export function monthlyUsage(input: UsageInput): MonthlyUsage {
  const { infra, measurement: m, assumptions: a } = input;
  const keep = RATES.idleKeepAliveSeconds.value;
  const schedules = firesPerMonth(input.pipelines, input.now);
  const runsBy = runsPerMonth(input.pipelines, input.now);
  const runs = [...runsBy.values()].reduce((x, n) => x + n, 0);
  const timers = timerInvocationsPerMonth(schedules, input.trigger, input.now);
  const n = a.pollsPerJob;
  const counts = countsAtPolls(m, n);

  // When a run keeps an instance busy: the measured instants at the measured N nearest to n,
  // stretched by the difference in run length.
  const nearest = [...m.runs].sort((x, y) => Math.abs(x.pollsPerJob - n) - Math.abs(y.pollsPerJob - n))[0]!;
  // A due timer waits for the live instance's next control-queue poll: half the backed-off interval on average.
  const own = awakeStretches(nearest.workInstants, keep, infra.maxQueuePollingSeconds / 2);
  const awakeSeconds = own.seconds + Math.max(0, counts.runSeconds - nearest.runSeconds);
  // Timers left pending fire later: each wakes the app unless another run of the same schedule is up then.
  let staleWakeUps = 0;
  for (const s of schedules) {
    const period = SECONDS_PER_MONTH / Math.max(s.perMonth, 1e-9);
    const covered = nearest.pendingTimerOffsets.filter((t) => t > period && t % period < awakeSeconds).length;
    staleWakeUps += s.perMonth * (nearest.pendingTimerOffsets.length - covered);
  }
  // Slots skipped for overlap start no run and leave no timer.
  staleWakeUps *= runs / Math.max(schedules.reduce((x, f) => x + f.perMonth, 0), 1e-9);
  const alwaysReady = infra.durableAlwaysReady > 0;
  // Polls that land on a new instance read their step's secrets again (measured with the cache
  // living as long as an idle instance); an always-ready instance keeps its cache.
  const coldPolls = !alwaysReady && own.stretches > 1;
  const perRun = { ...counts, awakeSeconds, wakeUps: own.stretches, staleWakeUps: runs > 0 ? staleWakeUps / runs : 0, coldPolls };

  const storage = infra.durableBackend === 'AzureStorage';
  const queues = infra.partitionCount + 1;
  const orchestratorExecutions = runs * counts.orchestratorExecutions;
  const activityExecutions = runs * counts.activityExecutions;
  const retentionInvocations = ncrontabFiresPerMonth(RETENTION_SCHEDULE, input.now);
  const timerExecutions = timers.count + retentionInvocations;
  const pendingMessages = runs * counts.timersPendingAtEnd;

  const durableQueueOps = storage ? RATES.queueOpsPerMessage.value * (runs * (counts.controlQueueMessages + counts.workItemMessages) + pendingMessages) : 0;
  const durableTableOps = storage ? RATES.tableOpsPerEpisode.value * orchestratorExecutions + runs * m.runs[0]!.instances + RATES.tableOpsPerStaleMessage.value * pendingMessages : 0;

  const pulses = storage ? SECONDS_PER_MONTH / RATES.scaleControllerPulseSeconds.value : 0;
  const scaleQueueOps = pulses * RATES.queueOpsPerQueuePerPulse.value * queues;
  const scalePartitionReads = pulses * RATES.partitionReadsPerPulse.value;

  const durableWakeUps = alwaysReady ? 0 : runs * own.stretches + staleWakeUps;
  const durableAwakeSeconds = alwaysReady ? infra.durableAlwaysReady * SECONDS_PER_MONTH : runs * awakeSeconds + staleWakeUps * keep;
  const workInstants = runs * nearest.workInstants.length + staleWakeUps;
  const workerQueuePolls = storage
    ? queues * (durableAwakeSeconds / infra.maxQueuePollingSeconds) + 2 * rampPolls(infra.maxQueuePollingSeconds) * workInstants
    : 0;
  const loops = storage ? durableAwakeSeconds / RATES.partitionLoopSeconds.value : 0;
  const tableLeases = infra.tablePartitionManagement;
  const leaseRenewOps = (tableLeases ? 0 : loops * 2 * infra.partitionCount) + (storage ? durableAwakeSeconds / RATES.appLeaseRenewSeconds.value : 0);
  const leaseListOps = tableLeases ? 0 : loops * RATES.blobLeaseListsPerLoop.value;
  const leaseReadOps = tableLeases ? 0 : loops * 2 * infra.partitionCount;
  const leaseTableOps = tableLeases ? loops * (RATES.tableLeaseQueriesPerLoop.value + infra.partitionCount) : 0;
  const timerInstanceSeconds = timers.count * keep;
  const hostLockOps = (durableAwakeSeconds + timerInstanceSeconds) / RATES.hostLockRenewSeconds.value;
  const timerLockOps = timerInstanceSeconds / RATES.timerListenerLockRenewSeconds.value;
  const timerStatusOps = timers.count * RATES.timerStatusOpsPerFire.value;
  const hostStartRequests = durableWakeUps * (RATES.hostStartRequestsBase.value + (storage ? RATES.hostStartRequestsPerQueue.value * queues : 0)) + timers.count * 3;

  // Each dbt job execution lasts its polls at its step's pollInterval, after its start-up.
  let dbtPerRun = 0;
  let dbtSeconds = 0;
  for (const p of input.pipelines) {
    for (const step of p.steps.filter((s) => s.kind === 'dbt' && s.runner.type === 'containerAppsJob')) {
      dbtPerRun += runsBy.get(p.name) ?? 0;
      dbtSeconds += (runsBy.get(p.name) ?? 0) * (n * step.pollInterval + RATES.dbtJobStartSeconds.value);
    }
  }
  const dbtExecutions = infra.enableDbtJob ? dbtPerRun : 0;
  const invocations = orchestratorExecutions + activityExecutions + timerExecutions;
  const hostRows = invocations * hostRowsPerInvocation(infra.logLevels);
  const appRows = runs * counts.appLogLines;
  const telemetryRows = hostRows + appRows;
  const telemetryBytes = telemetryRows * a.bytesPerTelemetryRow + runs * counts.appLogBytes + dbtExecutions * a.dbtJobLogBytes;

  return {
    schedules,
    runs,
    pipelines: input.pipelines.length,
    perRun,
    timerInvocations: timers,
    retentionInvocations,
    orchestratorExecutions,
    activityExecutions,
    durableExecutions: orchestratorExecutions + activityExecutions,
    timerExecutions,
    durableActivePeriods: runs * counts.activePeriods,
    timerActivePeriods: timerExecutions,
    durableQueueOps,
    durableTableOps,
    pulses,
    scaleQueueOps,
    scalePartitionReads,
    durableAwakeSeconds,
    durableWakeUps,
    workerQueuePolls,
    leaseRenewOps,
    leaseListOps,
    leaseReadOps,
    leaseTableOps,
    hostLockOps,
    timerInstanceSeconds,
    timerLockOps,
    timerStatusOps,
    hostStartRequests,
    runStoreTableOps: runs * counts.tableOperations,
    // The app's reads are measured; the dbt job's entry script reads its own at every execution.
    keyVaultReads: runs * (coldPolls ? counts.keyVaultReadsColdPolls : counts.keyVaultReads) + dbtExecutions * RATES.dbtJobSecretReads.value,
    dbtExecutions,
    dbtJobSeconds: dbtPerRun > 0 ? dbtSeconds / dbtPerRun : 0,
    telemetryRows,
    telemetryBytes,
    // Actions: each message dispatched to the app (a start, an activity, an answer, a timer, an event).
    dtsActions: storage ? 0 : runs * (counts.controlQueueMessages + counts.workItemMessages) + pendingMessages,
    alertSeries: infra.alert.kind === 'log' && infra.alert.splitBy !== undefined ? input.pipelines.length : 1,
  };
}
