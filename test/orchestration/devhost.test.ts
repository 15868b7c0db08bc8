/**
 * The development host: orchestrations replayed by durable-functions' own engine, activities,
 * timers in virtual time, events, sub-orchestrations, continueAsNew, terminate, the real
 * DurableClient over the host's extension endpoints, HTTP triggers and timer triggers.
 * Sample functions are plain Registration objects (the global registry is not touched).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { InvocationContext, HttpRequest, Timer } from '@azure/functions';
import type { DurableClient, OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import type { Registration } from '../../src/app/registry';
import { readFailure, toActivityError, TransientError, PermanentError } from '../../src/core/errors';
import { DevHost, EventType, replayFromScratch } from '../../src/devhost';

const T0 = new Date('2026-03-02T10:07:00Z');

function orchestration(name: string, body: (context: OrchestrationContext) => Generator<Task, unknown, unknown>): Registration {
  return { kind: 'orchestration', name, handler: body as OrchestrationHandler };
}

function activity(name: string, handler: (input: unknown, context: InvocationContext) => unknown): Registration {
  return { kind: 'activity', name, handler: async (input: unknown, context: InvocationContext) => await handler(input, context) };
}

async function withHost(options: Parameters<typeof DevHost.start>[0], run: (host: DevHost) => Promise<void>): Promise<void> {
  const host = await DevHost.start({ clock: 'virtual', startTime: T0, httpPort: false, hostJson: {}, ...options });
  try {
    await run(host);
  } finally {
    await host.stop();
  }
}

/** A timer trigger `hourly` that records each fire (virtual time, isPastDue) in `fired`. */
function recordingTimer(schedule: string, runOnStartup: boolean, fired: { at: string; isPastDue: boolean }[], clock: () => DevHost | undefined): Registration[] {
  return [{
    kind: 'timer',
    name: 'hourly',
    options: { schedule, runOnStartup },
    handler: async (timer: Timer) => {
      await Promise.resolve();
      fired.push({ at: clock()?.now().toISOString() ?? '', isPastDue: timer.isPastDue });
    },
  }];
}

function minutesSinceStart(host: DevHost): number {
  return (host.now().getTime() - T0.getTime()) / 60_000;
}

void describe('development host', () => {
  void test('an activity chain passes each result on; activities get their input and an InvocationContext', async () => {
    const seen: string[] = [];
    const registrations = [
      activity('upper', (input, context) => {
        seen.push(`${context.functionName}:${String(context.triggerMetadata?.['instanceId'])}`);
        return String(input).toUpperCase();
      }),
      activity('exclaim', (input) => `${String(input)}!`),
      orchestration('chain', function* (context) {
        const name = context.df.getInput<string>();
        const upper = (yield context.df.callActivity('upper', name)) as string;
        const loud = (yield context.df.callActivity('exclaim', upper)) as string;
        return { loud };
      }),
    ];
    await withHost({ registrations }, async (host) => {
      const id = await host.client.startNew('chain', { instanceId: 'chain-1', input: 'pipeline' });
      const status = await host.waitFor(id);
      assert.equal(status.runtimeStatus, 'Completed');
      assert.deepEqual(status.output, { loud: 'PIPELINE!' });
      assert.equal(status.input, 'pipeline');
      assert.deepEqual(seen, ['upper:chain-1']);
      const scheduled = host.history(id).filter((e) => e.EventType === EventType.TaskScheduled).map((e) => e['Name']);
      assert.deepEqual(scheduled, ['upper', 'exclaim']);
      assert.equal(host.stats(id).replays, 3, 'start, then one wake-up per activity result');
      // the extension's status body names the list `historyEvents` (HttpApiHandler.ConvertFrom)
      const response = await fetch(`${host.rpcBaseUrl}instances/${id}?showHistory=true&showHistoryOutput=true`);
      const body = (await response.json()) as { historyEvents?: unknown; history?: unknown };
      assert.equal(body.history, undefined, 'no extra `history` key');
      const completions = (body.historyEvents ?? []) as { EventType: string; FunctionName?: string; Result?: unknown }[];
      assert.deepEqual(
        completions.filter((e) => e.EventType === 'TaskCompleted').map((e) => [e.FunctionName, e.Result]),
        [['upper', 'PIPELINE'], ['exclaim', 'PIPELINE!']],
      );
    });
  });

  void test('retries wait on durable timers in virtual time: two 300 s delays move the clock exactly 600 s', async () => {
    const attemptsAt: number[] = [];
    let host: DevHost | undefined;
    const registrations = [
      activity('flaky', () => {
        attemptsAt.push(minutesSinceStart(host as DevHost));
        if (attemptsAt.length < 3) throw toActivityError(new TransientError(`HTTP 503 on attempt ${attemptsAt.length}`, { code: '503' }));
        return 'exported';
      }),
      orchestration('retrying', function* (context) {
        const classes: string[] = [];
        for (let attempt = 1; ; attempt++) {
          try {
            const result = (yield context.df.callActivity('flaky')) as string;
            return { result, attempt, classes };
          } catch (error) {
            const failure = readFailure((error as Error).message);
            classes.push(`${failure?.class ?? 'unreadable'}:${failure?.code ?? ''}`);
            if (failure?.class !== 'transient' || attempt >= 3) throw error;
            yield context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + 300_000));
          }
        }
      }),
    ];
    await withHost({ registrations }, async (started) => {
      host = started;
      const id = await started.client.startNew('retrying', { instanceId: 'retry-1' });
      const status = await started.waitFor(id);
      assert.equal(status.runtimeStatus, 'Completed');
      assert.deepEqual(status.output, { result: 'exported', attempt: 3, classes: ['transient:503', 'transient:503'] });
      assert.deepEqual(attemptsAt, [0, 5, 10]);
      assert.equal(minutesSinceStart(started), 10);
      const timers = started.history(id).filter((e) => e.EventType === EventType.TimerFired);
      assert.equal(timers.length, 2);
    });
  });

  void test('fan-out activities run concurrently and fan back in; Task.any takes the first finisher', async () => {
    let startedCount = 0;
    let releaseAll: () => void = () => undefined;
    const allStarted = new Promise<void>((resolve) => (releaseAll = resolve));
    const registrations = [
      // each waits until all five are running: only concurrent execution can finish
      activity('square', async (input) => {
        startedCount++;
        if (startedCount === 5) releaseAll();
        await allStarted;
        return (input as number) ** 2;
      }),
      orchestration('fan', function* (context) {
        const squares = (yield context.df.Task.all([1, 2, 3, 4, 5].map((n) => context.df.callActivity('square', n)))) as number[];
        const deadline = context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + 60_000));
        const approval = context.df.waitForExternalEvent('approve');
        const winner: unknown = yield context.df.Task.any([approval, deadline]);
        return { sum: squares.reduce((a, b) => a + b, 0), approved: winner === approval };
      }),
    ];
    await withHost({ registrations }, async (host) => {
      const id = await host.client.startNew('fan', { instanceId: 'fan-1' });
      const status = await host.waitFor(id, { timeoutMs: 10_000 });
      assert.equal(status.runtimeStatus, 'Completed');
      assert.deepEqual(status.output, { sum: 55, approved: false });
      assert.equal(minutesSinceStart(host), 1, 'the Task.any timeout branch fired after 60 virtual seconds');
    });
  });

  void test('a sub-orchestration returns its output; a failing one carries the activity classification to the parent', async () => {
    const registrations = [
      activity('double', (input) => (input as number) * 2),
      activity('deny', () => {
        throw toActivityError(new PermanentError('HTTP 401 from export', { code: '401' }));
      }),
      orchestration('child', function* (context) {
        const n = context.df.getInput<number>();
        if (n < 0) yield context.df.callActivity('deny');
        return (yield context.df.callActivity('double', n));
      }),
      orchestration('parent', function* (context) {
        const ok = (yield context.df.callSubOrchestrator('child', 21, 'parent-1-child-a')) as number;
        try {
          yield context.df.callSubOrchestrator('child', -1, 'parent-1-child-b');
          return { ok, failure: null };
        } catch (error) {
          return { ok, failure: readFailure((error as Error).message) ?? (error as Error).message };
        }
      }),
    ];
    await withHost({ registrations }, async (host) => {
      const id = await host.client.startNew('parent', { instanceId: 'parent-1' });
      const status = await host.waitFor(id);
      assert.equal(status.runtimeStatus, 'Completed');
      assert.deepEqual(status.output, { ok: 42, failure: { class: 'permanent', message: 'HTTP 401 from export', code: '401' } });
      const child = await host.client.getStatus('parent-1-child-b');
      assert.equal(child.runtimeStatus, 'Failed');
    });
  });

  void test('an orchestrator waiting for an external event sleeps until the client raises it', async () => {
    const registrations = [
      orchestration('approval', function* (context) {
        context.df.setCustomStatus({ waiting: 'approve' });
        const decision = (yield context.df.waitForExternalEvent('approve')) as { by: string };
        context.df.setCustomStatus({ waiting: null });
        return `approved by ${decision.by}`;
      }),
    ];
    await withHost({ registrations }, async (host) => {
      const id = await host.client.startNew('approval', { instanceId: 'approval-1' });
      await host.runUntilIdle();
      const waiting = await host.client.getStatus(id);
      assert.equal(waiting.runtimeStatus, 'Running');
      assert.deepEqual(waiting.customStatus, { waiting: 'approve' });
      await host.client.raiseEvent(id, 'approve', { by: 'ops' });
      const done = await host.waitFor(id);
      assert.equal(done.output, 'approved by ops');
      assert.deepEqual(done.customStatus, { waiting: null });
      await assert.rejects(host.client.raiseEvent('nobody', 'approve', {}), /No instance with ID 'nobody' found/);
    });
  });

  void test('after continueAsNew, a sub-orchestration answers the execution that started it: dropped; a raised event reaches the new one', async () => {
    // DurableTask.Core drops a message whose ExecutionId is not the current one
    // (TaskOrchestrationDispatcher.ReconcileMessagesWithState, "ExecutionIdMismatch"); a raised event
    // names no execution (the extension's DurableClient clears its ExecutionId), so it is delivered.
    const registrations = [
      orchestration('waiter', function* (context) {
        yield context.df.waitForExternalEvent('go');
        return 'child result';
      }),
      orchestration('continuing', function* (context) {
        const { execution } = context.df.getInput<{ execution: number }>();
        const df = context.df;
        if (execution === 1) {
          const child = df.callSubOrchestrator('waiter', undefined, 'continuing-1:child');
          yield df.Task.any([child, df.createTimer(new Date(df.currentUtcDateTime.getTime() + 1000))]);
          df.continueAsNew({ execution: 2 });
          return undefined;
        }
        // Task 0 of this execution: a stale answer to the first execution's task 0 must not end it.
        const timer = df.createTimer(new Date(df.currentUtcDateTime.getTime() + 10 * 60_000));
        const early = (yield timer);
        const timerAt = df.currentUtcDateTime.toISOString();
        const event = (yield df.waitForExternalEvent('finish'));
        return { early: early ?? null, timerAt, event };
      }),
    ];
    await withHost({ registrations }, async (host) => {
      const id = await host.client.startNew('continuing', { instanceId: 'continuing-1', input: { execution: 1 } });
      await host.advance(2000);
      assert.equal(host.stats(id).executions, 2);
      await host.client.raiseEvent('continuing-1:child', 'go', null);
      assert.equal((await host.waitFor('continuing-1:child')).runtimeStatus, 'Completed');
      await host.advance(11 * 60_000);
      await host.client.raiseEvent(id, 'finish', 'done');
      const status = await host.waitFor(id);
      assert.deepEqual(status.output, { early: null, timerAt: new Date(T0.getTime() + 1000 + 10 * 60_000).toISOString(), event: 'done' });
    });
  });

  void test('continueAsNew starts a fresh history, so a long poll keeps every execution small', async () => {
    const registrations = [
      activity('poll', (input) => ({ done: (input as number) >= 119 })),
      orchestration('poller', function* (context) {
        const state = context.df.getInput<{ polls: number }>();
        for (let i = 0; i < 10; i++) {
          const result = (yield context.df.callActivity('poll', state.polls + i)) as { done: boolean };
          if (result.done) return { polls: state.polls + i + 1 };
          yield context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + 30_000));
        }
        context.df.continueAsNew({ polls: state.polls + 10 });
        return undefined;
      }),
    ];
    await withHost({ registrations }, async (host) => {
      const id = await host.client.startNew('poller', { instanceId: 'poller-1', input: { polls: 0 } });
      const status = await host.waitFor(id);
      assert.deepEqual(status.output, { polls: 120 });
      const stats = host.stats(id);
      assert.equal(stats.executions, 12);
      assert.equal(stats.historyEventsPerExecution.length, 12);
      const full = stats.historyEventsPerExecution.slice(0, -1);
      assert.ok(full.every((n) => n === full[0]), `executions of ten polls have equal history: ${full.join(',')}`);
      // ten polls × (scheduled, completed, timer created, timer fired, 2 × started/completed) + start/end
      assert.ok(stats.maxHistoryEvents <= 10 * 8 + 4, `history stays bounded: ${stats.maxHistoryEvents}`);
      assert.equal(minutesSinceStart(host), (119 * 30) / 60);
      assert.equal(host.history(id)[1]?.EventType, EventType.ExecutionStarted);
    });
  });

  void test('terminate ends the instance as Terminated and drops its pending timer and later work', async () => {
    let laterRan = false;
    const registrations = [
      activity('later', () => {
        laterRan = true;
      }),
      orchestration('sleepy', function* (context) {
        yield context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + 3_600_000));
        yield context.df.callActivity('later');
        return 'woke';
      }),
    ];
    await withHost({ registrations }, async (host) => {
      const id = await host.client.startNew('sleepy', { instanceId: 'sleepy-1' });
      await host.advance(60_000);
      await host.client.terminate(id, 'cancelled by user');
      const status = await host.waitFor(id);
      assert.equal(status.runtimeStatus, 'Terminated');
      assert.equal(status.output, 'cancelled by user');
      await host.runUntilIdle();
      assert.equal(minutesSinceStart(host), 1, 'no timer left to jump to');
      assert.equal(laterRan, false);
      await host.client.terminate(id, 'again'); // 410 Gone is not an error for the client
    });
  });

  void test('startNew on a running instance id is rejected; on a completed one it overwrites (NonRunningStates)', async () => {
    const registrations = [
      orchestration('gate', function* (context) {
        return (yield context.df.waitForExternalEvent('go'));
      }),
    ];
    await withHost({ registrations, hostJson: { extensions: { durableTask: { overridableExistingInstanceStates: 'NonRunningStates' } } } }, async (host) => {
      await host.client.startNew('gate', { instanceId: 'run-2026-03-02', input: 'first' });
      await host.runUntilIdle();
      await assert.rejects(
        host.client.startNew('gate', { instanceId: 'run-2026-03-02', input: 'second' }),
        /unexpected status code: 500.*An Orchestration instance with the status Running already exists/,
      );
      await host.client.raiseEvent('run-2026-03-02', 'go', 'one');
      assert.equal((await host.waitFor('run-2026-03-02')).output, 'one');

      await host.client.startNew('gate', { instanceId: 'run-2026-03-02', input: 'third' });
      await host.runUntilIdle();
      const restarted = await host.client.getStatus('run-2026-03-02');
      assert.equal(restarted.runtimeStatus, 'Running');
      assert.equal(restarted.input, 'third');
    });
  });

  void test('with AnyState in host.json, startNew overwrites even a running instance', async () => {
    const registrations = [
      orchestration('gate', function* (context) {
        return (yield context.df.waitForExternalEvent('go'));
      }),
    ];
    await withHost({ registrations, hostJson: { extensions: { durableTask: { overridableExistingInstanceStates: 'AnyState' } } } }, async (host) => {
      await host.client.startNew('gate', { instanceId: 'dup', input: 'first' });
      await host.runUntilIdle();
      await host.client.startNew('gate', { instanceId: 'dup', input: 'second' });
      await host.runUntilIdle();
      assert.equal((await host.client.getStatus('dup')).input, 'second');
    });
  });

  void test('getStatusBy filters by status and creation time and follows continuation tokens', async () => {
    const registrations = [
      activity('noop', () => 'ok'),
      orchestration('quick', function* (context) {
        return (yield context.df.callActivity('noop'));
      }),
      orchestration('gate', function* (context) {
        return (yield context.df.waitForExternalEvent('go'));
      }),
    ];
    await withHost({ registrations, statusPageSize: 2 }, async (host) => {
      for (let i = 0; i < 5; i++) {
        await host.client.startNew('quick', { instanceId: `q${i}` });
        await host.advance(60_000);
      }
      await host.client.startNew('gate', { instanceId: 'g0' });
      await host.runUntilIdle();

      const firstPage = await fetch(`${host.rpcBaseUrl}instances/?runtimeStatus=Completed`);
      assert.equal(((await firstPage.json()) as unknown[]).length, 2);
      assert.ok(firstPage.headers.get('x-ms-continuation-token'), 'a continuation token for the next page');

      const completed = await host.client.getStatusBy({ runtimeStatus: ['Completed' as never] });
      assert.deepEqual(completed.map((s) => s.instanceId), ['q0', 'q1', 'q2', 'q3', 'q4']);
      const running = await host.client.getStatusBy({ runtimeStatus: ['Running' as never] });
      assert.deepEqual(running.map((s) => s.instanceId), ['g0']);
      const recent = await host.client.getStatusBy({ createdTimeFrom: new Date(T0.getTime() + 2 * 60_000) });
      assert.deepEqual(recent.map((s) => s.instanceId), ['q2', 'q3', 'q4', 'g0']);
      assert.equal((await host.client.getStatusAll()).length, 6);

      const purged = await host.client.purgeInstanceHistory('q0');
      assert.equal(purged.instancesDeleted, 1);
      await assert.rejects(host.client.getStatus('q0'), /404/);
      const purgedBy = await host.client.purgeInstanceHistoryBy({ runtimeStatus: ['Completed' as never] });
      assert.equal(purgedBy.instancesDeleted, 4);
    });
  });

  void test('HTTP triggers route /api/<route> with parameters and check the function key', async () => {
    const registrations: Registration[] = [
      orchestration('named', function* (context) {
        yield* [];
        return `ran ${context.df.getInput<string>()}`;
      }),
      {
        kind: 'http',
        name: 'startRun',
        options: { route: 'pipelines/{name}/runs', methods: ['POST'], authLevel: 'function' },
        handler: async (request: HttpRequest, client: DurableClient) => {
          const body = (await request.json()) as { note: string };
          const id = await client.startNew('named', { instanceId: `run-${request.params['name'] ?? ''}`, input: body.note });
          return client.createCheckStatusResponse(request, id);
        },
      },
      {
        kind: 'http',
        name: 'health',
        options: { route: 'health', methods: ['GET'], authLevel: 'anonymous' },
        handler: () => Promise.resolve({ status: 200, jsonBody: { ok: true } }),
      },
    ];
    await withHost({ registrations, httpPort: 0, functionKey: 'sekret' }, async (host) => {
      const base = host.baseUrl ?? '';
      const post = (path: string, headers: Record<string, string> = {}): Promise<Response> =>
        fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ note: 'nightly' }) });

      assert.equal((await post('/api/pipelines/seed/runs')).status, 401);
      assert.equal((await post('/api/pipelines/seed/runs', { 'x-functions-key': 'wrong' })).status, 401);
      const accepted = await post('/api/pipelines/seed/runs', { 'x-functions-key': 'sekret' });
      assert.equal(accepted.status, 202);
      const payload = (await accepted.json()) as { id: string; statusQueryGetUri: string };
      assert.equal(payload.id, 'run-seed');
      assert.equal((await host.waitFor('run-seed')).output, 'ran nightly');

      assert.equal((await post('/api/pipelines/other/runs?code=sekret')).status, 202);
      assert.equal((await fetch(`${base}/api/health`)).status, 200);
      assert.deepEqual(await (await fetch(`${base}/api/health`)).json(), { ok: true });
      // The method is a route constraint in the host: a GET on a POST route is no route, 404.
      assert.equal((await fetch(`${base}/api/pipelines/seed/runs`, { headers: { 'x-functions-key': 'sekret' } })).status, 404);
      assert.equal((await fetch(`${base}/api/nowhere`)).status, 404);

      const status = await fetch(payload.statusQueryGetUri);
      assert.equal(((await status.json()) as { runtimeStatus: string }).runtimeStatus, 'Completed');
    });
  });

  void test('a timer trigger fires at its NCRONTAB minutes in virtual time and can start orchestrations', async () => {
    const fired: { at: string; isPastDue: boolean }[] = [];
    let host: DevHost | undefined;
    const registrations: Registration[] = [
      orchestration('tick', function* () {
        yield* [];
        return 'ticked';
      }),
      {
        kind: 'timer',
        name: 'quarterHourly',
        options: { schedule: '0 */15 * * * *', runOnStartup: false },
        handler: async (timer: Timer, client: DurableClient) => {
          fired.push({ at: (host as DevHost).now().toISOString(), isPastDue: timer.isPastDue });
          await client.startNew('tick', { instanceId: `tick-${fired.length}` });
        },
      },
    ];
    await withHost({ registrations }, async (started) => {
      host = started;
      await host.advance(30 * 60_000); // 10:07 → 10:37
      assert.deepEqual(fired, [
        { at: '2026-03-02T10:15:00.000Z', isPastDue: false },
        { at: '2026-03-02T10:30:00.000Z', isPastDue: false },
      ]);
      assert.equal((await host.waitFor('tick-2')).output, 'ticked');
      assert.equal(host.now().toISOString(), '2026-03-02T10:37:00.000Z');
    });
  });

  void test('after downtime a timer fires once, past due, when its schedule is unchanged (the schedule monitor); not when it changed', async () => {
    const fired: { at: string; isPastDue: boolean }[] = [];
    let clock: DevHost | undefined;
    const hourly = (schedule: string): Registration[] => recordingTimer(schedule, false, fired, () => clock);
    let status: ReturnType<DevHost['timerStatus']> = [];
    await withHost({ registrations: hourly('0 0 * * * *') }, async (host) => {
      clock = host;
      await host.advance(60 * 60_000); // 10:07 → 11:07, fires at 11:00
      status = host.timerStatus();
    });
    // Down from 11:07 to 15:30: the 12:00 fire (and three more) were missed; one fire makes up for them.
    await withHost({ registrations: hourly('0 0 * * * *'), startTime: new Date('2026-03-02T15:30:00Z') }, async (host) => {
      clock = host;
      await host.resumeTimers(status);
      await host.advance(40 * 60_000);
    });
    assert.deepEqual(fired, [
      { at: '2026-03-02T11:00:00.000Z', isPastDue: false },
      { at: '2026-03-02T15:30:00.000Z', isPastDue: true },
      { at: '2026-03-02T16:00:00.000Z', isPastDue: false },
    ]);
    fired.length = 0;
    // A redeploy that changed the expression: the monitor re-plans from now, nothing is past due.
    await withHost({ registrations: hourly('0 30 * * * *'), startTime: new Date('2026-03-02T15:40:00Z') }, async (host) => {
      clock = host;
      await host.resumeTimers(status);
    });
    assert.deepEqual(fired, []);
  });

  void test('a timer listener starts with one invocation: past due when the record says so, else runOnStartup; a change is judged by next occurrences', async () => {
    const fired: { at: string; isPastDue: boolean }[] = [];
    let clock: DevHost | undefined;
    const hourly = (schedule: string): Registration[] => recordingTimer(schedule, true, fired, () => clock);
    const start = async (schedule: string, startTime: string, timerStatus: ReturnType<DevHost['timerStatus']> | undefined, run: (host: DevHost) => Promise<void> = () => Promise.resolve()) => {
      fired.length = 0;
      await withHost({ registrations: hourly(schedule), startTime: new Date(startTime), ...(timerStatus ? { timerStatus } : {}) }, async (host) => {
        clock = host;
        await host.fireTimers();
        await run(host);
      });
    };
    let status: ReturnType<DevHost['timerStatus']> = [];
    // First start: no record, so runOnStartup fires at once; then the schedule.
    await start('0 0 * * * *', '2026-03-02T10:07:00Z', undefined, async (host) => {
      await host.advance(60 * 60_000);
      status = host.timerStatus();
    });
    assert.deepEqual(fired, [{ at: '2026-03-02T10:07:00.000Z', isPastDue: false }, { at: '2026-03-02T11:00:00.000Z', isPastDue: false }]);
    // Down until 15:30: past due, and that is the only start-up invocation (not runOnStartup too).
    await start('0 0 * * * *', '2026-03-02T15:30:00Z', status);
    assert.deepEqual(fired, [{ at: '2026-03-02T15:30:00.000Z', isPastDue: true }]);
    // Another expression with the same next occurrence after the last fire (12:00): not a change.
    await start('0 0 */2 * * *', '2026-03-02T15:40:00Z', status);
    assert.deepEqual(fired, [{ at: '2026-03-02T15:40:00.000Z', isPastDue: true }]);
    // A real change (next after 11:00 is 11:30, not 12:00): re-planned from now, not past due; runOnStartup fires.
    await start('0 30 * * * *', '2026-03-02T15:40:00Z', status);
    assert.deepEqual(fired, [{ at: '2026-03-02T15:40:00.000Z', isPastDue: false }]);
  });

  void test('replayFromScratch reproduces a deterministic orchestrator and flags one that reads changing state', async () => {
    let drift = 0;
    const registrations = [
      activity('step', (input) => input),
      orchestration('steady', function* (context) {
        const a = (yield context.df.callActivity('step', 1)) as number;
        yield context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + 5_000));
        const b = (yield context.df.callActivity('step', a + 1)) as number;
        return b;
      }),
      orchestration('drifting', function* (context) {
        drift++; // state outside the history: a replay sees a different value
        yield context.df.callActivity('step', drift);
        yield context.df.callActivity('step', 0);
        return drift;
      }),
    ];
    await withHost({ registrations }, async (host) => {
      await host.client.startNew('steady', { instanceId: 'steady-1' });
      await host.client.startNew('drifting', { instanceId: 'drift-1' });
      await host.waitFor('steady-1');
      await host.waitFor('drift-1');
      const steady = await replayFromScratch({ name: 'steady', handler: registrations[1]?.handler as OrchestrationHandler }, host.history('steady-1'));
      assert.deepEqual(steady.mismatches, []);
      assert.equal(steady.steps.length, 4);
      const drifting = await replayFromScratch({ name: 'drifting', handler: registrations[2]?.handler as OrchestrationHandler }, host.history('drift-1'));
      assert.ok(drifting.mismatches.length > 0);
    });
  });

  void test('with structured FailureDetails the orchestrator gets a TaskFailedError that still carries the classification', async () => {
    const registrations = [
      activity('throttled', () => {
        throw toActivityError(new TransientError('HTTP 429', { code: '429' }));
      }),
      orchestration('reader', function* (context) {
        try {
          yield context.df.callActivity('throttled');
          return null;
        } catch (error) {
          return { name: (error as Error).name, failure: readFailure((error as Error).message) };
        }
      }),
    ];
    await withHost({ registrations, taskFailureShape: 'failureDetails' }, async (host) => {
      const id = await host.client.startNew('reader');
      const status = await host.waitFor(id);
      assert.deepEqual(status.output, { name: 'TaskFailedError', failure: { class: 'transient', message: 'HTTP 429', code: '429' } });
    });
  });

  void test('an orchestrator that throws fails the instance with the error in its output', async () => {
    const registrations = [
      orchestration('broken', function* () {
        yield* [];
        throw new Error('definition has a cycle');
      }),
    ];
    await withHost({ registrations }, async (host) => {
      const id = await host.client.startNew('broken');
      const status = await host.waitFor(id);
      assert.equal(status.runtimeStatus, 'Failed');
      assert.match(String(status.output), /Orchestrator function 'broken' failed: definition has a cycle/);
    });
  });

  void test('with the real clock a durable timer fires after real time has passed', async () => {
    const registrations = [
      orchestration('nap', function* (context) {
        const startedAt = context.df.currentUtcDateTime.getTime();
        yield context.df.createTimer(new Date(startedAt + 150));
        return context.df.currentUtcDateTime.getTime() - startedAt;
      }),
    ];
    await withHost({ registrations, clock: 'real' }, async (host) => {
      const id = await host.client.startNew('nap');
      const status = await host.waitFor(id, { timeoutMs: 10_000 });
      assert.equal(status.runtimeStatus, 'Completed');
      assert.ok((status.output as number) >= 150, `orchestrator woke ${String(status.output)} ms later`);
      await assert.rejects(host.advance(1000), /virtual clock/);
    });
  });

  void test('real clock: every durable timer fires, one after another, with nothing but the timers driving the host', async () => {
    // Node may call a timeout back a millisecond before Date.now() reaches its end (measured here:
    // about 1 in 70). A host that then found no timer due and did not arm it again left the
    // orchestration waiting forever (the fault suite's lost runs). Nothing here calls waitFor,
    // which would fire due timers itself: only the host's own timeouts move the orchestration, as
    // in a dev host process that only serves HTTP. 300 timers in a row.
    const registrations = [
      orchestration('naps', function* (context) {
        for (let i = 0; i < 300; i++) yield context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + 1 + (i % 5)));
        return 'woke 300 times';
      }),
    ];
    await withHost({ registrations, clock: 'real' }, async (host) => {
      const id = await host.client.startNew('naps');
      let status = host.status(id);
      for (let i = 0; i < 600 && status?.runtimeStatus !== 'Completed'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        status = host.status(id);
      }
      assert.equal(status?.runtimeStatus, 'Completed', `stuck after ${host.history(id).filter((e) => e.EventType === EventType.TimerFired).length} timers`);
    });
  });

  void test('virtual time does not jump while an activity is still working', async () => {
    const registrations = [
      activity('slow', async () => {
        await new Promise((resolve) => setTimeout(resolve, 100)); // real work, real time
        return 'finished';
      }),
      orchestration('race', function* (context) {
        const work = context.df.callActivity('slow');
        const deadline = context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + 1_000));
        const winner: unknown = yield context.df.Task.any([work, deadline]);
        return winner === work ? 'work first' : 'deadline first';
      }),
    ];
    await withHost({ registrations }, async (host) => {
      const id = await host.client.startNew('race');
      const status = await host.waitFor(id);
      assert.equal(status.output, 'work first');
      assert.equal(host.now().getTime(), T0.getTime(), 'the 1 s timer never became due');
    });
  });
});
