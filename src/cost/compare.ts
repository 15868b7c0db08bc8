/**
 * `cost --compare`: the shipped configuration against the alternatives a user can switch to — the
 * other Durable backend, one always-ready instance, Microsoft's Flex guidance, other polling
 * intervals and partition counts, more polls per job — for this project's pipelines and for ten
 * times as many, with what each switch does to latency. Latencies are worst cases read from the
 * components' sources (rates.ts), not measured in Azure; a cold start is the Flex platform's and
 * is named rather than guessed.
 */
import type { PipelineDefinition } from '../pipelines/schema';
import { estimateMonthlyCost, type CostEstimate, type EstimateInput } from './estimate';
import type { InfraParameters } from './infra';
import type { PriceName, PriceTable } from './prices';
import { RATES } from './rates';
import type { CostAssumptions } from './usage';

export interface Configuration {
  readonly name: string;
  readonly infra?: Partial<InfraParameters>;
  readonly assumptions?: Partial<CostAssumptions>;
  /** Unit prices replaced (the range's high end). */
  readonly prices?: Partial<Record<PriceName, number>>;
}

function withPrices(table: PriceTable, replaced: Partial<Record<PriceName, number>> = {}): PriceTable {
  const prices = { ...table.prices };
  for (const [name, price] of Object.entries(replaced) as [PriceName, number][]) prices[name] = { ...prices[name], price };
  return { ...table, prices };
}

/** What a user compares against the shipped configuration (applied on top of it). */
export const CONFIGURATIONS: readonly Configuration[] = [
  { name: 'shipped defaults' },
  { name: "Microsoft's Flex guidance: 1 always-ready, polling 10 s (Durable's other defaults)", infra: { durableAlwaysReady: 1, partitionCount: 4, maxQueuePollingSeconds: 10, tablePartitionManagement: false } },
  { name: 'always-ready 1', infra: { durableAlwaysReady: 1 } },
  { name: 'previous defaults: 4 partitions, blob leases, polling 30 s', infra: { partitionCount: 4, maxQueuePollingSeconds: 30, tablePartitionManagement: false } },
  { name: 'blob partition leases (bundle default)', infra: { tablePartitionManagement: false } },
  { name: 'polling 30 s', infra: { maxQueuePollingSeconds: 30 } },
  { name: '4 partitions (Durable default)', infra: { partitionCount: 4 } },
  { name: 'Durable Task Scheduler (Consumption)', infra: { durableBackend: 'DurableTaskScheduler' } },
  { name: '512 MB instances (app + host leave < 25 % free: bench memory)', infra: { instanceMemoryMB: 512 } },
  { name: 'jobs of 3 polls', assumptions: { pollsPerJob: 3 } },
  { name: 'jobs of 30 polls', assumptions: { pollsPerJob: 30 } },
];

export interface Latency {
  /** First step of a scheduled run after the app was idle. */
  readonly firstStep: string;
  /** A step retried after 60 s (longer than an idle instance lives). */
  readonly retryWait: string;
  /** A job polled every 30 s (and a shorter wait, where the instance is still up). */
  readonly poll: string;
}

export function latencyOf(infra: InfraParameters): Latency {
  const pulse = RATES.scaleControllerPulseSeconds.value;
  const poll = infra.maxQueuePollingSeconds;
  if (infra.durableBackend !== 'AzureStorage') {
    const fromZero = 'scale controller asks the scheduler (interval unpublished) + cold start';
    return infra.durableAlwaysReady > 0
      ? { firstStep: 'pushed to the warm instance (gRPC stream)', retryWait: 'pushed', poll: 'pushed' }
      : { firstStep: fromZero, retryWait: fromZero, poll: `pushed while the instance is up, else ${fromZero}` };
  }
  if (infra.durableAlwaysReady > 0) {
    const late = `≤ ${poll} s (idle queue back-off)`;
    return { firstStep: late, retryWait: late, poll: late };
  }
  const fromZero = `≤ ${pulse} s + cold start`;
  // A 30 s poll outlives an idle instance (usage.ts awakeStretches); a shorter wait finds it up, polling its queues.
  return { firstStep: fromZero, retryWait: fromZero, poll: `${fromZero}; a wait under ${RATES.idleKeepAliveSeconds.value} s: ≤ ${poll} s` };
}

export interface ConfigurationRow {
  readonly name: string;
  readonly total: number;
  readonly tenPipelines: number;
  /** Change against the shipped configuration, this project's pipelines. */
  readonly delta: number;
  readonly latency: Latency;
  readonly lines: readonly { readonly name: string; readonly monthly: number }[];
}

export interface Comparison {
  readonly currency: string;
  readonly rows: readonly ConfigurationRow[];
  /** The shipped configuration's total with the cheapest and dearest assumptions. */
  readonly range: { readonly low: number; readonly high: number; readonly basis: string };
}

/**
 * The "ten pipelines" workload: the project's pipelines as they are plus nine copies of each that
 * keep only their production schedules (a `test`-tagged schedule runs once, not ten times) — ten
 * nightly pipelines and the seed's hourly test, as the independent model defines it.
 */
export function timesTen(pipelines: readonly PipelineDefinition[]): PipelineDefinition[] {
  const copies = Array.from({ length: 9 }, (_, i) =>
    pipelines.map((p) => ({ ...p, name: `${p.name}-${i + 2}`, schedules: p.schedules.filter((s) => !(s.tags ?? []).includes('test')) })),
  );
  return [...pipelines, ...copies.flat()];
}

export function compareConfigurations(base: EstimateInput): Comparison {
  const run = (c: Configuration, pipelines: readonly PipelineDefinition[]): CostEstimate =>
    estimateMonthlyCost({ ...base, pipelines, infra: { ...base.infra, ...c.infra }, assumptions: { ...base.assumptions, ...c.assumptions }, prices: withPrices(base.prices, c.prices) });
  const shipped = run(CONFIGURATIONS[0]!, base.pipelines);
  const rows = CONFIGURATIONS.map((c) => {
    const e = run(c, base.pipelines);
    return {
      name: c.name,
      total: e.total,
      tenPipelines: run(c, timesTen(base.pipelines)).total,
      delta: Math.round((e.total - shipped.total) * 10_000) / 10_000,
      latency: latencyOf({ ...base.infra, ...c.infra }),
      lines: e.lines.map((l) => ({ name: l.name, monthly: l.monthly })),
    };
  });
  const low = run({ name: 'low', assumptions: { pollsPerJob: 3 } }, base.pipelines).total;
  // Table transactions at the queue price: the one unit price the two models could not settle.
  const high = run(
    { name: 'high', assumptions: { pollsPerJob: 30, logAnalyticsFreeGrantAvailable: false, billedSecondsPerActivePeriod: 2 }, prices: { tableTransactionsPer10k: base.prices.prices.queueOperationsPer10k.price } },
    base.pipelines,
  ).total;
  return {
    currency: shipped.currency,
    rows,
    range: { low, high, basis: 'low: jobs of 3 polls; high: jobs of 30 polls, 2 billed s per active period, the 5 GB Log Analytics grant used elsewhere, table transactions at the queue price' },
  };
}
