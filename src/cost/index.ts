/** `durable-pipelines cost`: the monthly estimate for the deployed definitions (docs: README "What it costs"). */
export { estimateMonthlyCost, DEFAULT_ASSUMPTIONS, type CostEstimate, type CostLine, type CostAssumptions } from './estimate';
export { readInfraParameters, PARAMETER_NAMES, InfraReadError, type InfraParameters } from './infra';
export { seedRunMeasurement, runMeasurementSchema, type RunMeasurement } from './measurement';
export { loadPrices, shippedPrices, PriceTableError, type PriceTable } from './prices';
export { deployedTriggerDesign, firesPerMonth, ncrontabFiresPerMonth, timerInvocationsPerMonth, DEFAULT_TRIGGER_DESIGN, SECONDS_PER_MONTH, type TriggerDesign } from './schedules';

import type { CostEstimate } from './estimate';

/** The `--json` shape: what scripts and dashboards read. */
export function costJson(e: CostEstimate): { currency: string; region: string; lines: { name: string; monthly: number; basis: string }[]; total: number } {
  return { currency: e.currency, region: e.region, lines: e.lines.map((l) => ({ name: l.name, monthly: l.monthly, basis: l.basis })), total: e.total };
}
