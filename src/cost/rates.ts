/**
 * How often the components Azure runs for us touch billed resources: intervals and per-call counts
 * read from their sources (repository and file named with each figure). These are not prices and
 * not the app's behaviour — the app's own counts are measured (measurement.ts) — but they are a
 * large part of the bill of an app that runs a few minutes an hour.
 */

export interface Rate {
  readonly value: number;
  readonly source: string;
}

const rate = (value: number, source: string): Rate => ({ value, source });

export const RATES = {
  /** The scale controller's look at a Durable app's task hub, whether the app runs or not. */
  scaleControllerPulseSeconds: rate(
    10,
    'Durable docs, durable-functions-azure-storage-provider.md "Queue polling": the scale controller polls each control and work-item queue once every 10 seconds, "constant and unconfigurable" (stated for Consumption and Premium; Flex unstated); seen on an idle app in azure-functions-durable-extension#391',
  ),
  /** Queue requests per queue per pulse: a peek (latency) and a get-properties (length). */
  queueOpsPerQueuePerPulse: rate(2, 'durabletask DurableTask.AzureStorage Monitoring/DisconnectedPerformanceMonitor.cs GetQueueMetricsAsync: PeekMessageAsync + GetApproximateMessagesCountAsync for the work-item queue and each control queue'),
  /** Requests per pulse to learn the partition count. */
  partitionReadsPerPulse: rate(2, 'durabletask AzureStorageOrchestrationService.GetControlQueuesAsync: partition table ExistsAsync, then the partition query (table manager) or taskhub.json (blob leases)'),
  /** A Flex instance with nothing to do is removed after about this long. */
  idleKeepAliveSeconds: rate(30, 'Flex Consumption product team, azure-functions-host#10706 (2025-01-14): "anything beyond 30 seconds between tests could have the Flex Consumption app scaled back to zero"'),
  /** The worker's queue polling backs off from 50 ms, doubling, to maxQueuePollingInterval; a message resets it. */
  workerPollMinimumMs: rate(50, 'durabletask DurableTask.AzureStorage Messaging/TaskHubQueue.cs (minPollingDelay 50 ms) and BackoffPollingHelper.cs (randomized doubling up to MaxQueuePollingInterval, reset when a message is found)'),
  /** Partition manager loop while an instance runs. */
  partitionLoopSeconds: rate(10, 'durabletask AzureStorageOrchestrationServiceSettings LeaseAcquireInterval / LeaseRenewInterval = 10 s'),
  /**
   * Blob lease requests per partition per loop with the bundle's Durable 2.x: two lease
   * collections (intent, ownership), each renewing its lease and listing + downloading the lease blobs.
   */
  blobLeaseOpsPerPartitionPerLoop: rate(4, 'durabletask v1.17 (extension bundle 4.x ships Durable 2.x: durable-functions-versions-v3.md "opt out of bundles" for 3.x) Partitioning/SafePartitionManager.cs + LeaseCollectionBalancer.cs: per collection LeaseRenewer renews each lease and LeaseTakerAsync lists and downloads the lease blobs every 10 s'),
  /** Table partition manager: one query of the partitions table + one replace per owned partition per loop. */
  tableLeaseQueriesPerLoop: rate(1, 'durabletask Partitioning/TablePartitionManager.cs PartitionManagerLoop → ReadAndWriteTableAsync: ExecuteQueryAsync, then ReplaceEntityAsync per renewed lease'),
  blobLeaseListsPerLoop: rate(2, 'LeaseCollectionBalancer.TakeLeasesAsync → BlobLeaseManager.ListLeasesAsync, one per lease collection'),
  /** The task hub's app lease (UseAppLease, default true). */
  appLeaseRenewSeconds: rate(25, 'durabletask Partitioning/AppLeaseOptions.cs RenewInterval 25 s (LeaseInterval 60 s)'),
  /** The Functions host's primary-host lock. */
  hostLockRenewSeconds: rate(12, 'azure-webjobs-sdk Hosting/PrimaryHostCoordinator.cs: renewal 3 s before LeaseTimeout (PrimaryHostCoordinatorOptions 15 s)'),
  /** The timer trigger's listener lock (a timer function runs on one instance). */
  timerListenerLockRenewSeconds: rate(30, 'azure-webjobs-sdk-extensions Timers/Listener/TimerListener.cs [Singleton(Mode = Listener)]; azure-webjobs-sdk SingletonOptions ListenerLockPeriod 60 s, SingletonManager renews at half the period'),
  /** Timer schedule status blob: read at listener start, written after each fire. */
  timerStatusOpsPerFire: rate(2, 'azure-webjobs-sdk-extensions Timers/Scheduling/StorageScheduleMonitor.cs GetStatusAsync / UpdateStatusAsync'),
  /** Storage requests a host start makes before it runs anything (per partition count P). */
  hostStartRequestsBase: rate(9, 'DurableTask.AzureStorage CreateIfNotExists for the history, instances (and partitions) tables and the lease containers, taskhub.json read, app lease acquire; primary host lock acquire; estimated from AzureStorageOrchestrationService.EnsureTaskHubAsync and PrimaryHostCoordinator'),
  hostStartRequestsPerQueue: rate(2, 'CreateIfNotExists per control and work-item queue, lease acquire per partition (same files)'),
  /** Queue requests per message: put, get (batches of up to 32 amortize it; counted as one), delete. */
  queueOpsPerMessage: rate(3, 'DurableTask.AzureStorage TaskHubQueue.AddMessageAsync, ControlQueue/WorkItemQueue GetMessagesAsync, DeleteMessageAsync'),
  /** Table requests per orchestrator episode: load history, write history batch, update the instance row. */
  tableOpsPerEpisode: rate(3, 'DurableTask.AzureStorage Tracking/AzureTableTrackingStore.cs GetHistoryEventsAsync (query) and UpdateStateAsync (history batch + Instances row)'),
  /** A timer that fires after its orchestration ended: dequeued, its instance read, dropped. */
  tableOpsPerStaleMessage: rate(1, 'DurableTask.AzureStorage: the session loads the instance before discarding a message for a completed execution (OrchestrationSessionManager)'),
  /** Secrets the dbt job's entry script reads from Key Vault at every execution. */
  dbtJobSecretReads: rate(8, 'infra/dbt-job/entrypoint.py DEFAULT_SECRET_ENV: 8 secrets, each read with the job identity'),
  /** A Container Apps job execution runs before its first status answer (container start, project download). */
  dbtJobStartSeconds: rate(60, 'assumed: image start and project download before dbt runs (independent model: 60 s)'),
} as const;

export type RateName = keyof typeof RATES;

/** Polls one queue makes after a message until it backs off to `maxSeconds`: the doubling ramp. */
export function rampPolls(maxSeconds: number): number {
  return Math.max(1, Math.ceil(Math.log2((maxSeconds * 1000) / RATES.workerPollMinimumMs.value)));
}
