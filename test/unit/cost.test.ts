/**
 * `durable-pipelines cost`: the estimate on the shipped definitions, infra and price table; that
 * every measured count and every component rate moves it; the configurations it compares; the
 * --json shape.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { buildProgram } from '../../src/cli/main';
import { costComparison, costEstimate } from '../../src/cli/cost';
import {
  deployedTriggerDesign, estimateMonthlyCost, firesPerMonth, ncrontabFiresPerMonth, readInfraParameters, SECONDS_PER_MONTH, seedRunMeasurement, shippedPrices, timerInvocationsPerMonth,
  type RunMeasurement,
} from '../../src/cost';
import { timesTen } from '../../src/cost/compare';
import { checksPerWait } from '../../src/cost/triggersAndWaits';
import { PER_POLL_FIELDS } from '../../src/cost/measurement';
import { DEFAULT_ASSUMPTIONS, JOB_SECONDS } from '../../src/cost/usage';
import { loadCatalog } from '../../src/pipelines/catalog';
import { pipelineInputs } from '../../src/pipelines/definitions';

const line = (e: { lines: readonly { name: string; monthly: number }[] }, name: string): number => {
  const found = e.lines.find((l) => l.name === name);
  assert.ok(found, `no line "${name}"`);
  return found.monthly;
};

/** A copy of the project's infra/ and host.json whose alert rule is evaluated every `frequency`. */
async function projectWithAlertFrequency(frequency: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cost-'));
  await cp('infra', path.join(dir, 'infra'), { recursive: true });
  await cp('host.json', path.join(dir, 'host.json'));
  const file = path.join(dir, 'infra', 'app', 'alerts.bicep');
  const bicep = await readFile(file, 'utf8');
  await writeFile(file, bicep.replace(/evaluationFrequency:\s*'[^']+'/u, `evaluationFrequency: '${frequency}'`));
  return dir;
}

// The seed's own figures, whatever else the catalog holds (README "Adding a pipeline" keeps these tests green).
const pipelines = loadCatalog(pipelineInputs).pipelines.filter((p) => p.name === 'data-pipeline');
const SEED = { project: '.', pipeline: ['data-pipeline'] };
const NOW = new Date('2026-11-29T00:00:00Z');

async function base(overrides: Record<string, string> = {}) {
  return { pipelines, infra: await readInfraParameters('.', overrides), measurement: seedRunMeasurement(), prices: shippedPrices(), now: NOW };
}

describe('cost estimate', () => {
  test('every line has its quantity × unit price and the price-table entries it uses; the total is their sum', async () => {
    const e = await costEstimate({ ...SEED, set: [] });
    assert.equal(e.currency, 'EUR');
    assert.equal(e.region, 'westeurope');
    for (const l of e.lines) {
      assert.ok(l.basis.length > 10, `${l.name} has no basis`);
      if (l.monthly > 0) {
        assert.ok(l.prices.length > 0, `${l.name} names no price`);
        // The unit price is written in the basis, so a reader can redo the multiplication.
        const priced = l.prices.filter((n) => !/Free/u.test(n)).some((n) => l.basis.includes(`€${shippedPrices().prices[n].price} per `));
        assert.ok(priced, `${l.name}: no unit price in "${l.basis}"`);
      }
    }
    assert.ok(Math.abs(e.total - e.lines.reduce((a, l) => a + l.monthly, 0)) < 0.001);
    assert.equal(line(e, 'Functions always-ready'), 0);
    assert.equal(line(e, 'Container registry'), 0);
  });

  test('EUR prices given in USD are the USD list price × the stated rate', () => {
    const table = shippedPrices();
    assert.ok(table.usdToEur);
    for (const [name, p] of Object.entries(table.prices)) {
      if (p.usd === undefined) continue;
      assert.ok(Math.abs(p.price - p.usd * table.usdToEur) <= p.usd * 0.06, `${name}: ${p.price} vs ${p.usd} USD`);
    }
  });

  test('the scale controller polls every queue all month: 2 requests × (partitions + 1) every 10 s', async () => {
    const one = estimateMonthlyCost(await base());
    const four = estimateMonthlyCost(await base({ partitionCount: '4' }));
    const pulses = SECONDS_PER_MONTH / 10;
    assert.equal(Math.round(one.usage.scaleQueueOps), Math.round(pulses * 2 * 2));
    assert.equal(Math.round(four.usage.scaleQueueOps), Math.round(pulses * 2 * 5));
    assert.ok(line(four, 'Storage: scale controller polling') > 2 * line(one, 'Storage: scale controller polling'));
    // The Durable Task Scheduler keeps no task hub in the storage account.
    const dts = estimateMonthlyCost(await base({ durableBackend: 'DurableTaskScheduler' }));
    assert.equal(line(dts, 'Storage: scale controller polling'), 0);
    assert.ok(line(dts, 'Durable Task Scheduler') > 0);
  });

  test('always-ready gets no free grant: baseline all month + its executions at the always-ready rates', async () => {
    const input = await base({ durableAlwaysReady: '1' });
    const warm = estimateMonthlyCost(input);
    const p = shippedPrices().prices;
    const u = warm.usage;
    const gb = input.infra.instanceMemoryMB / 1024;
    // Execution time is billed per active period of the instance (1 s minimum), not per execution.
    const expected = gb * SECONDS_PER_MONTH * p.flexAlwaysReadyBaselineGbSecond.price + u.durableActivePeriods * gb * p.flexAlwaysReadyExecutionGbSecond.price + (u.durableExecutions / 1e6) * p.flexAlwaysReadyExecutionsPerMillion.price;
    assert.ok(Math.abs(line(warm, 'Functions always-ready') - expected) < 0.001);
    assert.ok(u.durableActivePeriods < u.durableExecutions / 2, `${u.durableActivePeriods} periods for ${u.durableExecutions} executions`);
    // The instance is up all month: its polling and leases are billed all month too.
    assert.equal(u.durableAwakeSeconds, SECONDS_PER_MONTH);
    const big = estimateMonthlyCost(await base({ durableAlwaysReady: '1', instanceMemoryMB: '2048' }));
    // The brief's figure: one 2 GB instance all month ≈ €20 of baseline.
    assert.ok(line(big, 'Functions always-ready') > 19 && line(big, 'Functions always-ready') < 25);
  });

  test('a log alert split by pipeline is billed per time series: ten pipelines, ten series (each after the first at a tenth)', async () => {
    const input = await base();
    const one = estimateMonthlyCost(input);
    const ten = estimateMonthlyCost({ ...input, pipelines: timesTen(pipelines) });
    assert.equal(input.infra.alert.kind === 'log' && input.infra.alert.splitBy, 'pipeline');
    assert.equal(ten.usage.alertSeries, 10);
    assert.ok(Math.abs(line(ten, 'Alert (failed or late run)') - 1.9 * line(one, 'Alert (failed or late run)')) < 0.001);
  });

  test('the alert line follows evaluationFrequency in infra/app/alerts.bicep', async () => {
    for (const [frequency, usd] of [['PT15M', 0.5], ['PT5M', 1.5]] as const) {
      const dir = await projectWithAlertFrequency(frequency);
      try {
        assert.equal(line(await costEstimate({ ...SEED, project: dir, set: [] }), 'Alert (failed or late run)'), Math.round(shippedPrices().prices[usd === 0.5 ? 'logAlertPerSeriesAt15Min' : 'logAlertPerSeriesAt5Min'].price * 10_000) / 10_000, frequency);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
  });

  test('every measured count moves the estimate: a timer, a poll, a table operation or a log line more per run costs more', async () => {
    const input = await base();
    // Reads on a warm instance are what an always-ready instance pays; the shipped defaults pay the cold ones.
    const warm = { ...input, infra: { ...input.infra, durableAlwaysReady: 1 } };
    const before = estimateMonthlyCost({ ...input, assumptions: { logAnalyticsFreeGrantAvailable: false } });
    for (const field of PER_POLL_FIELDS) {
      if (field === 'timersFired' || field === 'timersCreated' || field === 'historyEvents' || field === 'executions') continue; // descriptive: priced through messages and episodes
      const where = field === 'keyVaultReads' ? warm : input;
      const bumped: RunMeasurement = { ...input.measurement, runs: input.measurement.runs.map((r) => ({ ...r, [field]: r[field] + 50 })) };
      const was = estimateMonthlyCost({ ...where, assumptions: { logAnalyticsFreeGrantAvailable: false } });
      const after = estimateMonthlyCost({ ...where, measurement: bumped, assumptions: { logAnalyticsFreeGrantAvailable: false } });
      assert.ok(after.total > was.total, `${field} +50 per run left the estimate at ${after.total}`);
    }
    // More polls per job: more executions, messages, awake time and dbt job seconds.
    const more = estimateMonthlyCost({ ...input, assumptions: { pollsPerJob: 20 } });
    assert.ok(more.usage.durableQueueOps > before.usage.durableQueueOps && more.usage.dbtJobSeconds > before.usage.dbtJobSeconds);
  });

  test('the default polls per job is a 5-minute job at the seed\'s poll intervals', () => {
    // A changed pollInterval changes how often a job of the same length is polled: the estimate must follow.
    const intervals = new Map(pipelines.find((p) => p.name === seedRunMeasurement().pipeline)?.steps.map((s) => [s.id, s.pollInterval] as const));
    for (const id of seedRunMeasurement().longJobs) {
      const interval = intervals.get(id);
      assert.ok(interval !== undefined, id);
      assert.equal(DEFAULT_ASSUMPTIONS.pollsPerJob * interval, JOB_SECONDS, `${id}: ${DEFAULT_ASSUMPTIONS.pollsPerJob} polls × ${interval} s`);
    }
  });

  test('per-run counts at N polls follow the two measured runs (linear between 1 and 10)', async () => {
    const input = await base();
    const [one, ten] = input.measurement.runs as [RunMeasurement['runs'][number], RunMeasurement['runs'][number]];
    assert.equal(estimateMonthlyCost({ ...input, assumptions: { pollsPerJob: 1 } }).usage.perRun.activityExecutions, one.activityExecutions);
    assert.equal(estimateMonthlyCost({ ...input, assumptions: { pollsPerJob: 10 } }).usage.perRun.activityExecutions, ten.activityExecutions);
  });

  test("a pipeline step's checks: its start, a fallback poll every pollInterval while the child runs, the check its end wakes", () => {
    const catalog = loadCatalog([
      { name: 'child', title: 'child', steps: [{ id: 'a', kind: 'azureFunction', url: 'https://x.test' }] },
      { name: 'woken', title: 'woken', steps: [{ id: 'call', kind: 'pipeline', pipeline: 'child' }] },
      { name: 'polled', title: 'polled', steps: [{ id: 'call', kind: 'pipeline', pipeline: 'child', pollInterval: '30s' }] },
    ]);
    const call = (name: string) => catalog.get(name)?.steps[0];
    const woken = call('woken');
    const polled = call('polled');
    assert.ok(woken && polled);
    // A child of 60 min: 1 + 12 at the 5-min default (11 fallback polls, then the woken one), 1 + 120 at 30 s.
    assert.equal(checksPerWait(woken, 60), 13);
    assert.equal(checksPerWait(polled, 60), 121);
    assert.equal(checksPerWait(woken, 2), 2, 'a child shorter than one interval: the start and the woken check');
  });

  test('a parameter that does not exist or does not parse is refused, naming it', async () => {
    await assert.rejects(costEstimate({ project: '.', set: ['alwaysReady=1'] }), /--set alwaysReady: not a cost parameter/u);
    await assert.rejects(costEstimate({ project: '.', set: ['durableAlwaysReady=one'] }), /durableAlwaysReady: expected a whole number/u);
    await assert.rejects(costEstimate({ project: '.', set: [], prices: 'no-such-prices.json' }), /no-such-prices\.json/u);
    await assert.rejects(costEstimate({ project: '.', set: [], polls: '0' }), /--polls 0/u);
  });

  test('fires per month come from the scheduler slots over a year: hourly 730, daily Paris 365/12', () => {
    // The seed's own figures, from the seed alone: a pipeline added to the catalog (README
    // "Adding a pipeline") adds its own fires without changing these.
    const seed = loadCatalog(pipelineInputs).get('data-pipeline');
    assert.ok(seed);
    const fires = firesPerMonth([seed], new Date('2026-11-29T00:00:00Z'));
    const by = Object.fromEntries(fires.map((f) => [f.schedule, f.perMonth]));
    assert.equal(by['test-hourly'], 8760 / 12);
    assert.equal(by['production-daily'], 365 / 12);
    assert.equal(timerInvocationsPerMonth(fires).count, 8760 / 12 + 365 / 12);
    assert.equal(Math.round(timerInvocationsPerMonth(fires, { kind: 'fixed-tick', everySeconds: 60 }).count), 43_830);
    const design = deployedTriggerDesign(pipelines, NOW);
    assert.equal(timerInvocationsPerMonth([], design, NOW).count, 8760 / 12);
  });
});

describe('durable-pipelines cost --compare', () => {
  test('the shipped configuration is the cheapest Azure Storage one, and every configuration starts a run within a minute', async () => {
    const c = await costComparison({ ...SEED, set: [] });
    const shipped = c.rows[0]!;
    assert.equal(shipped.name, 'shipped defaults');
    // Not comparable: another backend, another workload, or instances too small for the app and the host.
    for (const row of c.rows.filter((r) => !/Scheduler|polls$|512 MB/u.test(r.name))) assert.ok(row.total >= shipped.total - 0.005, `${row.name} ${row.total} < ${shipped.total}`);
    for (const row of c.rows) assert.match(row.latency.firstStep, /≤ \d+ s|pushed|scheduler/u);
    assert.ok(c.range.low <= shipped.total && shipped.total <= c.range.high);
    assert.ok(shipped.tenPipelines > shipped.total);
  });
});

describe('durable-pipelines cost --json', () => {
  test('prints { currency, region, lines: [{ name, monthly, basis }], total } (and more)', async () => {
    const out: string[] = [];
    await buildProgram((l) => out.push(l)).parseAsync(['node', 'durable-pipelines', '--json', 'cost']);
    const shape = z.object({
      currency: z.string().length(3),
      region: z.string().min(1),
      lines: z.array(z.object({ name: z.string().min(1), monthly: z.number().min(0), basis: z.string().min(1) })).min(1),
      total: z.number().min(0),
    });
    const parsed = shape.parse(JSON.parse(out.join('\n')));
    assert.ok(Math.abs(parsed.total - parsed.lines.reduce((a, l) => a + l.monthly, 0)) < 0.001);
  });
});

describe('every timer the app registers is priced', () => {
  test('the estimate counts each registered timer trigger at its own NCRONTAB schedule', async () => {
    await import('../../src/index');
    const { registrations } = await import('../../src/app/registry');
    const now = new Date();
    const timers = registrations().filter((r) => r.kind === 'timer');
    assert.ok(timers.length >= 2, 'the scheduler and the retention purge');
    const registered = timers.reduce((n, t) => n + ncrontabFiresPerMonth(t.options.schedule, now), 0);
    const e = estimateMonthlyCost({ ...(await base()), now });
    // A timer added, or a schedule changed, without the estimate following fails here.
    assert.ok(Math.abs(e.usage.timerExecutions - registered) < 1e-9, `estimate ${e.usage.timerExecutions} timer invocations/month, registrations ${registered} (${timers.map((t) => `${t.name} '${t.options.schedule}'`).join(', ')})`);
  });
});

describe('README "What it costs"', () => {
  test('states the figure and the range `durable-pipelines cost` computes now, and pastes its output', async () => {
    const readme = await readFile('README.md', 'utf8');
    const section = readme.slice(readme.indexOf('## What it costs'), readme.indexOf('## CLI: every Prefect command'));
    const e = await costEstimate({ ...SEED, set: [] });
    const c = await costComparison({ ...SEED, set: [] });
    assert.match(section, new RegExp(`\\*\\*About €${e.total.toFixed(2).replace('.', '\\.')} a month\\*\\*`, 'u'), 'the headline figure');
    assert.ok(section.includes(`**€${c.range.low.toFixed(2)}–${c.range.high.toFixed(2)}**`), `the range €${c.range.low.toFixed(2)}–${c.range.high.toFixed(2)}`);
    assert.match(section, new RegExp(`^TOTAL +€${e.total.toFixed(2).replace('.', '\\.')} `, 'mu'), 'the pasted `cost` output');
    assert.match(section, new RegExp(`^shipped defaults +€${e.total.toFixed(2).replace('.', '\\.')} `, 'mu'), 'the pasted `cost --compare` output');
  });
});
