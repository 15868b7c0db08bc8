/**
 * `--follow`: streams a run's step transitions and log lines until it ends, then returns the exit
 * code of its final status (0 succeeded, 1 failed, 2 cancelled) — what Prefect's CLI never did.
 */
import type { TriggerWords } from '../core/trigger';
import { isTerminalRunStatus } from '../core/runStatus';
import type { ApiClient } from './client';
import { EXIT } from './exitCodes';
import { oneLine } from './terminal';

interface StepView {
  id: string;
  status: string;
  attempts: { attempt: number; status: string; startedAt?: string; endedAt?: string; durationSeconds?: number; error?: { message: string; class: string } }[];
  metrics?: Record<string, unknown>;
  error?: { message: string; class: string };
  nextAt?: string;
}

export interface RunViewJson {
  runId: string;
  pipeline: string;
  status: string;
  trigger?: TriggerWords;
  durationSeconds?: number;
  endedAt?: string;
  error?: { message: string; stepId?: string };
  steps: StepView[];
  metrics: Record<string, Record<string, unknown>>;
}

interface LogPage {
  lines: { time: string; level: string; msg: string; stepId?: string; attempt?: number; cursor: string }[];
  nextCursor: string | null;
}

export interface FollowOptions {
  readonly json: boolean;
  readonly intervalMs: number;
  readonly write: (line: string) => void;
  /** Logs only (the `logs --follow` command) or steps and logs. */
  readonly steps: boolean;
}

export const exitCodeFor = (status: string): number =>
  status === 'succeeded' ? EXIT.ok : status === 'cancelled' ? EXIT.cancelled : EXIT.failed;

const clock = (iso?: string) => (iso ? iso.slice(11, 19) : new Date().toISOString().slice(11, 19));

export async function follow(client: ApiClient, runId: string, options: FollowOptions): Promise<{ exitCode: number; run: RunViewJson }> {
  const seen = new Map<string, string>();
  let cursor: string | undefined;
  for (;;) {
    const run = await client.get<RunViewJson>(`runs/${encodeURIComponent(runId)}`);
    if (options.steps) {
      for (const step of run.steps) {
        const last = step.attempts.at(-1);
        const key = `${step.status}#${step.attempts.length}`;
        if (seen.get(step.id) === key) continue;
        seen.set(step.id, key);
        if (options.json) options.write(JSON.stringify({ event: 'step', runId, step: step.id, status: step.status, attempt: last?.attempt ?? 0, error: step.error ?? last?.error ?? null, metrics: step.metrics ?? null }));
        // The server's times (virtual in the demo), like the log lines beside them.
        else options.write(oneLine(`${clock(last?.endedAt ?? last?.startedAt)}  ${step.id.padEnd(12)} ${describe(step)}`));
      }
    }
    for (;;) {
      const page = await client.get<LogPage>(`runs/${encodeURIComponent(runId)}/logs`, { after: cursor, limit: 500 });
      for (const line of page.lines) {
        if (options.json) options.write(JSON.stringify({ event: 'log', runId, ...line }));
        else options.write(oneLine(`${clock(line.time)}  ${(line.stepId ?? '').padEnd(12)} ${line.level.toUpperCase().padEnd(5)} ${line.msg}`));
      }
      const next = page.nextCursor ?? cursor;
      if (page.lines.length === 0 || next === cursor) break;
      cursor = next ?? undefined;
    }
    if (isTerminalRunStatus(run.status)) {
      if (options.json) options.write(JSON.stringify({ event: 'end', runId, status: run.status, durationSeconds: run.durationSeconds ?? null, error: run.error ?? null }));
      else {
        const error = run.error && run.error.message !== `run ${run.status}` ? `: ${run.error.stepId ? `${run.error.stepId}: ` : ''}${run.error.message}` : '';
        options.write(oneLine(`${clock(run.endedAt)}  run ${run.status}${error}`));
      }
      return { exitCode: exitCodeFor(run.status), run };
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs));
  }
}

function describe(step: StepView): string {
  const last = step.attempts.at(-1);
  const attempt = last ? ` (attempt ${last.attempt})` : '';
  switch (step.status) {
    case 'failed':
      return `failed${attempt}: ${(step.error ?? last?.error)?.message ?? ''}`;
    case 'waiting':
      return `waiting to retry${attempt}${last?.error ? ` after: ${last.error.message}` : ''}${step.nextAt ? ` — next at ${clock(step.nextAt)}` : ''}`;
    case 'succeeded': {
      const rows = step.metrics?.['rowsLoaded'];
      return `succeeded${attempt}${last?.durationSeconds !== undefined ? ` in ${last.durationSeconds.toFixed(1)}s` : ''}${typeof rows === 'number' ? `, ${rows} rows loaded` : ''}`;
    }
    default:
      return `${step.status}${attempt}`;
  }
}
