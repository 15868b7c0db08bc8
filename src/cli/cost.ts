/**
 * `durable-pipelines cost [--json]`: the monthly estimate for the definitions in this project,
 * computed locally (no server): schedules from the catalog, parameters from infra/ and host.json,
 * per-run counts from the committed measurement, prices from the price table.
 */
import type { Command } from 'commander';
import { costJson, estimateMonthlyCost, InfraReadError, loadPrices, PriceTableError, readInfraParameters, seedRunMeasurement, type CostEstimate } from '../cost';
import { loadCatalog } from '../pipelines/catalog';
import { pipelineInputs } from '../pipelines/definitions';
import { CliError, EXIT } from './exitCodes';
import { table } from './table';

interface CostOptions {
  prices?: string;
  project: string;
  set: string[];
}

function parseSets(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CliError(`--set ${pair}: expected name=value`, EXIT.invalid);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

export async function costEstimate(opts: CostOptions): Promise<CostEstimate> {
  try {
    const [prices, infra] = await Promise.all([loadPrices(opts.prices), readInfraParameters(opts.project, parseSets(opts.set))]);
    return estimateMonthlyCost({ pipelines: loadCatalog(pipelineInputs).pipelines, infra, measurement: seedRunMeasurement(), prices });
  } catch (error) {
    if (error instanceof InfraReadError || error instanceof PriceTableError) throw new CliError(error.message, EXIT.invalid);
    throw error;
  }
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

export function addCostCommand(program: Command, print: (data: unknown, human: () => string) => void): void {
  program
    .command('cost')
    .description('monthly estimate for the definitions in this project (local: infra/, host.json, price table; no server)')
    .option('--prices <file>', 'price table JSON (default: the shipped src/cost/prices.westeurope.eur.json)')
    .option('--project <dir>', 'project folder holding infra/ and host.json', '.')
    .option('--set <name=value>', 'override a deployment parameter, e.g. durableAlwaysReady=1 (repeatable)', (v: string, all: string[]) => [...all, v], [] as string[])
    .action(async (opts: CostOptions) => {
      const estimate = await costEstimate(opts);
      print(costJson(estimate), () => formatCost(estimate));
    });
}
