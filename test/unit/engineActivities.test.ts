import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createStepActivities, type StepActivityDeps } from '../../src/activities';
import type { RunEvent } from '../../src/notify/event';
import { PermanentError, TransientError, readFailure } from '../../src/core/errors';
import type { RunState } from '../../src/engine/types';
import { createLogger } from '../../src/logging/logger';
import { loadCatalog } from '../../src/pipelines/catalog';
import { pipelineInputs } from '../../src/pipelines/definitions';
import { recordStepByStep, type AttemptRecord, type LogLine, type RunRecord, type RunRecorder, type RunWrite } from '../../src/runs/recorder';
import type { StepAdapter } from '../../src/steps/adapter';
import type { StepActivityInput } from '../../src/steps/protocol';
import { FakeAdapter } from '../support/fakeAdapters';

const seed = loadCatalog(pipelineInputs).get('data-pipeline');
if (!seed) throw new Error('seed missing');
const exportStep = seed.steps[0];
if (!exportStep) throw new Error('export step missing');

const input = (attempt = 1): StepActivityInput => ({
  runId: 'run-1',
  pipeline: 'data-pipeline',
  stepId: 'export',
  attempt,
  step: exportStep,
  parameters: {},
  trigger: { kind: 'manual' },
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
  appendLogs(_runId: string, lines: readonly LogLine[]): Promise<void> {
    if (this.failing) return Promise.reject(new Error('table storage down'));
    this.logs.push(...lines);
    return Promise.resolve();
  }  record(write: RunWrite): Promise<void> {
    return recordStepByStep(this, write);
  }

}

function make(overrides: Partial<StepActivityDeps> = {}) {
  const fake = new FakeAdapter();
  const recorder = new ListRecorder();
  const alerts: RunEvent[] = [];
  const activities = createStepActivities({
    adapters: { azureFunction: fake, snowflake: fake, dbt: fake },
    secrets: { get: (name) => Promise.resolve(`s3cr3t-${name}`), invalidate: () => undefined },
    settings: () => undefined,
    recorder,
    notifier: { notify: (e) => Promise.resolve(alerts.push(e)) },
    logger: createLogger({ level: 'silent' }),
    ...overrides,
  });
  return { fake, recorder, alerts, activities };
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
    const { fake, recorder, activities } = make();
    fake.script('export', [{ running: { polls: 1, pollAfterSeconds: 15 } }]);
    const started = await activities.startStep(input());
    assert.equal(started.status, 'running');
    if (started.status !== 'running') return;
    const poll = { ...input(), handle: started.handle, elapsedSeconds: 15 };
    assert.equal((await activities.pollStep(poll)).status, 'running');
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
    const finish = { run, trigger: { kind: 'manual' }, parameters: {}, alerts: seed.alerts, title: seed.title };
    const { recorder, alerts, activities } = make();
    await activities.finishRun(finish);
    assert.equal(recorder.runs.at(-1)?.status, 'failed');
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]?.failedStep, 'export');
    assert.equal(alerts[0]?.kind, 'failed');

    const quiet = make({ notifier: { notify: () => Promise.reject(new Error('slack down')) } });
    await quiet.activities.finishRun(finish);
    await quiet.activities.finishRun({ ...finish, run: { ...run, status: 'succeeded' } });
  });

  test('a user activity step returns its handler’s result as the step output; its errors keep their class', async () => {
    const { activities } = make();
    const step = { id: 'custom', kind: 'activity' as const, activity: 'myActivity', input: { n: 2 }, dependsOn: [], retry: exportStep.retry, pollInterval: 30 };
    const userInput = { ...input(), stepId: 'custom', step };
    const ok = activities.wrapUserActivity((i) => Promise.resolve({ doubled: (i.input as { n: number }).n * 2 }));
    assert.deepEqual(await ok(userInput), { status: 'succeeded', output: { doubled: 4 } });
    const bad = activities.wrapUserActivity(() => Promise.reject(new PermanentError('bad request')));
    assert.equal((await failureOf(bad(userInput))).info.class, 'permanent');
  });
});
