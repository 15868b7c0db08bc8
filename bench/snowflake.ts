/**
 * Snowflake step: a statement on a cold instance (new connection, login included) against one on a
 * warm instance (cached session), both submitted through the real snowflake-sdk to the local
 * stand-in and alternated; plus what `require('snowflake-sdk')` costs a fresh node process, which
 * is why the adapter loads the driver lazily.
 */
import { resolve } from 'node:path';
import { createLogger } from '../src/logging/logger';
import { pipelineSchema } from '../src/pipelines/schema';
import type { StepContext } from '../src/steps/adapter';
import { createSnowflakeAdapter } from '../src/steps/snowflake/adapter';
import { ConnectionCache } from '../src/steps/snowflake/connection';
import { SnowflakeStandIn } from '../src/standins/snowflake/server';
import { alternate, fmt, median, timeNodeProcess } from './stats';

const SECRETS: Record<string, string> = {
  'sf-account': 'benchacct',
  'sf-user': 'bench',
  'sf-password': 'bench-password-0001',
};

const step = (() => {
  const pipeline = pipelineSchema.parse({
    name: 'bench',
    title: 'bench',
    steps: [
      {
        id: 'query',
        kind: 'snowflake',
        connection: {
          account: { secret: 'sf-account' },
          user: { secret: 'sf-user' },
          auth: { type: 'password', password: { secret: 'sf-password' } },
          warehouse: 'WH',
          database: 'DB',
          schema: 'PUBLIC',
        },
        statement: { sql: 'SELECT 1', binds: [] },
      },
    ],
  });
  const found = pipeline.steps[0];
  if (!found || found.kind !== 'snowflake') throw new Error('bench step is not a snowflake step');
  return found;
})();

function context(accessUrl: string, n: number): StepContext {
  return {
    runId: `bench-${n}`,
    pipeline: 'bench',
    stepId: 'query',
    attempt: 1,
    parameters: {},
    trigger: { kind: 'manual' },
    secrets: {
      get: (name) => Promise.resolve(SECRETS[name] ?? ''),
      invalidate: () => undefined,
    },
    settings: (name) => (name === 'SNOWFLAKE_ACCESS_URL' ? accessUrl : undefined),
    log: createLogger({ level: 'silent' }),
  };
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export async function run(rounds = 31): Promise<string[]> {
  const server = new SnowflakeStandIn({ account: 'benchacct', users: { bench: { password: SECRETS['sf-password']! } } });
  const url = await server.start();
  try {
    // Submit only (no inline wait): the part of an activity that a warm session shortens.
    const warmCache = new ConnectionCache();
    const warm = createSnowflakeAdapter({ connections: warmCache, inlineWaitMs: 0 });
    let n = 0;
    await warm.start(step, context(url, n++)); // loads the driver and opens the warm session
    const cold: number[] = [];
    const hot: number[] = [];
    const loginsBefore = server.loginCount;
    for (let i = 0; i < rounds; i++) {
      const runCold = async () => {
        const cache = new ConnectionCache();
        const adapter = createSnowflakeAdapter({ connections: cache, inlineWaitMs: 0 });
        cold.push(await timed(() => adapter.start(step, context(url, n++))));
        await cache.clear();
      };
      const runWarm = async () => {
        hot.push(await timed(() => warm.start(step, context(url, n++))));
      };
      if (i % 2 === 0) {
        await runCold();
        await runWarm();
      } else {
        await runWarm();
        await runCold();
      }
    }
    const logins = server.loginCount - loginsBefore;
    await warmCache.clear();
    const mc = median(cold);
    const mw = median(hot);

    const root = resolve(__dirname, '..');
    const load = alternate(
      11,
      () => timeNodeProcess("require('snowflake-sdk')", root),
      () => timeNodeProcess('', root),
    );
    return [
      `snowflake statement submit (median of ${rounds}, alternated, stand-in on 127.0.0.1): cold instance ${fmt(mc)} ms (login + submit) vs warm instance ${fmt(mw)} ms (cached session) → warm/cold ratio ${fmt(mw / mc, 2)}; logins during the rounds: ${logins} (= cold rounds)`,
      `require('snowflake-sdk') in a fresh node process: ${fmt(load.a)} ms vs empty process ${fmt(load.b)} ms → ${fmt(load.a - load.b)} ms paid only by instances that run a Snowflake step (lazy require)`,
    ];
  } finally {
    await server.close();
  }
}

if (require.main === module) {
  run()
    .then((lines) => lines.forEach((l) => console.log(l)))
    .catch((error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    });
}
