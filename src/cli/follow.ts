/**
 * `--follow`: streams a run's step transitions and log lines until it ends, then returns the exit
 * code of its final status (0 succeeded, 1 failed, 2 cancelled) — what Prefect's CLI never did.
 *
 * Every line shows the server's time (the virtual clock in the demo), never this machine's, and step
 * transitions and log lines are printed in the order they happened, so a step's sixth failure never
 * comes before the log lines of its attempts 2–6. Each poll reads the run's view, then its log; the
 * log may already hold lines from after the view (the next step started in between), so lines from
 * after the view's `asOf` are held back for the next poll, where the view that explains them arrives.
 */
import { itemCountsText, splitItems } from '../core/itemCounts';
import type { TriggerWords } from '../core/trigger';
import { isTerminalRunStatus } from '../core/runStatus';
import { repeatedErrors, type RepeatedErrors } from '../core/repeatedErrors';
import { calculateRetryDelay, delay } from '@azure/core-util';
import { TransientCliError, type ApiClient } from './client';
import { runViewAnswer, logPageAnswer } from './answers';
import { CliError, EXIT } from './exitCodes';
import { inLine, oneLine } from '../core/visibleText';

interface StepView {
  id: string;
  status: string;
  attempts: { attempt: number; status: string; startedAt?: string; endedAt?: string; durationSeconds?: number; error?: { message: string; class: string } }[];
  metrics?: Record<string, unknown>;
  error?: { message: string; class: string };
  nextAt?: string;
  /** Waiting for a slot of a shared pool (src/engine/pools.ts). */
  pool?: { name: string; position: number };
  /** A forEach step: its items counted by status (the items are steps `<id>[<index>]`). */
  items?: Record<string, number>;
  /** A pipeline step: the child run its last attempt started (src/api/runLinks.ts). */
  childRun?: { runId: string; pipeline: string };
}

export interface RunViewJson {
  runId: string;
  pipeline: string;
  status: string;
  trigger?: TriggerWords;
  durationSeconds?: number;
  startedAt?: string;
  createdAt?: string;
  endedAt?: string;
  pipelineAttempt?: number;
  /** While a failed round waits for its pipeline retry (published by the engine): which attempt, and when. */
  pipelineRetry?: { attempt: number; at: string };
  /** While the run waits for a slot of a run-level pool, before its first step. */
  pool?: { name: string; position: number };
  error?: { message: string; stepId?: string };
  /** The definition version the run follows, the deployed one, and whether they are the same. */
  definition?: { version: string | null; currentVersion: string | null; current: boolean };
  steps: StepView[];
  /** A run a pipeline step started: that run and step (src/api/runLinks.ts). */
  parent?: { runId: string; stepId: string };
  metrics: Record<string, Record<string, unknown>>;
  /** The server's time when it read the view: everything before it is in the view. */
  asOf?: string;
}

interface LogLineJson {
  time: string;
  level: string;
  msg: string;
  stepId?: string;
  attempt?: number;
  cursor: string;
}

interface LogPage {
  lines: LogLineJson[];
  nextCursor: string | null;
}

export interface FollowOptions {
  readonly json: boolean;
  readonly intervalMs: number;
  readonly write: (line: string) => void;
  /** Logs only (the `logs --follow` command) or steps and logs. */
  readonly steps: boolean;
  /** First wait before retrying a transient failure (default 1 s; doubled with jitter up to 30 s). */
  readonly retryDelayMs?: number;
  /** Say each item of a forEach step too (default: the step's counts by status). */
  readonly items?: boolean;
}

/**
 * Tries of one read while following before giving up: with the default delays (1, 2, 4, 8, 16 s,
 * jittered) about half a minute of 502s, resets or stalls — a restart or deploy of the app — is
 * ridden out. Then the CLI exits EXIT.couldNotFollow: never 1, which means "the run failed".
 */
export const FOLLOW_TRIES = 6;

export const exitCodeFor = (status: string): number =>
  status === 'succeeded' ? EXIT.ok : status === 'cancelled' ? EXIT.cancelled : EXIT.failed;

/** HH:MM:SS of a server time; blank when the server gave none (never this machine's clock). */
const clock = (iso?: string) => (iso ? iso.slice(11, 19) : ' '.repeat(8));

const RUN_END = /^run (succeeded|failed|cancelled)\b/;

/**
 * A run-log message as a user should read it: the run's end line carries its error, which for a
 * cancelled run is itself "run cancelled[: reason]" — say it once.
 */
export function logText(msg: string): string {
  const doubled = /^run (\w+): run \1(?::\s*([\s\S]*))?$/.exec(msg);
  return doubled ? `run ${doubled[1] ?? ''}${doubled[2] ? `: ${doubled[2]}` : ''}` : msg;
}

/** The run's last line: its status and error (naming the step), once. */
const endLine = (run: RunViewJson): string =>
  logText(run.error ? `run ${run.status}: ${run.error.stepId ? `${run.error.stepId}: ` : ''}${run.error.message}` : `run ${run.status}`);

/** One log line for a terminal; `logs` shows the full date-time, `--follow` the time of day. */
export const formatLogLine = (line: Pick<LogLineJson, 'time' | 'level' | 'msg' | 'stepId'>, time: (iso: string) => string = clock): string =>
  oneLine(`${time(line.time)}  ${(line.stepId ?? '').padEnd(12)} ${line.level.toUpperCase().padEnd(5)} ${logText(line.msg)}`);

/** At one server time: a log line, then the step's new state, then the retry notice. */
const RANK = { log: 0, step: 1, retry: 2 } as const;

interface Printable {
  /** Server time; undefined for a step that has not run (pending, skipped, reused). */
  readonly time?: string;
  readonly rank: number;
  /** The line, given the time to show. */
  readonly text: (time: string | undefined) => string;
  readonly json: Record<string, unknown>;
}

export async function follow(client: ApiClient, runId: string, options: FollowOptions): Promise<{ exitCode: number; run: RunViewJson }> {
  const seen = new Map<string, string>();
  let cursor: string | undefined;
  let endTime: string | undefined;
  let retryAnnouncedFor = 1;
  let poolAnnounced = '';
  // A repeated error is said once, then referred to (src/core/repeatedErrors.ts); texts are made
  // when printed, so "first" is the first printed.
  const repeats = repeatedErrors();
  /** The latest server time printed: a step that has not run is shown "as of" it. */
  let lastTime: string | undefined;
  /** Events after the latest view's `asOf`, printed once a later view covers them. */
  let held: Printable[] = [];
  let seenRun = false;
  /** One read, retried on transient failures (core-util's exponential delay with jitter). */
  const read = async <T>(path: string, query: Record<string, string | number | undefined>, shape: Parameters<ApiClient['get']>[2]): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await client.get<T>(path, query, shape);
      } catch (error) {
        if (!(error instanceof TransientCliError)) throw error;
        if (attempt >= FOLLOW_TRIES) {
          // Never seen: the server is not there (its own exit code). Seen: the run goes on without us.
          if (!seenRun) throw error;
          throw new CliError(`could not follow run ${runId} after ${FOLLOW_TRIES} tries: ${error.message}. The run goes on: durable-pipelines logs ${runId} --follow`, EXIT.couldNotFollow);
        }
        await delay(calculateRetryDelay(attempt - 1, { retryDelayInMs: options.retryDelayMs ?? 1000, maxRetryDelayInMs: 30_000 }).retryAfterInMs);
      }
    }
  };
  for (;;) {
    const run = await read<RunViewJson>(`runs/${encodeURIComponent(runId)}`, options.items === true ? { items: 'all' } : {}, runViewAnswer);
    seenRun = true;
    const events: Printable[] = held;
    held = [];
    if (options.steps) {
      // Items of a forEach step are said through their step's counts, unless asked for (--items).
      for (const step of options.items === true ? run.steps : splitItems(run.steps).steps) {
        const last = step.attempts.at(-1);
        const key = `${step.status}#${step.attempts.length}${step.pool ? `#${step.pool.name}@${step.pool.position}` : ''}#${step.items ? itemCountsText(step.items) : ''}`;
        if (seen.get(step.id) === key) continue;
        seen.set(step.id, key);
        const time = last?.endedAt ?? last?.startedAt;
        events.push({
          ...(time ? { time } : {}),
          rank: RANK.step,
          text: (t) => `${clock(t)}  ${step.id.padEnd(12)} ${describe(step, repeats)}${step.childRun ? inLine` (child run ${step.childRun.runId})` : ''}`,
          json: { event: 'step', runId, step: step.id, status: step.status, attempt: last?.attempt ?? 0, error: step.error ?? last?.error ?? null, metrics: step.metrics ?? null, ...(step.childRun ? { childRunId: step.childRun.runId } : {}) },
        });
      }
    }
    // The engine publishes the wait (src/engine: RunState.pipelineRetry); said once per attempt, by
    // `logs --follow` too: the one line that tells why a failed-looking run is still running.
    // A run-level pool's queue: said once per position.
    const poolWait = run.pool;
    if (poolWait && `${poolWait.name}@${poolWait.position}` !== poolAnnounced) {
      poolAnnounced = `${poolWait.name}@${poolWait.position}`;
      events.push({
        rank: RANK.retry,
        text: (t) => `${clock(t)}  ${''.padEnd(12)} run waiting for pool ${poolWait.name} (position ${poolWait.position})`,
        json: { event: 'poolWait', runId, pool: poolWait.name, position: poolWait.position },
      });
    }
    const wait = run.pipelineRetry;
    if (wait && wait.attempt > retryAnnouncedFor) {
      retryAnnouncedFor = wait.attempt;
      const failedAt = run.steps.flatMap((s) => s.attempts.map((a) => a.endedAt ?? '')).sort().at(-1) || run.asOf;
      events.push({
        ...(failedAt ? { time: failedAt } : {}),
        rank: RANK.retry,
        text: (t) => `${clock(t)}  ${''.padEnd(12)} run failed (pipeline attempt ${wait.attempt - 1}); pipeline attempt ${wait.attempt} at ${wait.at.slice(11, 16)} UTC`,
        json: { event: 'pipelineRetry', runId, pipelineAttempt: wait.attempt, at: wait.at },
      });
    }
    for (;;) {
      const page = await read<LogPage>(`runs/${encodeURIComponent(runId)}/logs`, { after: cursor, limit: 500 }, logPageAnswer);
      for (const line of page.lines) {
        // The run's own "run <status>" line is said once, last, from the run's view (which names the
        // step): the view polled just before may not have shown every step's final state yet.
        if (!line.stepId && RUN_END.test(line.msg)) {
          endTime = line.time;
          if (!options.json) continue;
        }
        events.push({ time: line.time, rank: RANK.log, text: () => formatLogLine({ ...line, msg: repeats.line(line.msg) }), json: { event: 'log', runId, ...line } });
      }
      const next = page.nextCursor ?? cursor;
      if (page.lines.length === 0 || next === cursor) break;
      cursor = next ?? undefined;
    }
    const terminal = isTerminalRunStatus(run.status);
    // A finished run's view is final; an older server gives no `asOf` and everything prints at once.
    const watermark = terminal || !options.steps ? undefined : run.asOf;
    // Lines at `asOf` itself print now: the demo's virtual clock stands still while a step works, so
    // holding them would hold everything until the clock moves (nothing would stream).
    const now = watermark === undefined ? events : events.filter((e) => e.time === undefined || e.time <= watermark);
    if (watermark !== undefined) held = events.filter((e) => e.time !== undefined && e.time > watermark);
    // A step that has not run is shown as of the latest server time printed (never this machine's clock).
    // (Held events are after the watermark, which is at or after the run's start: never earlier.)
    lastTime = [lastTime, run.startedAt ?? run.createdAt, ...now.map((e) => e.time)].filter((t) => t !== undefined).sort().at(-1);
    // A step's error or a log line comes from downstream services: one line each, no control characters.
    for (const event of inTimeOrder(now, lastTime)) options.write(options.json ? JSON.stringify(event.json) : oneLine(event.text(event.time ?? lastTime)));
    if (terminal) {
      if (options.json) options.write(JSON.stringify({ event: 'end', runId, status: run.status, durationSeconds: run.durationSeconds ?? null, error: run.error ?? null }));
      else options.write(oneLine(`${clock(endTime ?? run.endedAt ?? lastTime)}  ${endLine(run)}`));
      return { exitCode: exitCodeFor(run.status), run };
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs));
  }
}

/** Stable sort by server time, then rank; an event without a time counts as `untimed` (the latest time seen). */
function inTimeOrder(events: readonly Printable[], untimed = ''): Printable[] {
  return events
    .map((event, index) => ({ event, index, time: event.time ?? untimed }))
    .sort((a, b) => a.time.localeCompare(b.time) || a.event.rank - b.event.rank || a.index - b.index)
    .map((x) => x.event);
}

/** A step's state in words; an error said before for this step is referred to by its first attempt. */
function describe(step: StepView, repeats: RepeatedErrors): string {
  const last = step.attempts.at(-1);
  const attempt = last ? ` (attempt ${last.attempt})` : '';
  const said = (message: string | undefined): string => (message === undefined ? '' : repeats.error(step.id, last?.attempt ?? 0, message));
  switch (step.status) {
    case 'failed':
      return `failed${attempt}: ${said((step.error ?? last?.error)?.message)}${step.items ? ` — ${itemCountsText(step.items)}` : ''}`;
    case 'waiting':
      if (step.pool) return `waiting for pool ${step.pool.name} (position ${step.pool.position})`;
      return `waiting to retry${attempt}${last?.error ? ` after: ${said(last.error.message)}` : ''}${step.nextAt ? ` — next at ${clock(step.nextAt)}` : ''}`;
    case 'succeeded': {
      const rows = step.metrics?.['rowsLoaded'];
      if (step.items) return `succeeded — ${itemCountsText(step.items)}`;
      return `succeeded${attempt}${last?.durationSeconds !== undefined ? ` in ${last.durationSeconds.toFixed(1)}s` : ''}${typeof rows === 'number' ? `, ${rows} rows loaded` : ''}`;
    }
    default:
      return `${step.status}${attempt}${step.items ? ` — ${itemCountsText(step.items)}` : ''}`;
  }
}
