/** `durable-pipelines cost`: the monthly estimate for the deployed definitions (docs: README "What it costs"). */
export { estimateMonthlyCost, DEFAULT_ASSUMPTIONS, type CostEstimate, type CostLine, type CostAssumptions } from './estimate';
export { readInfraParameters, PARAMETER_NAMES, HOST_SETTING_NAMES, InfraReadError, type InfraParameters } from './infra';
export { seedRunMeasurement, runMeasurementSchema, countsAtPolls, MEASURED_POLLS, type RunMeasurement, type RunCounts } from './measurement';
export { loadPrices, shippedPrices, PriceTableError, type PriceTable } from './prices';
export { RATES } from './rates';
export { deployedTriggerDesign, firesPerMonth, ncrontabFiresPerMonth, timerInvocationsPerMonth, DEFAULT_TRIGGER_DESIGN, SECONDS_PER_MONTH, type TriggerDesign } from './schedules';
export { compareConfigurations, type Comparison, type ConfigurationRow } from './compare';

import type { CostEstimate } from './estimate';

/** The `--json` shape: what scripts and dashboards read (`{currency, region, lines:[{name, monthly, basis}], total}` plus fields). */
export function costJson(e: CostEstimate, extra: Record<string, unknown> = {}): {
  currency: string;
  region: string;
  lines: { name: string; monthly: number; basis: string; prices: string[] }[];
  total: number;
} & Record<string, unknown> {
  return {
    currency: e.currency,
    region: e.region,
    lines: e.lines.map((l) => ({ name: l.name, monthly: l.monthly, basis: l.basis, prices: [...l.prices] })),
    total: e.total,
    perRun: e.perRun,
    assumptions: e.assumptions,
    ...extra,
  };
}
