/**
 * Our estimate (src/cost) against the independent model (bench/cost/independentModel.mjs, built
 * from public sources by a developer who never saw src/cost), line by line, on the shipped
 * configuration and on ten pipelines. Their configuration keys are set to what this project ships
 * (host.json partitionCount and polling; the Flex idle scale-in our rates.ts uses).
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { estimateMonthlyCost, readInfraParameters, RATES, seedRunMeasurement, shippedPrices, type CostEstimate } from '../../src/cost';
import { timesTen } from '../../src/cost/compare';
import { loadDefinitions } from '../../src/pipelines/definitions';

interface TheirLine { readonly name: string; readonly monthly: number }
interface TheirModel {
  model(config: Record<string, unknown>): { total: number; lines: readonly TheirLine[] };
  SCENARIOS: Record<string, Record<string, unknown>>;
}

/** Our line → the prefixes of theirs that price the same thing. */
export const LINE_MAP: readonly (readonly [string, readonly string[]])[] = [
  ['Storage: scale controller polling', ['(a)']],
  ['Storage: Durable messages and history', ['(d)']],
  ['Storage: instances while up (polling, leases, locks)', ['(b)', '(b2)', '(c)', '(f)']],
  ['Storage: run records', ['(e)']],
  ['Functions on-demand executions', ['Functions Flex: on-demand executions']],
  ['Functions on-demand GB-s', ['Functions Flex: on-demand execution time']],
  ['Functions always-ready', ['Functions Flex: always-ready']],
  ['Durable Task Scheduler', ['Durable Task Scheduler']],
  ['Key Vault', ['Key Vault']],
  ['Log Analytics', ['Log Analytics']],
  ['Alert (failed or late run)', ['Azure Monitor']],
  ['Container Apps job (dbt)', ['Container Apps']],
  ['Container registry', ['Container registry', 'Azure Container Registry']],
  ['(no line: storage capacity)', ['Storage capacity']],
];

export interface SideBySide {
  readonly workload: string;
  readonly ours: number;
  readonly theirs: number;
  readonly rows: readonly { readonly name: string; readonly ours: number; readonly theirs: number }[];
}

async function loadTheirs(): Promise<TheirModel> {
  return (await import(pathToFileURL(path.join(__dirname, 'independentModel.mjs')).href)) as TheirModel;
}

export async function sideBySide(): Promise<SideBySide[]> {
  const theirs = await loadTheirs();
  const infra = await readInfraParameters(path.join(__dirname, '..', '..'));
  const shipped = { partitionCount: infra.partitionCount, maxQueuePollingIntervalSeconds: infra.maxQueuePollingSeconds, durableAlwaysReady: infra.durableAlwaysReady, instanceMemoryMB: infra.instanceMemoryMB, instanceLingerSeconds: RATES.idleKeepAliveSeconds.value };
  // The seed alone: the independent model prices the seed's workload, whatever else the catalog holds.
  const catalog = loadDefinitions().pipelines.filter((p) => p.name === 'data-pipeline');
  const ours = (pipelines: typeof catalog): CostEstimate => estimateMonthlyCost({ pipelines, infra, measurement: seedRunMeasurement(), prices: shippedPrices() });
  const pair = (workload: string, e: CostEstimate, t: { total: number; lines: readonly TheirLine[] }): SideBySide => ({
    workload,
    ours: e.total,
    theirs: t.total,
    rows: LINE_MAP.map(([name, prefixes]) => ({
      name,
      ours: e.lines.find((l) => l.name === name)?.monthly ?? 0,
      theirs: t.lines.filter((l) => prefixes.some((p) => l.name.startsWith(p))).reduce((a, l) => a + l.monthly, 0),
    })),
  });
  return [
    pair('shipped defaults, the seed', ours(catalog), theirs.model(shipped)),
    pair('ten pipelines', ours(timesTen(catalog)), theirs.model({ ...theirs.SCENARIOS['tenPipelines'], ...shipped })),
  ];
}

export async function run(): Promise<string[]> {
  const out: string[] = [];
  for (const s of await sideBySide()) {
    out.push(`${s.workload}: ours €${s.ours.toFixed(2)}, independent €${s.theirs.toFixed(2)} → ratio ${(s.ours / s.theirs).toFixed(2)} (target 0.80–1.20)`);
    for (const r of s.rows) out.push(`  ${r.name.padEnd(54)} €${r.ours.toFixed(3).padStart(7)}  €${r.theirs.toFixed(3).padStart(7)}`);
  }
  return out;
}
