/**
 * The run's log tells what the load step did: the seed pipeline's `day` parameter picks the stage
 * folder COPY INTO reads (the demo's stand-in stage), and the log shows each file's status, rows
 * and first error. Real snowflake-sdk against the Snowflake stand-in, through the step activity.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createStepActivities } from '../../src/activities';
import { createLogger } from '../../src/logging/logger';
import { loadCatalog } from '../../src/pipelines/catalog';
import { pipelineInputs } from '../../src/pipelines/definitions';
import { definitionVersion } from '../../src/pipelines/version';
import type { LogLine, RunRecorder } from '../../src/runs/recorder';
import { createSnowflakeAdapter } from '../../src/steps/snowflake/adapter';
import { ConnectionCache } from '../../src/steps/snowflake/connection';
import { demoStageScripts } from '../../src/standins/snowflake/demoStage';
import { SnowflakeStandIn, copyIntoResult } from '../../src/standins/snowflake/server';
import { seedSnowflakeSecrets } from '../support/snowflakeSecrets';

const PASSWORD = 'stepResultLog-canary-pw';
const server = new SnowflakeStandIn({ account: 'testacct', users: { loader: { password: PASSWORD } } });
const catalog = loadCatalog(pipelineInputs);
const seed = catalog.get('data-pipeline')!;
const secrets: Record<string, string> = seedSnowflakeSecrets(PASSWORD);

function harness() {
  const logs: LogLine[] = [];
  const recorder: RunRecorder = {
    upsertRun: () => Promise.resolve(),
    recordAttempt: () => Promise.resolve(),
    recordAbandoned: () => Promise.resolve(),
    recordAnswer: () => Promise.resolve(),
    appendLogs: (_runId, lines) => {
      logs.push(...lines);
      return Promise.resolve();
    },
    record: (write) => {
      logs.push(...(write.lines ?? []));
      return Promise.resolve();
    },
  };
  const activities = createStepActivities({
    adapters: { snowflake: createSnowflakeAdapter({ connections: new ConnectionCache() }) },
    secrets: { get: (name) => (name in secrets ? Promise.resolve(secrets[name]!) : Promise.reject(new Error(`no secret ${name}`))), invalidate: () => undefined },
    settings: (name) => (name === 'SNOWFLAKE_ACCESS_URL' ? server.url : undefined),
    recorder,
    logger: createLogger({ level: 'silent' }),
    catalog,
  });
  return { activities, logs };
}

let runs = 0;
const loadInput = (parameters: Record<string, string>) => ({
  runId: `run-log-${++runs}`,
  pipeline: 'data-pipeline',
  definitionVersion: definitionVersion(seed),
  stepId: 'load',
  attempt: 1,
  parameters,
  trigger: { kind: 'manual' as const, requestedAt: '2026-11-29T08:00:00.000Z' },
});

void describe('the run log shows what COPY INTO loaded, per day parameter', () => {
  before(async () => {
    await server.start();
    server.script({ match: /^\s*COPY INTO/i, result: copyIntoResult([{ file: 'azure://exports/chemin/vers/fichiers/all.json', status: 'LOADED', rowsParsed: 9, rowsLoaded: 9 }]) });
    demoStageScripts().forEach((s) => server.script(s));
  });
  after(() => server.close());

  void test('day=2026-11-27 loads that folder: two files, their rows, in the run log', async () => {
    const { activities, logs } = harness();
    const outcome = await activities.startStep(loadInput({ day: '2026-11-27' }));
    assert.equal(outcome.status, 'succeeded');
    assert.match(server.queries.at(-1)?.sql ?? '', / FROM @mon_stage_azure\/chemin\/vers\/fichiers\/2026-11-27 /);
    const messages = logs.map((l) => l.msg);
    assert.deepEqual(messages.filter((m) => m.startsWith('COPY INTO')), [
      'COPY INTO azure://exports/chemin/vers/fichiers/2026-11-27/part-0001.json: LOADED, 800 of 800 rows loaded',
      'COPY INTO azure://exports/chemin/vers/fichiers/2026-11-27/part-0002.json: LOADED, 640 of 640 rows loaded',
      messages.find((m) => m.startsWith('COPY INTO: 2 files (2 loaded, 0 partially, 0 failed), 1440 of 1440 rows loaded, 0 errors seen')),
    ]);
    assert.equal(messages.at(-1), 'step load attempt 1 succeeded', 'the verdict comes after the results, in one batch');
    assert.ok(logs.every((l) => l.stepId === 'load' && l.attempt === 1));
  });

  void test('day=2026-11-28 loads another folder: the partial load and its first error show as a warning', async () => {
    const { activities, logs } = harness();
    await activities.startStep(loadInput({ day: '2026-11-28' }));
    const file = logs.find((l) => l.msg.includes('2026-11-28/part-0001.json'));
    assert.equal(file?.level, 'warn');
    assert.equal(file?.msg, 'COPY INTO azure://exports/chemin/vers/fichiers/2026-11-28/part-0001.json: PARTIALLY_LOADED, 498 of 505 rows loaded, 7 errors seen (first at line 87: Error parsing JSON: unknown keyword "nul", pos 3)');
  });

  void test('a day with no folder loads no file, and the log says so', async () => {
    const { activities, logs } = harness();
    await activities.startStep(loadInput({ day: '1999-01-01' }));
    assert.ok(logs.some((l) => l.msg.startsWith('COPY INTO loaded no file')), logs.map((l) => l.msg).join('\n'));
  });

  void test('a hostile day is refused as permanent before any SQL is sent, and the log says why', async () => {
    const { activities, logs } = harness();
    const copies = () => server.queries.filter((q) => /COPY INTO/.test(q.sql)).length;
    const sent = copies();
    // `day` is a date parameter: a hostile value is refused with the run's parameters, before the step builds any SQL.
    await assert.rejects(activities.startStep(loadInput({ day: "x'\n; DROP TABLE t; --" })), /parameters\.day: expected a calendar date as YYYY-MM-DD/);
    assert.equal(copies(), sent);
    assert.match(logs.at(-1)?.msg ?? '', /failed \(permanent\): the run's parameters do not fit pipeline "data-pipeline": parameters\.day: expected a calendar date/);
  });
});
