/**
 * `npm run bench -- differential`: the long seed range of the differential check
 * (test/orchestration/differential). Prints how many scenarios ran and, per mismatch kind, how many
 * scenarios showed it and the first seeds. `DIFF_SEEDS=1-2000` picks the range (default 1-500);
 * `DIFF_SHRINK=1` shrinks the first scenario of each kind with fast-check and prints the minimal
 * scenario and its diff (`DIFF_SHRINK_SECONDS` per kind, default 120). Then the forEach scenarios
 * (`DIFF_ITEM_SEEDS`, default 1-100; `0` skips them). `DIFF_CHILD_SEEDS=1-200` (default 1-100) runs
 * the child-run construct (a pipeline step's child run, cancel going down).
 */
import fc from 'fast-check';
import { compare, formatDiff } from '../test/orchestration/differential/compare';
import { runOnEngine, startRig, type DifferentialRig } from '../test/orchestration/differential/driver';
import { buildScenario, drawParameters, itemScenarioOfSeed, rawScenario, scenarioOfSeed } from '../test/orchestration/differential/scenario';
import { childRunScenarioOfSeed, compareChildRun, runChildScenario } from '../test/orchestration/differential/childRuns';
import type { Scenario } from '../test/orchestration/differential/model';

function seedRange(name: string, fallback: string): [number, number] {
  const [from, to] = (process.env[name] ?? fallback).split('-').map(Number);
  if (from === undefined || to === undefined || !Number.isInteger(from) || !Number.isInteger(to) || to < from) throw new Error(`${name} is "first-last", e.g. ${fallback}`);
  return [from, to];
}

/** The child-run construct over a seed range: how many agree, and the first mismatches. */
async function childRuns(rig: DifferentialRig): Promise<string[]> {
  const [from, to] = seedRange('DIFF_CHILD_SEEDS', '1-100');
  const started = Date.now();
  const failing: string[] = [];
  let cancelled = 0;
  for (let seed = from; seed <= to; seed++) {
    const scenario = childRunScenarioOfSeed(seed);
    if (scenario.cancel) cancelled++;
    const { mismatches } = compareChildRun(scenario, await runChildScenario(rig, scenario));
    if (mismatches.length > 0) failing.push(`  seed ${seed}: ${mismatches.slice(0, 3).join(' | ')}`);
  }
  const total = to - from + 1;
  return [`${total} child-run scenarios (seeds ${from}-${to}, ${cancelled} with the parent cancelled) in ${((Date.now() - started) / 1000).toFixed(0)} s: ${total - failing.length} agree with the model`, ...failing.slice(0, 10)];
}

/** Shrinks seed `seed`'s scenario to a smallest one still showing `kind`. */
export async function shrink(rig: DifferentialRig, seed: number, kind: string, seconds: number): Promise<string> {
  let last = '';
  const result = await fc.check(
    fc.asyncProperty(rawScenario, async (raw) => {
      const scenario = buildScenario(raw, `diff-${seed}-min`);
      const actual = await runOnEngine(rig, scenario);
      const comparison = compare(scenario, actual);
      const shows = comparison.mismatches.some((m) => m.kind === kind);
      if (shows) last = formatDiff(`seed ${seed}, shrunk for "${kind}"`, scenario, actual, comparison);
      return !shows;
    }),
    { ...drawParameters(seed), interruptAfterTimeLimit: seconds * 1000, markInterruptAsFailure: false },
  );
  return `${last}\n  (${result.numShrinks} shrinks${result.interrupted ? ', stopped at the time limit' : ''})`;
}

/** Runs seeds `from`–`to` of one kind of scenario; counts per mismatch kind. */
async function runSeeds(rig: DifferentialRig, label: string, scenarioOf: (seed: number) => Scenario, from: number, to: number): Promise<{ lines: string[]; byKind: Map<string, number[]> }> {
  const byKind = new Map<string, number[]>();
  let clean = 0;
  let executionsAbove1 = 0;
  const started = Date.now();
  for (let seed = from; seed <= to; seed++) {
    const scenario = scenarioOf(seed);
    const actual = await runOnEngine(rig, scenario);
    if (actual.executions > 1) executionsAbove1++;
    const kinds = new Set(compare(scenario, actual).mismatches.map((m) => m.kind));
    if (kinds.size === 0) clean++;
    for (const kind of kinds) byKind.set(kind, [...(byKind.get(kind) ?? []), seed]);
  }
  const total = to - from + 1;
  const lines = [`${label}: ${total} scenarios (seeds ${from}-${to}) in ${((Date.now() - started) / 1000).toFixed(0)} s: ${clean} agree with the model, ${total - clean} do not; ${executionsAbove1} continued as new`];
  lines.push('scenarios per mismatch kind (first seeds):');
  const sorted = [...byKind].sort((a, b) => b[1].length - a[1].length || a[0].localeCompare(b[0]));
  for (const [kind, seeds] of sorted) lines.push(`  ${String(seeds.length).padStart(5)}  ${kind}  (${seeds.slice(0, 5).join(', ')})`);
  return { lines, byKind: new Map(sorted) };
}

export async function run(): Promise<string[]> {
  const [from, to] = seedRange('DIFF_SEEDS', '1-500');
  // forEach scenarios (docs/pipelines.md §3), drawn apart from the plain ones: `DIFF_ITEM_SEEDS=0` skips them.
  const items = process.env['DIFF_ITEM_SEEDS'] === '0' ? undefined : seedRange('DIFF_ITEM_SEEDS', '1-100');
  const rig = await startRig();
  const lines: string[] = [];
  try {
    const plain = await runSeeds(rig, 'plain', scenarioOfSeed, from, to);
    lines.push(...plain.lines);
    if (items) lines.push(...(await runSeeds(rig, 'forEach', itemScenarioOfSeed, items[0], items[1])).lines);
    if (process.env['DIFF_SHRINK'] === '1') {
      const seconds = Number(process.env['DIFF_SHRINK_SECONDS'] ?? 120);
      for (const [kind, seeds] of plain.byKind) lines.push(...(await shrink(rig, seeds[0]!, kind, seconds)).split('\n'));
    }
    lines.push(...(await childRuns(rig)));
    return lines;
  } finally {
    await rig.stop();
  }
}
