/**
 * `durable-pipelines cost`: the estimate on the shipped definitions, infra and price table, how
 * it moves when a parameter or the infra changes, and the --json shape.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { buildProgram } from '../../src/cli/main';
import { costEstimate } from '../../src/cli/cost';
import { deployedTriggerDesign, firesPerMonth, SECONDS_PER_MONTH, shippedPrices, timerInvocationsPerMonth } from '../../src/cost';
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

describe('cost estimate', () => {
  test('the seed on the shipped defaults: every line has its basis, the total is their sum', async () => {
    const e = await costEstimate({ project: '.', set: [] });
    assert.equal(e.currency, 'EUR');
    assert.equal(e.region, 'westeurope');
    assert.deepEqual(e.lines.map((l) => l.name), [
      'Functions executions', 'Functions on-demand GB-s', 'Functions always-ready', 'Storage transactions', 'Key Vault',
      'Log Analytics', 'Alert (failed or late run)', 'Container Apps job (dbt)', 'Container registry',
    ]);
    for (const l of e.lines) assert.ok(l.basis.length > 10, `${l.name} has no basis`);
    assert.ok(Math.abs(e.total - e.lines.reduce((a, l) => a + l.monthly, 0)) < 0.001);
    // The idle polling formula is shown with the interval host.json sets.
    assert.match(e.lines.find((l) => l.name === 'Storage transactions')?.basis ?? '', /5 queues × 2,629,800 s\/month ÷ 30 s/u);
    assert.equal(line(e, 'Functions always-ready'), 0);
    assert.equal(line(e, 'Container registry'), 0);
  });

  test('the seed on the shipped defaults costs at most €1.00 a month (issue 12)', async () => {
    const e = await costEstimate({ project: '.', set: [] });
    assert.ok(e.total <= 1, `total ${e.total}: ${JSON.stringify(e.lines)}`);
  });

  test('the alert line follows evaluationFrequency in infra/app/alerts.bicep', async () => {
    for (const [frequency, price] of [['PT15M', 0.5], ['PT5M', 1.5]] as const) {
      const dir = await projectWithAlertFrequency(frequency);
      try {
        assert.equal(line(await costEstimate({ project: dir, set: [] }), 'Alert (failed or late run)'), price, frequency);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
  });

  test('one always-ready instance adds its memory × a month × the baseline price to that line only', async () => {
    const base = await costEstimate({ project: '.', set: [] });
    const warm = await costEstimate({ project: '.', set: ['durableAlwaysReady=1'] });
    const expected = 0.5 * SECONDS_PER_MONTH * shippedPrices().prices.flexAlwaysReadyBaselineGbSecond.price;
    assert.ok(Math.abs(line(warm, 'Functions always-ready') - expected) < 0.001);
    assert.ok(Math.abs(warm.total - base.total - expected) < 0.001);
    const big = await costEstimate({ project: '.', set: ['durableAlwaysReady=1', 'instanceMemoryMB=2048'] });
    // The figure the issue quotes: one 2 GB instance all month ≈ €20.
    assert.ok(Math.abs(line(big, 'Functions always-ready') - 4 * expected) < 0.001);
    assert.ok(line(big, 'Functions always-ready') > 19 && line(big, 'Functions always-ready') < 21);
  });

  test('opting into the private registry adds the Basic registry', async () => {
    const e = await costEstimate({ project: '.', set: ['dbtUsePrivateRegistry=true'] });
    assert.equal(line(e, 'Container registry'), shippedPrices().prices.containerRegistryBasicPerMonth.price);
  });

  test('a parameter that does not exist or does not parse is refused, naming it', async () => {
    await assert.rejects(costEstimate({ project: '.', set: ['alwaysReady=1'] }), /--set alwaysReady: not a cost parameter/u);
    await assert.rejects(costEstimate({ project: '.', set: ['durableAlwaysReady=one'] }), /durableAlwaysReady: expected a whole number/u);
    await assert.rejects(costEstimate({ project: '.', set: [], prices: 'no-such-prices.json' }), /no-such-prices\.json/u);
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
  });

  test('the estimate counts the scheduler timer the app deploys (its NCRONTAB expression), not a minute tick', async () => {
    const pipelines = loadCatalog(pipelineInputs).pipelines;
    const design = deployedTriggerDesign(pipelines, new Date('2026-11-29T00:00:00Z'));
    assert.equal(design.kind, 'ncrontab');
    const timers = timerInvocationsPerMonth([], design, new Date('2026-11-29T00:00:00Z'));
    // The seed's hourly test schedule fires every hour; the daily Paris slot falls on one of those fires.
    assert.equal(timers.count, 8760 / 12);
    const e = await costEstimate({ project: '.', set: [] });
    assert.match(e.lines[0]?.basis ?? '', /scheduler timer '[^']+': 730\/month/u);
  });
});

describe('durable-pipelines cost --json', () => {
  test('prints { currency, region, lines: [{ name, monthly, basis }], total }', async () => {
    const out: string[] = [];
    await buildProgram((l) => out.push(l)).parseAsync(['node', 'durable-pipelines', '--json', 'cost']);
    const shape = z
      .object({
        currency: z.string().length(3),
        region: z.string().min(1),
        lines: z.array(z.object({ name: z.string().min(1), monthly: z.number().min(0), basis: z.string().min(1) }).strict()).min(1),
        total: z.number().min(0),
      })
      .strict();
    const parsed = shape.parse(JSON.parse(out.join('\n')));
    assert.ok(Math.abs(parsed.total - parsed.lines.reduce((a, l) => a + l.monthly, 0)) < 0.001);
  });
});
