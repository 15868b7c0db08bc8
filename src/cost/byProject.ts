/**
 * The estimate broken down by project. The app's part is what it costs with no pipeline at all
 * (always-ready instances, the scheduler's timers, idle queue polling). The rest is shared in
 * proportion to what each project adds on its own (the total with every pipeline minus the total
 * without that project's): free grants make costs not add up (two projects together cost less than
 * the sum of their marginal costs), so marginal costs are the weights, and the shares sum to the
 * total.
 */
import { estimateMonthlyCost, type EstimateInput } from './estimate';

export interface ProjectCost {
  readonly project: string;
  readonly pipelines: readonly string[];
  /** Monthly, in the price table's currency. */
  readonly monthly: number;
}

export interface ProjectBreakdown {
  readonly projects: readonly ProjectCost[];
  /** The app's share, whatever projects run on it. */
  readonly shared: number;
  readonly total: number;
}

const round4 = (n: number): number => Math.round(n * 10_000) / 10_000;

export function costByProject(input: EstimateInput): ProjectBreakdown {
  const total = estimateMonthlyCost(input).total;
  const base = Math.min(total, estimateMonthlyCost({ ...input, pipelines: [] }).total);
  const names = [...new Set(input.pipelines.map((p) => p.project))].sort();
  const marginal = names.map((project) => Math.max(0, total - estimateMonthlyCost({ ...input, pipelines: input.pipelines.filter((p) => p.project !== project) }).total));
  const weights = marginal.reduce((sum, m) => sum + m, 0);
  const projects = names.map((project, i) => ({
    project,
    pipelines: input.pipelines.filter((p) => p.project === project).map((p) => p.name),
    monthly: round4(weights === 0 ? (total - base) / names.length : ((total - base) * (marginal[i] ?? 0)) / weights),
  }));
  return { projects, shared: round4(base), total };
}
