import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createStepActivities, type StepActivityDeps } from '../../src/activities';
import { runEndMessage } from '../../src/activities/stepActivities';
import type { RunEvent } from '../../src/notify/event';
import { PermanentError, TransientError, readFailure } from '../../src/core/errors';
import type { RunState } from '../../src/engine/types';
import { createLogger } from '../../src/logging/logger';
import { loadCatalog } from '../../src/pipelines/catalog';
import { pipelineInputs } from '../../src/pipelines/definitions';
import { definitionVersion } from '../../src/pipelines/version';
import { recordStepByStep, type AttemptRecord, type LogLine, type RunRecord, type RunRecorder, type RunWrite } from '../../src/runs/recorder';
import type { StepAdapter } from '../../src/steps/adapter';
import type { StepActivityInput } from '../../src/steps/protocol';
import { FakeAdapter } from '../support/fakeAdapters';

/** The "deployed" catalog of these tests: the seed plus a pipeline with a user activity step. */
const catalog = loadCatalog([
  ...pipelineInputs,
  {
    name: 'custom-pipeline',
    title: 'Custom',
    parameters: { day: { type: 'date', default: '2026-03-01' } },
    steps: [{ id: 'custom', kind: 'activity', activity: 'myActivity', input: { n: 2 } }],
  },
]);
const seed = catalog.get('data-pipeline');
if (!seed) throw new Error('seed missing');
const custom = catalog.get('custom-pipeline');
if (!custom) throw new Error('custom pipeline missing');

const input = (attempt = 1): StepActivityInput => ({
  runId: 'run-1',
  pipeline: 'data-pipeline',
  definitionVersion: definitionVersion(seed),
  stepId: 'export',
  attempt,
  // As the API fills them at start: `day` defaults to the run's logical date.
  parameters: { day: '2026-11-29' },
  trigger: { kind: 'manual', requestedAt: '2026-11-29T08:00:00.000Z' },
});

class ListRecorder implements RunRecorder {
  runs: Partial<RunRecord>[] = [];
  logs: LogLine[] = [];
  attempts: AttemptRecord[] = [];
  failing = false;
  upsertRun(run: Partial<RunRecord>): Promise<void> {
    if (this.failing) return Promise.reject(new Error('table storage down'));
    this.runs.push(run);
    return Promise.resolve();
  }
  recordAttempt(a: AttemptRecord): Promise<void> {
    if (this.failing) return Promise.reject(new Error('table storage down'));
    this.attempts.push(a);
    return Promise.resolve();
  }
  recordAbandoned(a: AttemptRecord): Promise<void> {
    return this.recordAttempt(a);
  }
  recordAnswer(a: AttemptRecord): Promise<void> {
    return this.recordAttempt(a);
  }
  appendLogs(_runId: string, lines: readonly LogLine[]): Promise<void> {
    if (this.failing) return Promise.reject(new Error('table storage down'));
    this.logs.push(...lines);
    return Promise.resolve();
  }
  /** Each activity execution's one write, as it was asked for (the Table store sends it in one request). */
  writes: RunWrite[] = [];
  record(write: RunWrite): Promise<void> {
    this.writes.push(write);
    return recordStepByStep(this, write);
  }
}

function make(overrides: Partial<StepActivityDeps> = {}) {
  // The jobs' clock: a test moves it to where the engine would poll.
  const clock = { ms: Date.parse('2026-03-02T01:00:00Z') };
  const fake = new FakeAdapter(() => new Date(clock.ms));
  const recorder = new ListRecorder();
  const alerts: RunEvent[] = [];
  const activities = createStepActivities({
    catalog,
    adapters: { azureFunction: fake, snowflake: fake, dbt: fake },
    secrets: { get: (name) => Promise.resolve(`s3cr3t-${name}`), invalidate: () => undefined },
    settings: () => undefined,
    recorder,
    notifier: { notify: (e) => Promise.resolve(alerts.push(e)) },
    logger: createLogger({ level: 'silent' }),
    ...overrides,
  });
  return { fake, recorder, alerts, activities, clock };
}

async function failureOf(promise: Promise<unknown>) {
  const error = await promise.then(
    () => assert.fail('expected the activity to throw'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof Error);
  const info = readFailure(error.message);
  assert.ok(info, `no classification in: ${error.message}`);
  return { info, message: error.message };
}

describe('step activities', () => {
  test('startStep runs the adapter of the step kind and records the run and the attempt', async () => {
    const { fake, recorder, activities } = make();
    fake.script('export', [{ ok: { output: { files: 3 }, metrics: { files: 3 } } }]);
    const outcome = await activities.startStep(input());
    assert.deepEqual(outcome, { status: 'succeeded', output: { files: 3 }, metrics: { files: 3 } });
    assert.equal(recorder.runs[0]?.status, 'running');
    // One write per activity execution: the attempt as it stands when the start returns.
    assert.deepEqual(recorder.attempts.map((a) => a.status), ['succeeded']);
    assert.deepEqual(recorder.attempts[0]?.metrics, { files: 3 });
    assert.deepEqual(recorder.logs.map((l) => l.msg), ['step export attempt 1 started', 'step export attempt 1 succeeded']);
    assert.deepEqual(recorder.logs[1]?.fields, { files: 3 });
    // The deployed definition says where the run begins: "export" has no dependencies, "load" has.
    assert.equal(recorder.writes[0]?.start?.root, true);
    fake.script('load', [{ ok: {} }]);
    await activities.startStep({ ...input(), stepId: 'load' });
    assert.equal(recorder.writes.length, 2);
    assert.equal(recorder.writes[1]?.start?.root, false);
  });

  test('an input that does not parse fails permanently, before any adapter call', async () => {
    const { fake, activities } = make();
    const { info } = await failureOf(activities.startStep({ ...input(), attempt: 0 }));
    assert.equal(info.class, 'permanent');
    assert.match(info.message, /invalid startStep input: attempt/);
    assert.equal(fake.calls.length, 0);
  });

  test('a failing adapter is thrown as a classified error with secret values masked, and recorded as failed', async () => {
    const secretUsing: StepAdapter = {
      async start(_step, ctx) {
        const key = await ctx.secrets.get('azure-function-key');
        throw new TransientError(`HTTP 503 from https://fn.example/api/export?code=${key}`);
      },
    };
    const { recorder, activities } = make({ adapters: { azureFunction: secretUsing } });
    const { info, message } = await failureOf(activities.startStep(input()));
    assert.equal(info.class, 'transient');
    assert.ok(!message.includes('s3cr3t-azure-function-key'), message);
    assert.match(info.message, /code=\*\*\*/);
    assert.equal(recorder.attempts.at(-1)?.status, 'failed');
    assert.ok(!JSON.stringify(recorder.attempts).includes('s3cr3t-azure-function-key'));
    assert.ok(!JSON.stringify(recorder.logs).includes('s3cr3t-azure-function-key'));
    assert.equal(recorder.logs.at(-1)?.level, 'warn');
  });

  test('a step kind without an adapter fails permanently', async () => {
    const { activities } = make({ adapters: {} });
    assert.equal((await failureOf(activities.startStep(input()))).info.class, 'permanent');
  });

  test('recorder failures never fail the step', async () => {
    const { recorder, activities } = make();
    recorder.failing = true;
    assert.equal((await activities.startStep(input())).status, 'succeeded');
  });

  test('pollStep advances a long job and records the attempt only when it ends', async () => {
    const { fake, recorder, activities, clock } = make();
    fake.script('export', [{ running: { polls: 1, pollAfterSeconds: 15 } }]);
    const started = await activities.startStep(input());
    assert.equal(started.status, 'running');
    if (started.status !== 'running') return;
    const poll = { ...input(), handle: started.handle, elapsedSeconds: 15 };
    clock.ms += 15_000;
    assert.equal((await activities.pollStep(poll)).status, 'running');
    clock.ms += 15_000;
    assert.equal((await activities.pollStep({ ...poll, elapsedSeconds: 30 })).status, 'succeeded');
    assert.deepEqual(recorder.attempts.map((a) => a.status), ['running', 'succeeded']);
  });

  test('cancelStep asks the adapter to stop, never throws, and records the attempt as ended', async () => {
    const throwingCancel: StepAdapter = {
      start: () => Promise.resolve({ status: 'running', handle: { job: 'j' }, pollAfterSeconds: 30 }),
      cancel: () => Promise.reject(new Error('ARM 500')),
    };
    const { recorder, activities } = make({ adapters: { azureFunction: throwingCancel } });
    await activities.cancelStep({ ...input(), handle: { job: 'j' }, reason: 'timeout' });
    assert.equal(recorder.attempts.at(-1)?.error?.class, 'timeout');
  });

  test('finishRun records the final run and alerts when an alert asks for the status; a failing notifier is ignored', async () => {
    const run: RunState = {
      runId: 'run-1',
      pipeline: 'data-pipeline',
      status: 'failed',
      pipelineAttempt: 2,
      startedAt: '2026-03-02T01:00:00.000Z',
      endedAt: '2026-03-02T01:05:00.000Z',
      durationSeconds: 300,
      steps: [{ id: 'export', status: 'failed', attempts: [], error: { class: 'permanent', message: 'HTTP 401' } }],
      error: { class: 'permanent', message: 'HTTP 401', stepId: 'export' },
    };
    const finish = { run, trigger: { kind: 'manual' }, parameters: {} };
    const { recorder, alerts, activities } = make();
    await activities.finishRun(finish);
    assert.equal(recorder.runs.at(-1)?.status, 'failed');
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]?.failedStep, 'export');
    assert.equal(alerts[0]?.kind, 'failed');
    assert.equal(alerts[0]?.title, seed.title, 'the title comes from the deployed definition');

    const quiet = make({ notifier: { notify: () => Promise.reject(new Error('slack down')) } });
    await quiet.activities.finishRun(finish);
    await quiet.activities.finishRun({ ...finish, run: { ...run, status: 'succeeded' } });
  });

  test('a user activity step returns its handler’s result as the step output; its errors keep their class', async () => {
    const { activities } = make();
    const userInput = { ...input(), pipeline: 'custom-pipeline', definitionVersion: definitionVersion(custom), stepId: 'custom', parameters: {} };
    const ok = activities.wrapUserActivity('myActivity', (i) => Promise.resolve({ doubled: (i.input as { n: number }).n * 2, day: i.parameters['day'] ?? null }));
    // The deployed step's input and the deployed parameter defaults reach the handler.
    assert.deepEqual(await ok(userInput), { status: 'succeeded', output: { doubled: 4, day: '2026-03-01' } });
    const bad = activities.wrapUserActivity('myActivity', () => Promise.reject(new PermanentError('bad request')));
    assert.equal((await failureOf(bad(userInput))).info.class, 'permanent');
  });
});

describe('step activities act on the deployed definition only', () => {
  test('an input that carries a step definition is refused before any adapter call or secret', async () => {
    const crafted = { kind: 'azureFunction', id: 'export', url: 'http://127.0.0.1:9/steal', functionKey: { secret: 'snowflake-password' } };
    const resolved: string[] = [];
    const { fake, activities } = make({ secrets: { get: (name) => {
          resolved.push(name);
          return Promise.resolve(`s3cr3t-${name}`);
        }, invalidate: () => undefined } });
    const { info } = await failureOf(activities.startStep({ ...input(), step: crafted }));
    assert.equal(info.class, 'permanent');
    assert.match(info.message, /invalid startStep input: \(root\): Unrecognized key: "step"/);
    assert.equal(fake.calls.length, 0);
    assert.deepEqual(resolved, []);
  });

  test('a run started with another definition version fails permanently, saying the definition changed', async () => {
    const { fake, recorder, activities } = make();
    const { info } = await failureOf(activities.startStep({ ...input(), definitionVersion: 'sha256:0000' }));
    assert.equal(info.class, 'permanent');
    assert.match(info.message, /definition of pipeline "data-pipeline" changed since the run started .*redeployed while running\?/);
    assert.equal(fake.calls.length, 0);
    // The run's own record says why.
    assert.equal(recorder.attempts.at(-1)?.status, 'failed');
    assert.match(recorder.logs.at(-1)?.msg ?? '', /changed since the run started/);
    // ...in the execution's one write, which still marks the run started (no deployed step to say
    // whether it is a root, so the write may create the run row).
    assert.equal(recorder.writes.length, 1);
    assert.equal(recorder.writes[0]?.start?.root, true);
    assert.deepEqual(recorder.writes[0]?.attempts?.map((a) => a.status), ['failed']);
    assert.equal(recorder.writes[0]?.lines?.length, 2);
  });

  test('an unknown pipeline or step fails permanently, naming it', async () => {
    const { fake, activities } = make();
    assert.match((await failureOf(activities.startStep({ ...input(), pipeline: 'not-deployed' }))).info.message, /pipeline "not-deployed" is not deployed/);
    assert.match((await failureOf(activities.startStep({ ...input(), stepId: 'steal' }))).info.message, /pipeline "data-pipeline" has no step "steal"/);
    assert.match((await failureOf(activities.pollStep({ ...input(), stepId: 'steal', handle: {}, elapsedSeconds: 1 }))).info.message, /has no step "steal"/);
    assert.equal(fake.calls.length, 0);
  });

  test('parameters are re-validated against the deployed declarations', async () => {
    const { fake, activities } = make();
    const { info } = await failureOf(activities.startStep({ ...input(), parameters: { webhook: 'http://127.0.0.1:9' } }));
    assert.equal(info.class, 'permanent');
    assert.match(info.message, /the run's parameters do not fit pipeline "data-pipeline": parameters\.webhook: unknown parameter/);
    assert.equal(fake.calls.length, 0);
  });

  test('cancelStep does not reach an adapter for a step the catalog refuses', async () => {
    let cancelled = 0;
    const adapter: StepAdapter = { start: () => Promise.resolve({ status: 'succeeded' }), cancel: () => Promise.resolve(void cancelled++) };
    const { activities } = make({ adapters: { azureFunction: adapter } });
    await activities.cancelStep({ ...input(), definitionVersion: 'sha256:0000', handle: { job: 'j' }, reason: 'cancelled' });
    assert.equal(cancelled, 0);
    await activities.cancelStep({ ...input(), handle: { job: 'j' }, reason: 'cancelled' });
    assert.equal(cancelled, 1);
  });

  test('finishRun refuses alerts or a title in its input and alerts only where the deployed definition says', async () => {
    const run: RunState = { runId: 'run-1', pipeline: 'data-pipeline', status: 'failed', pipelineAttempt: 1, startedAt: '2026-03-02T01:00:00.000Z', steps: [] };
    const { alerts, activities } = make();
    const crafted = { run, trigger: { kind: 'manual' }, parameters: {}, alerts: [{ on: ['failed'], channel: 'slack', webhook: { secret: 'snowflake-password' } }], title: 'x' };
    assert.match((await failureOf(activities.finishRun(crafted))).info.message, /invalid finishRun input: \(root\): Unrecognized keys: "alerts", "title"/);
    assert.equal(alerts.length, 0);
    // A pipeline that is not deployed is recorded but alerts nobody.
    await activities.finishRun({ run: { ...run, pipeline: 'not-deployed' }, trigger: { kind: 'manual' }, parameters: {} });
    assert.equal(alerts.length, 0);
  });

  test('a user activity runs only for a deployed step that names it', async () => {
    const { activities } = make();
    let called = 0;
    const other = activities.wrapUserActivity('otherActivity', () => Promise.resolve(void called++));
    const userInput = { ...input(), pipeline: 'custom-pipeline', definitionVersion: definitionVersion(custom), stepId: 'custom', parameters: {} };
    assert.match((await failureOf(other(userInput))).info.message, /step "custom" of pipeline "custom-pipeline" does not call activity "otherActivity"/);
    const onSeedStep = activities.wrapUserActivity('myActivity', () => Promise.resolve(void called++));
    assert.equal((await failureOf(onSeedStep(input()))).info.class, 'permanent');
    assert.equal(called, 0);
  });
});

describe("the run's last log line", () => {
  test('says the status once: a cancel reason that already says "run cancelled" is not repeated', () => {
    assert.equal(runEndMessage({ status: 'succeeded' }), 'run succeeded');
    assert.equal(runEndMessage({ status: 'cancelled', error: { class: 'cancelled', message: 'run cancelled' } }), 'run cancelled');
    assert.equal(runEndMessage({ status: 'cancelled', error: { class: 'cancelled', message: 'run cancelled: by user:ana' } }), 'run cancelled: by user:ana');
    assert.equal(runEndMessage({ status: 'failed', error: { class: 'permanent', message: 'load: 401' } }), 'run failed: load: 401');
  });
});
