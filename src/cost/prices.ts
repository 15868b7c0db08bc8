/**
 * The price table `durable-pipelines cost` multiplies by: data, not code (prices.westeurope.eur.json,
 * or the user's own file with --prices). Every unit price names its source and the date it was
 * checked; `confirmed: false` marks a figure not read from the provider's page for this region.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import shipped from './prices.westeurope.eur.json';

const priceSchema = z.object({
  price: z.number().min(0),
  /** The USD list price the EUR figure was converted from (× the table's usdToEur). */
  usd: z.number().min(0).optional(),
  unit: z.string().min(1),
  source: z.string().min(1),
  url: z.string().optional(),
  checked: z.string().regex(/^\d{4}-\d{2}-\d{2}$/u, 'a date, YYYY-MM-DD'),
  confirmed: z.boolean(),
});

export const PRICE_NAMES = [
  'flexOnDemandGbSecond',
  'flexOnDemandExecutionsPerMillion',
  'flexOnDemandFreeGbSeconds',
  'flexOnDemandFreeExecutions',
  'flexAlwaysReadyBaselineGbSecond',
  'flexAlwaysReadyExecutionGbSecond',
  'flexAlwaysReadyExecutionsPerMillion',
  'queueOperationsPer10k',
  'tableTransactionsPer10k',
  'blobWriteOperationsPer10k',
  'blobReadOperationsPer10k',
  'blobOtherOperationsPer10k',
  'keyVaultOperationsPer10k',
  'logAnalyticsPerGb',
  'logAnalyticsFreeGb',
  'logAlertPerSeriesAt5Min',
  'logAlertPerSeriesAt10Min',
  'logAlertPerSeriesAt15Min',
  'metricAlertPerTimeSeries',
  'containerAppsVcpuSecond',
  'containerAppsGibSecond',
  'containerAppsFreeVcpuSeconds',
  'containerAppsFreeGibSeconds',
  'containerRegistryBasicPerMonth',
  'durableTaskSchedulerActionsPerMillion',
  'eventGridOperationsPerMillion',
  'eventGridFreeOperations',
] as const;
export type PriceName = (typeof PRICE_NAMES)[number];

export const priceTableSchema = z.object({
  region: z.string().min(1),
  currency: z.string().length(3),
  /** EUR per USD used for entries given in USD. */
  usdToEur: z.number().positive().optional(),
  note: z.string().optional(),
  prices: z.object(Object.fromEntries(PRICE_NAMES.map((n) => [n, priceSchema])) as Record<PriceName, typeof priceSchema>).strict(),
});
export type PriceTable = z.infer<typeof priceTableSchema>;

export class PriceTableError extends Error {
  override readonly name = 'PriceTableError';
}

function parseTable(value: unknown, where: string): PriceTable {
  const result = priceTableSchema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  throw new PriceTableError(`${where}: ${issues.join('; ')}`);
}

export function shippedPrices(): PriceTable {
  return parseTable(shipped, 'src/cost/prices.westeurope.eur.json');
}

export async function loadPrices(file: string | undefined): Promise<PriceTable> {
  if (file === undefined) return shippedPrices();
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new PriceTableError(`${file}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new PriceTableError(`${file}: not JSON (${(error as Error).message})`);
  }
  return parseTable(json, file);
}
