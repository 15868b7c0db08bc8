/**
 * The monthly estimate: schedules' fires × each run's counted operations + the infrastructure
 * that is billed whether or not anything runs, priced from a price table. Every line carries the
 * arithmetic it came from (`basis`), so a reader can check it against the bill.
 */
import type { PipelineDefinition } from '../pipelines/schema';
import type { InfraParameters } from './infra';
import type { RunMeasurement } from './measurement';
import type { PriceName, PriceTable } from './prices';
import { deployedTriggerDesign, firesPerMonth, fmtCount, SECONDS_PER_MONTH, timerInvocationsPerMonth, type ScheduleFires, type TriggerDesign } from './schedules';

export interface CostLine {
  readonly name: string;
  /** In the price table's currency, per month, rounded to 1/10,000. */
  readonly monthly: number;
  readonly basis: string;
}

export interface CostEstimate {
  readonly currency: string;
  readonly region: string;
  readonly lines: readonly CostLine[];
  readonly total: number;
  readonly schedules: readonly ScheduleFires[];
  /** Prices used that are not confirmed for this region (their names). */
  readonly unconfirmed: readonly string[];
  /** Where the per-run counts come from. */
  readonly perRun: string;
}

/** Figures nobody here could measure: stated in the output, changeable by the caller. */
export interface CostAssumptions {
  /** Billed on-demand seconds per Function execution (a step start or poll is an HTTP call; a replay is milliseconds). */
  readonly billedSecondsPerExecution: number;
  /** Telemetry per Function execution reaching Log Analytics with host.json's quiet levels, KB. */
  readonly telemetryKbPerExecution: number;
  /** Wall time of one dbt Container Apps job execution, seconds. */
  readonly dbtJobSeconds: number;
  /** Durable Azure Storage provider queues polled when idle: 4 control queues (partitionCount) + 1 work-item queue. */
  readonly durableQueues: number;
  /** Timer invocations a month outside the scheduler (the daily retention purge, RETENTION_SCHEDULE in src/functions/scheduler.ts). */
  readonly otherTimerInvocations: number;
}

export const DEFAULT_ASSUMPTIONS: CostAssumptions = {
  billedSecondsPerExecution: 1,
  telemetryKbPerExecution: 2,
  dbtJobSeconds: 120,
  durableQueues: 5,
  otherTimerInvocations: 365.25 / 12,
};

export interface EstimateInput {
  readonly pipelines: readonly PipelineDefinition[];
  readonly infra: InfraParameters;
  readonly measurement: RunMeasurement;
  readonly prices: PriceTable;
  readonly trigger?: TriggerDesign;
  readonly assumptions?: Partial<CostAssumptions>;
  readonly now?: Date;
}

/** Seconds as host.json writes a TimeSpan (hh:mm:ss). */
const timeSpan = (sec: number): string => [Math.floor(sec / 3600), Math.floor(sec / 60) % 60, sec % 60].map((n) => String(n).padStart(2, '0')).join(':');
const round4 = (n: number): number => Math.round(n * 10_000) / 10_000;
const money = (n: number, currency: string): string => `${currency === 'EUR' ? '€' : `${currency} `}${n < 0.01 && n > 0 ? n.toFixed(4) : n.toFixed(2)}`;

/** Per-run counts for a pipeline: the measured ones for the measured pipeline, else scaled by step count. */
function perRun(pipeline: PipelineDefinition, m: RunMeasurement): { counts: RunMeasurement; scaled: boolean } {
  if (pipeline.name === m.pipeline) return { counts: m, scaled: false };
  const f = pipeline.steps.length / m.steps;
  const s = (n: number) => n * f;
  return {
    counts: {
      ...m,
      pipeline: pipeline.name,
      steps: pipeline.steps.length,
      tableOperations: s(m.tableOperations),
      keyVaultReads: s(m.keyVaultReads),
      activityExecutions: s(m.activityExecutions),
      orchestratorExecutions: s(m.orchestratorExecutions),
      durableTimers: s(m.durableTimers),
      historyEvents: s(m.historyEvents),
    },
    scaled: true,
  };
}

export function estimateMonthlyCost(input: EstimateInput): CostEstimate {
  const a = { ...DEFAULT_ASSUMPTIONS, ...input.assumptions };
  const { infra, prices } = input;
  const cur = prices.currency;
  const used = new Set<PriceName>();
  const p = (name: PriceName): number => {
    used.add(name);
    return prices.prices[name].price;
  };
  const fires = firesPerMonth(input.pipelines, input.now);
  const timers = timerInvocationsPerMonth(fires, input.trigger ?? deployedTriggerDesign(input.pipelines, input.now), input.now);

  let runs = 0;
  let activity = 0;
  let orchestrator = 0;
  let durableTimers = 0;
  let tableOps = 0;
  let kvReads = 0;
  let dbtRuns = 0;
  const scaledNames: string[] = [];
  for (const pipeline of input.pipelines) {
    const n = fires.filter((f) => f.pipeline === pipeline.name).reduce((x, f) => x + f.perMonth, 0);
    if (n === 0) continue;
    const { counts, scaled } = perRun(pipeline, input.measurement);
    if (scaled) scaledNames.push(pipeline.name);
    runs += n;
    activity += n * counts.activityExecutions;
    orchestrator += n * counts.orchestratorExecutions;
    durableTimers += n * counts.durableTimers;
    tableOps += n * counts.tableOperations;
    kvReads += n * counts.keyVaultReads;
    dbtRuns += n * pipeline.steps.filter((s) => s.kind === 'dbt' && s.runner.type === 'containerAppsJob').length;
  }
  const m = input.measurement;
  const measuredBasis = `per ${m.pipeline} run (measured): ${m.activityExecutions} activity + ${m.orchestratorExecutions} orchestrator executions, ${m.durableTimers} timers, ${m.tableOperations} table ops, ${m.keyVaultReads} Key Vault reads${scaledNames.length > 0 ? `; ${scaledNames.join(', ')} scaled by step count` : ''}`;

  const lines: CostLine[] = [];
  const add = (name: string, monthly: number, basis: string) => lines.push({ name, monthly: round4(Math.max(0, monthly)), basis });

  // Functions: on-demand executions and GB-s after the Flex free grants; always-ready baseline.
  const executions = activity + orchestrator + timers.count + a.otherTimerInvocations;
  const freeExec = p('flexOnDemandFreeExecutions');
  add(
    'Functions executions',
    ((executions - freeExec) / 1_000_000) * p('flexOnDemandExecutionsPerMillion'),
    `${fmtCount(runs)} runs/month × (${fmtCount(activity / Math.max(runs, 1))} activity + ${fmtCount(orchestrator / Math.max(runs, 1))} orchestrator) + ${fmtCount(timers.count)} scheduler timers (${timers.basis}) + ${fmtCount(a.otherTimerInvocations)} retention = ${fmtCount(executions)} executions; ${fmtCount(freeExec)} free`,
  );
  const memGb = infra.instanceMemoryMB / 1024;
  const gbs = executions * a.billedSecondsPerExecution * memGb;
  const freeGbs = p('flexOnDemandFreeGbSeconds');
  add(
    'Functions on-demand GB-s',
    (gbs - freeGbs) * p('flexOnDemandGbSecond'),
    `${fmtCount(executions)} executions × ${a.billedSecondsPerExecution} s (assumed) × ${memGb} GB (instanceMemoryMB ${infra.instanceMemoryMB}) = ${fmtCount(gbs)} GB-s; ${fmtCount(freeGbs)} free`,
  );
  add(
    'Functions always-ready',
    infra.durableAlwaysReady * memGb * SECONDS_PER_MONTH * p('flexAlwaysReadyBaselineGbSecond'),
    `durableAlwaysReady ${infra.durableAlwaysReady} × ${memGb} GB × ${fmtCount(SECONDS_PER_MONTH)} s × ${cur === 'EUR' ? '€' : `${cur} `}${prices.prices.flexAlwaysReadyBaselineGbSecond.price}/GB-s`,
  );

  // Storage: the Durable backend's idle polling, its per-run traffic, and the run store.
  const idlePolls = infra.durableBackend === 'AzureStorage' ? (a.durableQueues * SECONDS_PER_MONTH) / infra.maxQueuePollingSeconds : 0;
  // Per orchestrator execution: dequeue, delete, history write, instance row (4); per activity: enqueue, dequeue, delete, result enqueue (4); per timer: enqueue (1).
  const durablePerRun = 4 * orchestrator + 4 * activity + durableTimers;
  const storageTx = idlePolls + (infra.durableBackend === 'AzureStorage' ? durablePerRun : 0) + tableOps;
  add(
    'Storage transactions',
    (storageTx / 10_000) * p('storageTransactionsPer10k'),
    infra.durableBackend === 'AzureStorage'
      ? `idle polling ${a.durableQueues} queues × ${fmtCount(SECONDS_PER_MONTH)} s/month ÷ ${infra.maxQueuePollingSeconds} s = ${fmtCount(idlePolls)} (host.json maxQueuePollingInterval ${timeSpan(infra.maxQueuePollingSeconds)}); Durable per run ≈ 4 × orchestrator + 4 × activity executions + timers = ${fmtCount(durablePerRun)}; run store ${fmtCount(tableOps)} table ops; total ${fmtCount(storageTx)}`
      : `durableBackend ${infra.durableBackend}: no Azure Storage queue polling; run store ${fmtCount(tableOps)} table ops (the scheduler's own bill is not priced here)`,
  );
  add('Key Vault', (kvReads / 10_000) * p('keyVaultOperationsPer10k'), `${fmtCount(kvReads)} secret reads (cold cache every run) × ${money(prices.prices.keyVaultOperationsPer10k.price, cur)}/10,000`);

  const gb = (executions * a.telemetryKbPerExecution) / 1024 / 1024;
  const freeGb = p('logAnalyticsFreeGb');
  add('Log Analytics', (gb - freeGb) * p('logAnalyticsPerGb'), `${fmtCount(executions)} executions × ${a.telemetryKbPerExecution} KB (assumed, quiet host.json levels) = ${gb.toFixed(3)} GB; ${freeGb} GB free`);

  if (infra.alert.kind === 'metric') {
    add('Alert (failed or late run)', infra.alert.timeSeries * p('metricAlertPerTimeSeries'), `metric alert, ${infra.alert.timeSeries} time series (infra/app/alerts.bicep)`);
  } else {
    const every = infra.alert.evaluationMinutes;
    const price = every >= 15 ? p('logAlertPerMonthAt15Min') : every >= 10 ? p('logAlertPerMonthAt10Min') : p('logAlertPerMonthAt5Min');
    add('Alert (failed or late run)', price, `log alert evaluated every ${every} min (infra/app/alerts.bicep evaluationFrequency)`);
  }

  if (infra.enableDbtJob) {
    const vcpuS = dbtRuns * a.dbtJobSeconds * infra.dbtJobVcpu;
    const gibS = dbtRuns * a.dbtJobSeconds * infra.dbtJobMemoryGiB;
    const cost = Math.max(0, vcpuS - p('containerAppsFreeVcpuSeconds')) * p('containerAppsVcpuSecond') + Math.max(0, gibS - p('containerAppsFreeGibSeconds')) * p('containerAppsGibSecond');
    add(
      'Container Apps job (dbt)',
      cost,
      `${fmtCount(dbtRuns)} executions × ${a.dbtJobSeconds} s (assumed) × ${infra.dbtJobVcpu} vCPU / ${infra.dbtJobMemoryGiB} GiB = ${fmtCount(vcpuS)} vCPU-s, ${fmtCount(gibS)} GiB-s; ${fmtCount(prices.prices.containerAppsFreeVcpuSeconds.price)} vCPU-s and ${fmtCount(prices.prices.containerAppsFreeGibSeconds.price)} GiB-s free`,
    );
  } else {
    add('Container Apps job (dbt)', 0, 'enableDbtJob false');
  }
  add(
    'Container registry',
    infra.dbtUsePrivateRegistry ? p('containerRegistryBasicPerMonth') : 0,
    infra.dbtUsePrivateRegistry ? 'dbtUsePrivateRegistry true: Basic registry' : 'dbtUsePrivateRegistry false: public dbt image, no registry',
  );

  const total = round4(lines.reduce((x, l) => x + l.monthly, 0));
  const unconfirmed = [...used].filter((n) => !prices.prices[n].confirmed);
  return { currency: cur, region: prices.region, lines, total, schedules: fires, unconfirmed, perRun: measuredBasis };
}
