/**
 * The monthly estimate: a month of usage (usage.ts) × unit prices (the price table). Every line
 * carries its quantity, its unit price and where both come from (`basis`), so a reader can check
 * it against the bill line by line.
 */
import type { PipelineDefinition } from '../pipelines/schema';
import type { InfraParameters } from './infra';
import type { RunMeasurement } from './measurement';
import type { PriceName, PriceTable } from './prices';
import { RETENTION_SCHEDULE } from '../scheduler/timerPlan';
import { RATES } from './rates';
import { deployedTriggerDesign, fmtCount, SECONDS_PER_MONTH, type ScheduleFires, type TriggerDesign } from './schedules';
import { DEFAULT_ASSUMPTIONS, monthlyUsage, type CostAssumptions, type MonthlyUsage } from './usage';
import { DEFAULT_TRIGGER_WAIT_ASSUMPTIONS, EVENT_GRID_OPS_PER_EVENT, triggerWaitUsage, type TriggerWaitAssumptions } from './triggersAndWaits';

export { DEFAULT_ASSUMPTIONS, type CostAssumptions };

export interface CostLine {
  readonly name: string;
  /** In the price table's currency, per month, rounded to 1/10,000. */
  readonly monthly: number;
  readonly basis: string;
  /** The price-table entries the line multiplies by. */
  readonly prices: readonly PriceName[];
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
  readonly usage: MonthlyUsage;
  readonly assumptions: CostAssumptions;
}

export interface EstimateInput {
  readonly pipelines: readonly PipelineDefinition[];
  readonly infra: InfraParameters;
  readonly measurement: RunMeasurement;
  readonly prices: PriceTable;
  readonly trigger?: TriggerDesign;
  readonly assumptions?: Partial<CostAssumptions>;
  readonly triggerWaitAssumptions?: Partial<TriggerWaitAssumptions>;
  readonly now?: Date;
}

const round4 = (n: number): number => Math.round(n * 10_000) / 10_000;
/** Azure Monitor pricing, log search alerts: each time series beyond the first costs a tenth (USD 0.05 at 15 min). */
const ALERT_EXTRA_SERIES_SHARE = 0.1;

export function estimateMonthlyCost(input: EstimateInput): CostEstimate {
  const a: CostAssumptions = { ...DEFAULT_ASSUMPTIONS, ...input.assumptions };
  const { infra, prices } = input;
  const cur = prices.currency;
  const sym = cur === 'EUR' ? '€' : `${cur} `;
  const u = monthlyUsage({ pipelines: input.pipelines, infra, measurement: input.measurement, trigger: input.trigger ?? deployedTriggerDesign(input.pipelines, input.now), assumptions: a, ...(input.now ? { now: input.now } : {}) });
  const used = new Set<PriceName>();
  const p = (name: PriceName): number => {
    used.add(name);
    return prices.prices[name].price;
  };
  const unit = (name: PriceName): string => `${sym}${prices.prices[name].price} per ${prices.prices[name].unit}`;
  const lines: CostLine[] = [];
  const add = (name: string, monthly: number, basis: string, names: PriceName[]) => {
    names.forEach((n) => used.add(n));
    lines.push({ name, monthly: round4(Math.max(0, monthly)), basis, prices: names });
  };
  const storage = infra.durableBackend === 'AzureStorage';
  const memGb = infra.instanceMemoryMB / 1024;
  const c = u.perRun;
  const alwaysReady = infra.durableAlwaysReady > 0;

  // ── Functions ────────────────────────────────────────────────────────────────────────────────
  const onDemandExec = alwaysReady ? u.timerExecutions : u.durableExecutions + u.timerExecutions;
  add(
    'Functions on-demand executions',
    (Math.max(0, onDemandExec - p('flexOnDemandFreeExecutions')) / 1e6) * p('flexOnDemandExecutionsPerMillion'),
    `${alwaysReady ? '' : `${fmtCount(u.runs)} runs × (${fmtCount(c.orchestratorExecutions)} orchestrator episodes + ${fmtCount(c.activityExecutions)} activities, measured at ${a.pollsPerJob} polls per long job) + `}${fmtCount(u.timerInvocations.count)} scheduler timers (${u.timerInvocations.basis}) + ${fmtCount(u.retentionInvocations)} retention purges (timer '${RETENTION_SCHEDULE}') = ${fmtCount(onDemandExec)}; ${fmtCount(p('flexOnDemandFreeExecutions'))} free; ${unit('flexOnDemandExecutionsPerMillion')}`,
    ['flexOnDemandExecutionsPerMillion', 'flexOnDemandFreeExecutions'],
  );
  const onDemandPeriods = (alwaysReady ? 0 : u.durableActivePeriods) + u.timerActivePeriods;
  const onDemandGbs = onDemandPeriods * a.billedSecondsPerActivePeriod * memGb;
  add(
    'Functions on-demand GB-s',
    Math.max(0, onDemandGbs - p('flexOnDemandFreeGbSeconds')) * p('flexOnDemandGbSecond'),
    `${fmtCount(onDemandPeriods)} active periods (${alwaysReady ? '' : `${fmtCount(u.runs)} runs × ${fmtCount(c.activePeriods)} bursts of work, measured, + `}${fmtCount(u.timerActivePeriods)} timer invocations) × ${a.billedSecondsPerActivePeriod} s (Flex's minimum billable period, assumed enough) × ${memGb} GB (instanceMemoryMB ${infra.instanceMemoryMB}) = ${fmtCount(onDemandGbs)} GB-s; ${fmtCount(p('flexOnDemandFreeGbSeconds'))} free; ${unit('flexOnDemandGbSecond')}`,
    ['flexOnDemandGbSecond', 'flexOnDemandFreeGbSeconds'],
  );
  const arGbs = u.durableActivePeriods * a.billedSecondsPerActivePeriod * memGb;
  add(
    'Functions always-ready',
    alwaysReady
      ? infra.durableAlwaysReady * memGb * SECONDS_PER_MONTH * p('flexAlwaysReadyBaselineGbSecond') + arGbs * p('flexAlwaysReadyExecutionGbSecond') + (u.durableExecutions / 1e6) * p('flexAlwaysReadyExecutionsPerMillion')
      : 0,
    alwaysReady
      ? `baseline ${infra.durableAlwaysReady} × ${memGb} GB × ${fmtCount(SECONDS_PER_MONTH)} s × ${unit('flexAlwaysReadyBaselineGbSecond')} + ${fmtCount(u.durableExecutions)} Durable executions on it in ${fmtCount(u.durableActivePeriods)} active periods (${fmtCount(arGbs)} GB-s × ${unit('flexAlwaysReadyExecutionGbSecond')}, executions × ${unit('flexAlwaysReadyExecutionsPerMillion')}); no free grant on always-ready`
      : `durableAlwaysReady 0: the Durable group scales to zero`,
    ['flexAlwaysReadyBaselineGbSecond', 'flexAlwaysReadyExecutionGbSecond', 'flexAlwaysReadyExecutionsPerMillion'],
  );

  // ── Storage ──────────────────────────────────────────────────────────────────────────────────
  const q = (ops: number) => (ops / 10_000) * p('queueOperationsPer10k');
  const t = (ops: number) => (ops / 10_000) * p('tableTransactionsPer10k');
  const queues = infra.partitionCount + 1;
  add(
    'Storage: scale controller polling',
    storage ? q(u.scaleQueueOps) + t(u.scalePartitionReads) : 0,
    storage
      ? `${fmtCount(u.pulses)} pulses (every ${RATES.scaleControllerPulseSeconds.value} s, all month, scaled to zero or not) × ${RATES.queueOpsPerQueuePerPulse.value} requests × ${queues} queues (partitionCount ${infra.partitionCount} + work items) = ${fmtCount(u.scaleQueueOps)} queue ops × ${unit('queueOperationsPer10k')} + ${fmtCount(u.scalePartitionReads)} partition reads × ${unit('tableTransactionsPer10k')}`
      : `durableBackend ${infra.durableBackend}: the scale controller asks the scheduler, no storage account polling`,
    ['queueOperationsPer10k', 'tableTransactionsPer10k'],
  );
  add(
    'Storage: Durable messages and history',
    storage ? q(u.durableQueueOps) + t(u.durableTableOps) : 0,
    storage
      ? `${fmtCount(u.runs)} runs × (${fmtCount(c.controlQueueMessages)} control + ${fmtCount(c.workItemMessages)} work-item messages + ${fmtCount(c.timersPendingAtEnd)} timers firing after the end) × ${RATES.queueOpsPerMessage.value} (put, get, delete) = ${fmtCount(u.durableQueueOps)} queue ops × ${unit('queueOperationsPer10k')}; ${fmtCount(u.orchestratorExecutions)} episodes × ${RATES.tableOpsPerEpisode.value} (history read, history batch, instance row) + instances + stale timers = ${fmtCount(u.durableTableOps)} table ops × ${unit('tableTransactionsPer10k')}`
      : `durableBackend ${infra.durableBackend}: history and messages live in the scheduler`,
    ['queueOperationsPer10k', 'tableTransactionsPer10k'],
  );
  const blobOther = u.leaseRenewOps + u.hostLockOps + u.timerLockOps;
  add(
    'Storage: instances while up (polling, leases, locks)',
    q(u.workerQueuePolls + u.hostStartRequests) + t(u.leaseTableOps) + (blobOther / 10_000) * p('blobOtherOperationsPer10k') + ((u.leaseListOps + u.timerStatusOps / 2) / 10_000) * p('blobWriteOperationsPer10k') + ((u.leaseReadOps + u.timerStatusOps / 2) / 10_000) * p('blobReadOperationsPer10k'),
    `Durable group up ${fmtCount(u.durableAwakeSeconds / 3600)} h/month (${alwaysReady ? `${infra.durableAlwaysReady} always-ready instance all month` : `${fmtCount(u.runs)} runs × ${fmtCount(c.awakeSeconds)} s (measured work, ${fmtCount(c.wakeUps)} starts: a gap + the ${fmtCount(infra.maxQueuePollingSeconds / 2)} s mean wait for the next queue poll longer than the ${RATES.idleKeepAliveSeconds.value} s an idle instance lives) + ${fmtCount(c.staleWakeUps * u.runs)} wake-ups for timers firing after a run`}), ${fmtCount(u.durableWakeUps)} starts from zero; ` +
      `worker queue polls ${fmtCount(u.workerQueuePolls)} (${queues} queues, back-off to ${infra.maxQueuePollingSeconds} s) + host starts ${fmtCount(u.hostStartRequests)} × ${unit('queueOperationsPer10k')}; ` +
      (infra.tablePartitionManagement
        ? `partition table (useTablePartitionManagement) ${fmtCount(u.leaseTableOps)} × ${unit('tableTransactionsPer10k')}; `
        : `blob partition leases (bundle default): lists ${fmtCount(u.leaseListOps)} × ${unit('blobWriteOperationsPer10k')}, reads ${fmtCount(u.leaseReadOps)}; `) +
      `lease renewals + app lease + host/timer locks ${fmtCount(blobOther)} × ${unit('blobOtherOperationsPer10k')}; timer status ${fmtCount(u.timerStatusOps)} (rates: src/cost/rates.ts)`,
    ['queueOperationsPer10k', 'tableTransactionsPer10k', 'blobOtherOperationsPer10k', 'blobWriteOperationsPer10k', 'blobReadOperationsPer10k'],
  );
  add(
    'Storage: run records',
    t(u.runStoreTableOps),
    `${fmtCount(u.runs)} runs × ${fmtCount(c.tableOperations)} run-store table ops (measured) = ${fmtCount(u.runStoreTableOps)} × ${unit('tableTransactionsPer10k')}`,
    ['tableTransactionsPer10k'],
  );
  add(
    'Durable Task Scheduler',
    storage ? 0 : (u.dtsActions / 1e6) * p('durableTaskSchedulerActionsPerMillion'),
    storage
      ? 'durableBackend AzureStorage: not deployed'
      : `${fmtCount(u.runs)} runs × ${fmtCount(u.dtsActions / Math.max(u.runs, 1))} actions (every message dispatched: starts, activities, answers, timers) = ${fmtCount(u.dtsActions)} × ${unit('durableTaskSchedulerActionsPerMillion')} (Consumption SKU; unit price unconfirmed)`,
    ['durableTaskSchedulerActionsPerMillion'],
  );
  add(
    'Key Vault',
    (u.keyVaultReads / 10_000) * p('keyVaultOperationsPer10k'),
    `${fmtCount(u.keyVaultReads)} secret reads (${fmtCount(c.coldPolls ? c.keyVaultReadsColdPolls : c.keyVaultReads)} by the app per run, measured ${c.coldPolls ? 'with each poll on a new instance (the cache lives as long as an idle instance)' : 'on an instance that stays up (300 s cache)'}; + ${RATES.dbtJobSecretReads.value} by each dbt job execution, infra/dbt-job/entrypoint.py) × ${unit('keyVaultOperationsPer10k')}`,
    ['keyVaultOperationsPer10k'],
  );

  // ── Monitoring ───────────────────────────────────────────────────────────────────────────────
  const gb = u.telemetryBytes / 1e9;
  const freeGb = a.logAnalyticsFreeGrantAvailable ? p('logAnalyticsFreeGb') : 0;
  add(
    'Log Analytics',
    Math.max(0, gb - freeGb) * p('logAnalyticsPerGb'),
    `${fmtCount(u.telemetryRows)} rows (host.json: ${fmtCount(u.telemetryRows - u.runs * c.appLogLines)} Executing/Executed/request rows for ${fmtCount(u.durableExecutions + u.timerExecutions)} invocations + ${fmtCount(c.appLogLines)} app lines per run, measured) × ${a.bytesPerTelemetryRow} B (assumed) + ${fmtCount(u.dbtExecutions)} dbt job logs × ${fmtCount(a.dbtJobLogBytes)} B (assumed) = ${gb.toFixed(3)} GB; ${freeGb} GB free${a.logAnalyticsFreeGrantAvailable ? ' (if the billing account does not use it elsewhere)' : ''}; ${unit('logAnalyticsPerGb')}`,
    ['logAnalyticsPerGb', 'logAnalyticsFreeGb'],
  );
  if (infra.alert.kind === 'metric') {
    add('Alert (failed or late run)', infra.alert.timeSeries * p('metricAlertPerTimeSeries'), `metric alert, ${infra.alert.timeSeries} time series × ${unit('metricAlertPerTimeSeries')}`, ['metricAlertPerTimeSeries']);
  } else {
    const every = infra.alert.evaluationMinutes;
    const name: PriceName = every >= 15 ? 'logAlertPerSeriesAt15Min' : every >= 10 ? 'logAlertPerSeriesAt10Min' : 'logAlertPerSeriesAt5Min';
    // The first time series at the rule's price, each further one (a dimension value) at a tenth.
    const extra = Math.max(0, u.alertSeries - 1);
    add(
      'Alert (failed or late run)',
      p(name) * (1 + extra * ALERT_EXTRA_SERIES_SHARE),
      `log alert every ${every} min (infra/app/alerts.bicep), ${infra.alert.splitBy ? `split by ${infra.alert.splitBy}: ${u.alertSeries} time series (one per pipeline)` : '1 time series'}: the first × ${unit(name)}${extra > 0 ? ` + ${extra} × ${ALERT_EXTRA_SERIES_SHARE * 100} % of it` : ''}`,
      [name],
    );
  }

  // ── dbt ──────────────────────────────────────────────────────────────────────────────────────
  if (infra.enableDbtJob) {
    const vcpuS = u.dbtExecutions * u.dbtJobSeconds * infra.dbtJobVcpu;
    const gibS = u.dbtExecutions * u.dbtJobSeconds * infra.dbtJobMemoryGiB;
    add(
      'Container Apps job (dbt)',
      Math.max(0, vcpuS - p('containerAppsFreeVcpuSeconds')) * p('containerAppsVcpuSecond') + Math.max(0, gibS - p('containerAppsFreeGibSeconds')) * p('containerAppsGibSecond'),
      `${fmtCount(u.dbtExecutions)} executions × ${fmtCount(u.dbtJobSeconds)} s (${a.pollsPerJob} polls at the step's pollInterval + ${RATES.dbtJobStartSeconds.value} s start) × ${infra.dbtJobVcpu} vCPU / ${infra.dbtJobMemoryGiB} GiB = ${fmtCount(vcpuS)} vCPU-s, ${fmtCount(gibS)} GiB-s; ${fmtCount(p('containerAppsFreeVcpuSeconds'))} vCPU-s and ${fmtCount(p('containerAppsFreeGibSeconds'))} GiB-s free; ${unit('containerAppsVcpuSecond')}, ${unit('containerAppsGibSecond')}`,
      ['containerAppsVcpuSecond', 'containerAppsGibSecond', 'containerAppsFreeVcpuSeconds', 'containerAppsFreeGibSeconds'],
    );
  } else {
    add('Container Apps job (dbt)', 0, 'enableDbtJob false', []);
  }
  add(
    'Container registry',
    infra.dbtUsePrivateRegistry ? p('containerRegistryBasicPerMonth') : 0,
    infra.dbtUsePrivateRegistry ? `dbtUsePrivateRegistry true: Basic registry ${unit('containerRegistryBasicPerMonth')}` : 'dbtUsePrivateRegistry false: public dbt image, no registry',
    infra.dbtUsePrivateRegistry ? ['containerRegistryBasicPerMonth'] : [],
  );

  // ── Triggers and waits ───────────────────────────────────────────────────────────────────────
  const tw = triggerWaitUsage(input.pipelines, u.schedules, { ...DEFAULT_TRIGGER_WAIT_ASSUMPTIONS, ...input.triggerWaitAssumptions });
  const ta = { ...DEFAULT_TRIGGER_WAIT_ASSUMPTIONS, ...input.triggerWaitAssumptions };
  add(
    'Event Grid (blob-created triggers)',
    (Math.max(0, tw.eventGridOperations - p('eventGridFreeOperations')) / 1e6) * p('eventGridOperationsPerMillion'),
    tw.blobTriggers === 0
      ? 'no blob-created trigger: no Event Grid subscription is used'
      : `${tw.blobTriggers} blob triggers × ${ta.blobEventsPerTriggerPerMonth} events (assumed: one landing a day) × ${EVENT_GRID_OPS_PER_EVENT} operations (ingress, advanced filter, delivery) = ${fmtCount(tw.eventGridOperations)}; ${fmtCount(p('eventGridFreeOperations'))} free; ${unit('eventGridOperationsPerMillion')}`,
    ['eventGridOperationsPerMillion', 'eventGridFreeOperations'],
  );
  add(
    'Waiting steps (waitFor, approval)',
    (tw.executions / 1e6) * p('flexOnDemandExecutionsPerMillion') + tw.checks * a.billedSecondsPerActivePeriod * memGb * p('flexOnDemandGbSecond') + (storage ? q(tw.queueOps) + t(tw.tableOps) : 0),
    tw.waits.length === 0
      ? 'no waitFor or approval step'
      : `${tw.waits.map((w) => `${w.pipeline}.${w.step}: ${fmtCount(w.runsPerMonth)} runs × ${w.checksPerRun} checks`).join(', ')} (each wait assumed ${ta.waitMinutesPerWait} min) = ${fmtCount(tw.checks)} checks; nothing runs between checks (durable timers). Each check: 2 executions (${unit('flexOnDemandExecutionsPerMillion')}, free grant not counted), ${a.billedSecondsPerActivePeriod} s × ${memGb} GB (${unit('flexOnDemandGbSecond')}), ${storage ? `${fmtCount(tw.queueOps / Math.max(tw.checks, 1))} queue + ${fmtCount(tw.tableOps / Math.max(tw.checks, 1))} table ops` : 'scheduler actions counted with the runs'}`,
    ['flexOnDemandExecutionsPerMillion', 'flexOnDemandGbSecond', 'queueOperationsPer10k', 'tableTransactionsPer10k'],
  );

  const total = round4(lines.reduce((x, l) => x + l.monthly, 0));
  const unconfirmed = [...used].filter((n) => !prices.prices[n].confirmed);
  const perRun = `per ${input.measurement.pipeline} run at ${a.pollsPerJob} polls per long job (measured at 1 and 10, src/cost/seed-run.measured.json): ${fmtCount(c.orchestratorExecutions)} orchestrator episodes, ${fmtCount(c.activityExecutions)} activities, ${fmtCount(c.timersCreated)} timers (${fmtCount(c.timersPendingAtEnd)} fire after the run), ${fmtCount(c.tableOperations)} run-store table ops, ${fmtCount(c.keyVaultReads)} Key Vault reads on a warm instance (${fmtCount(c.keyVaultReadsColdPolls)} with each poll on a new one), ${fmtCount(c.appLogLines)} log lines, ${fmtCount(c.runSeconds / 60)} min`;
  return { currency: cur, region: prices.region, lines, total, schedules: u.schedules, unconfirmed, perRun, usage: u, assumptions: a };
}
