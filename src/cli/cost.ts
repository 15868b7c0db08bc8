/**
 * `durable-pipelines cost [--json]`: the monthly estimate for the definitions in this project,
 * computed locally (no server): schedules from the catalog, parameters from infra/ and host.json,
 * per-run counts from the committed measurement, prices from the price table.
 */
import type { Command } from 'commander';
import { compareConfigurations, costJson, estimateMonthlyCost, InfraReadError, loadPrices, PriceTableError, readInfraParameters, seedRunMeasurement, type Comparison, type CostEstimate } from '../cost';
import { timesTen } from '../cost/compare';
import type { EstimateInput } from '../cost/estimate';
import { costByProject, type ProjectBreakdown } from '../cost/byProject';
import { loadDefinitions } from '../pipelines/definitions';
import { CliError, EXIT } from './exitCodes';
import { table } from './table';

interface CostOptions {
  prices?: string;
  project: string;
  set: string[];
  /** Polls each long job takes (default: the estimate's assumption, 10). */
  polls?: string;
  /** Price ten copies of the project's pipelines. */
  tenPipelines?: boolean;
  compare?: boolean;
  /** Price only these pipelines of the catalog (default: all). */
  pipeline?: string[];
}

function parseSets(pairs: readonly string[]): Record<string, string> {
  // No prototype: `--set __proto__=1` is a name like any other, refused as not a cost parameter.
  const out = Object.create(null) as Record<string, string>;
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CliError(`--set ${pair}: expected name=value`, EXIT.invalid);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

async function estimateInput(opts: CostOptions): Promise<EstimateInput> {
  try {
    const [prices, infra] = await Promise.all([loadPrices(opts.prices), readInfraParameters(opts.project, parseSets(opts.set))]);
    const polls = opts.polls === undefined ? undefined : Number(opts.polls);
    if (polls !== undefined && (!Number.isInteger(polls) || polls < 1)) throw new CliError(`--polls ${opts.polls}: a whole number of polls per long job, 1 or more`, EXIT.invalid);
    const all = loadDefinitions().pipelines;
    const unknown = (opts.pipeline ?? []).filter((name) => !all.some((p) => p.name === name));
    if (unknown.length > 0) throw new CliError(`--pipeline ${unknown.join(', ')}: no such pipeline (known: ${all.map((p) => p.name).join(', ')})`, EXIT.invalid);
    const catalog = opts.pipeline && opts.pipeline.length > 0 ? all.filter((p) => opts.pipeline?.includes(p.name)) : all;
    return {
      pipelines: opts.tenPipelines ? timesTen(catalog) : catalog,
      infra,
      measurement: seedRunMeasurement(),
      prices,
      ...(polls === undefined ? {} : { assumptions: { pollsPerJob: polls } }),
    };
  } catch (error) {
    if (error instanceof InfraReadError || error instanceof PriceTableError) throw new CliError(error.message, EXIT.invalid);
    throw error;
  }
}

export async function costEstimate(opts: CostOptions): Promise<CostEstimate> {
  return estimateMonthlyCost(await estimateInput(opts));
}

export async function costComparison(opts: CostOptions): Promise<Comparison> {
  return compareConfigurations(await estimateInput(opts));
}

export function formatComparison(c: Comparison): string {
  const sym = c.currency === 'EUR' ? '€' : `${c.currency} `;
  const money = (n: number) => `${sym}${n.toFixed(2)}`;
  const rows = c.rows.map((r) => [r.name, money(r.total), r.delta === 0 ? '' : `${r.delta > 0 ? '+' : '−'}${money(Math.abs(r.delta))}`, money(r.tenPipelines), r.latency.firstStep, r.latency.retryWait, r.latency.poll]);
  return [
    table(['CONFIGURATION', 'MONTHLY', 'CHANGE', '×10 PIPELINES', 'FIRST STEP AFTER IDLE', 'A RETRY WAIT', 'A POLL'], rows),
    '',
    `Shipped defaults range: ${money(c.range.low)}–${money(c.range.high)} (${c.range.basis}).`,
    'Latency: worst case added by the platform, from the components\' sources (src/cost/rates.ts); cold starts not included.',
  ].join('\n');
}

export function formatCost(e: CostEstimate): string {
  const sym = e.currency === 'EUR' ? '€' : `${e.currency} `;
  const amount = (n: number) => `${sym}${n > 0 && n < 0.01 ? n.toFixed(4) : n.toFixed(2)}`;
  const rows = e.lines.map((l) => [l.name, amount(l.monthly), l.basis]);
  rows.push(['TOTAL', amount(e.total), `${e.region}, list prices`]);
  const fires = e.schedules.map((s) => `  ${s.pipeline}/${s.schedule} (${s.cron} ${s.timezone}): ${s.perMonth.toFixed(1)} runs/month`).join('\n');
  return [
    table(['LINE', 'MONTHLY', 'BASIS'], rows),
    '',
    'Schedules (a year of slots ÷ 12):',
    fires || '  (none enabled)',
    `Per run: ${e.perRun}.`,
    e.unconfirmed.length > 0 ? `Unconfirmed prices (edit the table or pass --prices FILE): ${e.unconfirmed.join(', ')}.` : 'Every price used is confirmed.',
  ].join('\n');
}

export function formatByProject(b: ProjectBreakdown, currency: string): string {
  const sym = currency === 'EUR' ? '€' : `${currency} `;
  const amount = (n: number) => `${sym}${n > 0 && n < 0.01 ? n.toFixed(4) : n.toFixed(2)}`;
  return [
    'By project (what each project\'s pipelines add; the app\'s share is paid whichever projects run):',
    table(['PROJECT', 'MONTHLY', 'PIPELINES'], [...b.projects.map((p) => [p.project, amount(p.monthly), p.pipelines.join(', ')]), ['(app, shared)', amount(b.shared), '-'], ['TOTAL', amount(b.total), '-']]),
  ].join('\n');
}

export function addCostCommand(program: Command, print: (data: unknown, human: () => string) => void): void {
  program
    .command('cost')
    .description('monthly estimate for the definitions in this project (local: infra/, host.json, price table; no server)')
    .option('--prices <file>', 'price table JSON (default: the shipped src/cost/prices.westeurope.eur.json)')
    .option('--project <dir>', 'project folder holding infra/ and host.json', '.')
    .option('--set <name=value>', 'override a deployment parameter or host.json setting, e.g. durableAlwaysReady=1, partitionCount=4, maxQueuePollingSeconds=30 (repeatable)', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--polls <n>', 'polls each long job (export, COPY INTO, dbt) takes (default 10: a 5-minute job polled every 30 s)')
    .option('--pipeline <name>', 'price only this pipeline of the catalog (repeatable; default: every pipeline)', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--ten-pipelines', 'price ten copies of the project\'s pipelines, each with its schedules')
    .option('--compare', 'compare configurations (backends, always-ready, polling, partitions, polls per job) and their latency')
    .action(async (opts: CostOptions) => {
      if (opts.compare) {
        const comparison = await costComparison(opts);
        print(comparison, () => formatComparison(comparison));
        return;
      }
      const input = await estimateInput(opts);
      const estimate = estimateMonthlyCost(input);
      const comparison = compareConfigurations(input);
      // Several projects: each one's share (src/cost/byProject.ts); one project prints what it always did.
      const byProject = new Set(input.pipelines.map((p) => p.project)).size > 1 ? costByProject(input) : undefined;
      print({ ...costJson(estimate, { range: comparison.range }), ...(byProject ? { byProject } : {}) }, () =>
        `${formatCost(estimate)}\nRange: ${estimate.currency === 'EUR' ? '€' : ''}${comparison.range.low.toFixed(2)}–${comparison.range.high.toFixed(2)} (${comparison.range.basis}).${byProject ? `\n\n${formatByProject(byProject, estimate.currency)}` : ''}`,
      );
    });
}
