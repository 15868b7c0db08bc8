/**
 * The HTTP API end to end: the app as registered by src/index, served by the development host on a
 * virtual clock, the seed pipeline running against the stand-ins (export function, Snowflake, dbt
 * Container Apps Job, Key Vault) with its records in Azurite. Every assertion is on what a user of
 * the API sees — responses, and the calls the stand-in services received.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, type AppHarness } from '../support/appHarness';

interface StartResponse {
  runId: string;
  created: boolean;
  links: Record<string, string>;
}
interface StepView {
  id: string;
  status: string;
  attempts: { attempt: number; status: string }[];
}
interface RunView {
  runId: string;
  pipeline: string;
  status: string;
  rerunOf?: string;
  trigger?: { kind: string; origin?: string; requestedAt?: string };
  steps: StepView[];
  attempts: { stepId: string; attempt: number; status: string }[];
  metrics: Record<string, Record<string, unknown>>;
  error?: { message: string; stepId?: string };
}
interface LogsPage {
  status: string;
  lines: { msg: string; cursor: string; stepId?: string }[];
  nextCursor: string | null;
}
interface RunsPage {
  runs: { runId: string; pipeline: string; status: string; createdAt: string }[];
  nextCursor: string | null;
}

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

let app: AppHarness;

before(async () => {
  app = await startApp({ startTime: new Date('2026-11-26T08:00:00Z') });
});
after(async () => {
  await app?.stop();
});

async function startRun(body: unknown = {}): Promise<StartResponse> {
  const response = await app.api<StartResponse>('POST', 'pipelines/data-pipeline/runs', body);
  assert.equal(response.status, 202, response.text);
  return response.json;
}

async function getRun(runId: string): Promise<RunView> {
  const response = await app.api<RunView>('GET', `runs/${encodeURIComponent(runId)}`);
  assert.equal(response.status, 200, response.text);
  return response.json;
}

/** Drives the host until the run, as the API reports it, has ended. */
function finished(runId: string): Promise<RunView> {
  return app.until(`run ${runId} to end`, async () => {
    const run = await getRun(runId);
    return TERMINAL.has(run.status) ? run : undefined;
  });
}

describe('HTTP API on the seed pipeline', () => {
  test('start → 202 with links; the run succeeds and shows its steps, attempts and metrics', async () => {
    const before = app.world.callCounts();
    const response = await app.api<StartResponse>('POST', 'pipelines/data-pipeline/runs', {});
    assert.equal(response.status, 202);
    const { runId, links } = response.json;
    assert.match(runId, /^data-pipeline-/);
    assert.equal(links['self'], `/api/runs/${runId}`);
    assert.equal(links['logs'], `/api/runs/${runId}/logs`);
    assert.equal(response.headers.get('location'), `/api/runs/${runId}`);

    const run = await finished(runId);
    assert.equal(run.status, 'succeeded');
    assert.equal(run.pipeline, 'data-pipeline');
    // Started with a function key: the run records who started it (issue 15).
    // The request's instant is its logical date, kept on the record the API wrote (issue 20).
    assert.deepEqual(run.trigger, { kind: 'manual', origin: 'api', requestedAt: run.trigger?.requestedAt, by: 'key' });
    assert.match(run.trigger?.requestedAt ?? '', /^\d{4}-\d\d-\d\dT/);
    assert.deepEqual(run.steps.map((s) => [s.id, s.status, s.attempts.length]), [
      ['export', 'succeeded', 1],
      ['load', 'succeeded', 1],
      ['transform', 'succeeded', 1],
    ]);
    assert.deepEqual(run.attempts.map((a) => [a.stepId, a.attempt, a.status]).sort(), [
      ['export', 1, 'succeeded'],
      ['load', 1, 'succeeded'],
      ['transform', 1, 'succeeded'],
    ]);
    // What COPY INTO and dbt reported (the stand-ins' scripted results).
    assert.equal(run.metrics['load']?.['rowsLoaded'], 3447);
    assert.equal(run.metrics['load']?.['filesPartiallyLoaded'], 1);
    assert.equal(run.metrics['transform']?.['modelsSucceeded'], 4);
    const after = app.world.callCounts();
    assert.deepEqual({ export: after.export - before.export, load: after.load - before.load, transform: after.transform - before.transform }, { export: 1, load: 1, transform: 1 });
  });

  test('logs page with a cursor: pages of 2 add up to the whole log, in order, and end empty', async () => {
    const { runId } = await startRun();
    await finished(runId);
    const all = await app.api<LogsPage>('GET', `runs/${runId}/logs?limit=1000`);
    assert.equal(all.status, 200);
    assert.equal(all.json.status, 'succeeded');
    assert.ok(all.json.lines.length >= 6, `expected start and end lines for 3 steps, got ${all.json.lines.length}`);
    assert.ok(all.json.lines.some((l) => l.stepId === 'load' && /succeeded/.test(l.msg)));

    const paged: LogsPage['lines'] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 100; page++) {
      const response = await app.api<LogsPage>('GET', `runs/${runId}/logs?limit=2${cursor ? `&after=${cursor}` : ''}`);
      assert.equal(response.status, 200, response.text);
      assert.ok(response.json.lines.length <= 2);
      if (response.json.lines.length === 0) {
        // Following: an exhausted log keeps answering the same cursor.
        assert.equal(response.json.nextCursor, cursor);
        break;
      }
      paged.push(...response.json.lines);
      cursor = response.json.nextCursor ?? undefined;
      assert.ok(cursor, 'a page with lines names the cursor to continue from');
    }
    assert.deepEqual(paged, all.json.lines);
    const numbers = paged.map((l) => Number(l.cursor));
    assert.deepEqual(numbers, [...numbers].sort((a, b) => a - b));
  });

  test('list runs: newest first, filtered by pipeline and status, paged with a cursor', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { runId } = await startRun();
      await finished(runId);
      ids.push(runId);
    }
    const seen: RunsPage['runs'] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 50; page++) {
      const query: string = `runs?pipeline=data-pipeline&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const response = await app.api<RunsPage>('GET', query);
      assert.equal(response.status, 200, response.text);
      assert.ok(response.json.runs.length <= 2);
      seen.push(...response.json.runs);
      cursor = response.json.nextCursor;
      if (!cursor) break;
    }
    const seenIds = seen.map((r) => r.runId);
    assert.deepEqual(seenIds.slice(0, 3), [...ids].reverse(), 'the three newest runs first, newest at the top');
    assert.equal(new Set(seenIds).size, seenIds.length, 'no run twice across pages');
    const created = seen.map((r) => Date.parse(r.createdAt));
    assert.deepEqual(created, [...created].sort((a, b) => b - a));

    const succeeded = await app.api<RunsPage>('GET', 'runs?status=succeeded&limit=100');
    assert.equal(succeeded.status, 200);
    assert.ok(ids.every((id) => succeeded.json.runs.some((r) => r.runId === id)));
    assert.ok(succeeded.json.runs.every((r) => r.status === 'succeeded'));
    const running = await app.api<RunsPage>('GET', 'runs?status=running');
    assert.deepEqual(running.json.runs, []);

    // since is inclusive: from the second of the three onwards.
    const second = seen.find((r) => r.runId === ids[1]);
    const since = await app.api<RunsPage>('GET', `runs?since=${encodeURIComponent(second?.createdAt ?? '')}`);
    assert.equal(since.status, 200, since.text);
    assert.deepEqual(since.json.runs.map((r) => r.runId), [ids[2], ids[1]]);
  });

  test('the same idempotencyKey twice starts one run', async () => {
    const before = app.world.callCounts();
    const first = await startRun({ idempotencyKey: 'nightly-2026-11-26' });
    const second = await startRun({ idempotencyKey: 'nightly-2026-11-26' });
    assert.equal(second.runId, first.runId);
    assert.equal(first.created, true);
    assert.equal(second.created, false);
    await finished(first.runId);
    // Asked again once it has finished: still that run, not a new one (Durable would overwrite it).
    const third = await startRun({ idempotencyKey: 'nightly-2026-11-26' });
    assert.equal(third.runId, first.runId);
    await app.host.runUntilIdle();
    assert.equal(app.world.callCounts().export - before.export, 1);
    const listed = await app.api<RunsPage>('GET', 'runs?pipeline=data-pipeline&limit=100');
    assert.equal(listed.json.runs.filter((r) => r.runId === first.runId).length, 1);
    // Another key is another run.
    const other = await startRun({ idempotencyKey: 'nightly-2026-11-27' });
    assert.notEqual(other.runId, first.runId);
    await finished(other.runId);
  });

  test('the same idempotencyKey sent concurrently starts one run', async () => {
    const before = app.world.callCounts();
    const answers = await Promise.all(Array.from({ length: 4 }, () => startRun({ idempotencyKey: 'retried-by-a-proxy' })));
    assert.equal(new Set(answers.map((a) => a.runId)).size, 1);
    assert.equal(answers.filter((a) => a.created).length, 1);
    const runId = answers[0]?.runId ?? '';
    assert.equal((await finished(runId)).status, 'succeeded');
    assert.equal(app.host.executions(runId).length, 1);
    assert.equal(app.world.callCounts().export - before.export, 1);
  });

  test('cancel a running run: 202, the run ends cancelled and no later step starts', async () => {
    app.setExportDelay(3000);
    try {
      const before = app.world.callCounts();
      const { runId } = await startRun();
      // The export step is in flight (the stand-in answers after 3 s of real time).
      for (let i = 0; ; i++) {
        const run = await getRun(runId);
        if (run.steps.find((s) => s.id === 'export')?.status === 'running') break;
        assert.ok(i < 500, `export never showed running (run ${run.status})`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      // While it runs there is nothing to rerun yet.
      assert.equal((await app.api('POST', `runs/${runId}/rerun`, { from: 'failed' })).status, 409);
      const cancel = await app.api<{ status: string; requestedAt: string }>('POST', `runs/${runId}/cancel`);
      assert.equal(cancel.status, 202, cancel.text);
      assert.equal(cancel.json.status, 'cancelling');

      const run = await finished(runId);
      assert.equal(run.status, 'cancelled');
      // Let the export call finish and anything it could have triggered run.
      await app.host.runUntilIdle();
      await app.host.advance(30 * 60_000);
      const after = app.world.callCounts();
      assert.deepEqual({ load: after.load - before.load, transform: after.transform - before.transform }, { load: 0, transform: 0 });
      const final = await getRun(runId);
      assert.equal(final.status, 'cancelled');
      assert.deepEqual(final.steps.map((s) => [s.id, s.status]), [
        ['export', 'cancelled'],
        ['load', 'skipped'],
        ['transform', 'skipped'],
      ]);
      // Listings agree: it is among the cancelled runs, not left "running".
      const cancelled = await app.api<RunsPage>('GET', 'runs?status=cancelled');
      assert.deepEqual(cancelled.json.runs.map((r) => [r.runId, r.status]), [[runId, 'cancelled']]);
      const running = await app.api<RunsPage>('GET', 'runs?status=running');
      assert.deepEqual(running.json.runs, []);
      // Cancelling it again is idempotent: the same answer as the first cancel, no second event.
      const again = await app.api<{ status: string; requestedAt: string }>('POST', `runs/${runId}/cancel`);
      assert.equal(again.status, 202, again.text);
      assert.deepEqual([again.json.status, again.json.requestedAt], ['cancelling', cancel.json.requestedAt]);
    } finally {
      app.setExportDelay(undefined);
    }
  });

  test('cancel while the dbt job runs: the run ends cancelled and the job execution is stopped', async () => {
    const stopsBefore = app.world.dbt.stops.length;
    const { runId } = await startRun();
    // Move virtual time in small steps until the transform step follows its job (it polls on durable timers).
    for (let i = 0; ; i++) {
      if ((await getRun(runId)).steps.find((s) => s.id === 'transform')?.status === 'running') break;
      assert.ok(i < 100, 'the transform step never ran');
      await app.host.advance(5_000);
    }
    const cancel = await app.api('POST', `runs/${runId}/cancel`);
    assert.equal(cancel.status, 202, cancel.text);
    const run = await finished(runId);
    assert.equal(run.status, 'cancelled');
    assert.deepEqual(run.steps.map((s) => [s.id, s.status]), [
      ['export', 'succeeded'],
      ['load', 'succeeded'],
      ['transform', 'cancelled'],
    ]);
    await app.host.runUntilIdle();
    assert.equal(app.world.dbt.stops.length - stopsBefore, 1, 'the dbt job execution was asked to stop');
  });

  test('rerun from failed: only the failed step and what follows it execute again', async () => {
    app.setFailStep('load');
    let failedId: string;
    let atFailure: ReturnType<AppHarness['world']['callCounts']>;
    try {
      const before = app.world.callCounts();
      failedId = (await startRun()).runId;
      const failed = await finished(failedId);
      assert.equal(failed.status, 'failed');
      assert.equal(failed.error?.stepId, 'load');
      atFailure = app.world.callCounts();
      // The seed load's tries in each pipeline attempt (4 × 2 today), and dbt never started.
      const seed = app.services.catalog.get('data-pipeline');
      assert.equal(atFailure.load - before.load, (seed?.steps[1]?.retry.attempts ?? 0) * (1 + (seed?.pipelineRetry.retries ?? 0)));
      assert.equal(atFailure.transform - before.transform, 0);
    } finally {
      app.setFailStep(undefined);
    }

    const response = await app.api<StartResponse & { rerunOf: string; rerunSteps: string[]; reusedSteps: string[] }>('POST', `runs/${failedId}/rerun`, { from: 'failed' });
    assert.equal(response.status, 202, response.text);
    assert.equal(response.json.rerunOf, failedId);
    assert.deepEqual([...response.json.rerunSteps].sort(), ['load', 'transform']);
    assert.deepEqual(response.json.reusedSteps, ['export']);

    const rerun = await finished(response.json.runId);
    assert.equal(rerun.status, 'succeeded');
    assert.equal(rerun.rerunOf, failedId);
    assert.deepEqual(rerun.steps.map((s) => [s.id, s.status]), [
      ['export', 'reused'],
      ['load', 'succeeded'],
      ['transform', 'succeeded'],
    ]);
    assert.equal(rerun.metrics['load']?.['rowsLoaded'], 3447);
    const after = app.world.callCounts();
    assert.deepEqual(
      { export: after.export - atFailure.export, load: after.load - atFailure.load, transform: after.transform - atFailure.transform },
      { export: 0, load: 1, transform: 1 },
    );
    // The failed run is untouched by its rerun.
    assert.equal((await getRun(failedId)).status, 'failed');

    // Rerun of the (succeeded) rerun from a step: that step and what follows, nothing upstream.
    const beforeStep = app.world.callCounts();
    const fromStep = await app.api<StartResponse & { rerunSteps: string[]; reusedSteps: string[] }>('POST', `runs/${response.json.runId}/rerun`, { from: 'transform' });
    assert.equal(fromStep.status, 202, fromStep.text);
    assert.deepEqual(fromStep.json.rerunSteps, ['transform']);
    assert.deepEqual([...fromStep.json.reusedSteps].sort(), ['export', 'load']);
    const again = await finished(fromStep.json.runId);
    assert.equal(again.status, 'succeeded');
    assert.deepEqual(again.steps.map((s) => [s.id, s.status]), [
      ['export', 'reused'],
      ['load', 'reused'],
      ['transform', 'succeeded'],
    ]);
    // Reused steps keep their metrics: the new run still reports the rows loaded.
    assert.equal(again.metrics['load']?.['rowsLoaded'], 3447);
    const afterStep = app.world.callCounts();
    assert.deepEqual(
      { export: afterStep.export - beforeStep.export, load: afterStep.load - beforeStep.load, transform: afterStep.transform - beforeStep.transform },
      { export: 0, load: 0, transform: 1 },
    );
    // Rerunning a run that succeeded entirely "from failed" has nothing to do.
    assert.equal((await app.api('POST', `runs/${fromStep.json.runId}/rerun`, { from: 'failed' })).status, 409);
  });
});
