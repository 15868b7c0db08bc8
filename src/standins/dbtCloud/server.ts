/**
 * A dbt Cloud Admin API v2 stand-in, speaking the real paths and envelope
 * (`{ status: { code, is_success, user_message, developer_message }, data }`):
 *   POST /api/v2/accounts/{a}/jobs/{j}/run/                        trigger (cause, steps_override)
 *   GET  /api/v2/accounts/{a}/runs/?job_definition_id=…             list runs (with trigger.cause)
 *   GET  /api/v2/accounts/{a}/runs/{r}/                             run: 1 queued → 3 running → final
 *   GET  /api/v2/accounts/{a}/runs/{r}/artifacts/run_results.json   the scripted artifact, raw
 *   POST /api/v2/accounts/{a}/runs/{r}/cancel/                      run becomes 30 cancelled
 * Every call needs `Authorization: Token <token>`. Failures (429 with Retry-After, 503, 401) can
 * be scripted per route: 'trigger', 'list', 'run', 'artifact', 'cancel' or 'any'.
 */
import { FailureScript, serve, type StandInReply, type StandInRequest } from './httpServer';

export interface DbtCloudTrigger {
  readonly runId: number;
  readonly cause: unknown;
  readonly stepsOverride: unknown;
  readonly body: Record<string, unknown>;
}

export interface DbtCloudOutcome {
  /** 10 success, 20 error, 30 cancelled. */
  readonly status: 10 | 20 | 30;
  /** Served as the run's run_results.json; absent = 404. */
  readonly runResults?: unknown;
  readonly statusMessage?: string;
}

export interface DbtCloudStandInOptions {
  readonly token: string;
  readonly accountId?: string;
  readonly jobId?: string;
  /** GETs of a run that answer "not done" before the final status (default 2). */
  readonly pollsBeforeDone?: number;
  readonly outcome?: DbtCloudOutcome;
}

export interface DbtCloudStandIn {
  readonly url: string;
  readonly accountId: string;
  readonly jobId: string;
  readonly triggers: readonly DbtCloudTrigger[];
  readonly cancels: readonly number[];
  /** Every request, method and path, with the Authorization header as received. */
  readonly requests: readonly { method: string; path: string; authorization: string | undefined; status: number }[];
  failNext(route: 'trigger' | 'list' | 'run' | 'artifact' | 'cancel' | 'any', status: number, options?: { retryAfter?: number; times?: number }): void;
  /** Rotates the accepted token (the old one gets 401 from now on). */
  setToken(token: string): void;
  setOutcome(outcome: DbtCloudOutcome): void;
  close(): Promise<void>;
}

interface Run {
  readonly id: number;
  readonly jobId: number;
  readonly cause: string;
  polls: number;
  status: number;
  readonly outcome: DbtCloudOutcome;
}

const SUCCESS_OUTCOME: DbtCloudOutcome = { status: 10, runResults: { results: [] } };

export async function startDbtCloudStandIn(options: DbtCloudStandInOptions): Promise<DbtCloudStandIn> {
  const accountId = options.accountId ?? '70403';
  const jobId = options.jobId ?? '123';
  const pollsBeforeDone = options.pollsBeforeDone ?? 2;
  let token = options.token;
  let outcome = options.outcome ?? SUCCESS_OUTCOME;
  const failures = new FailureScript();
  const runs = new Map<number, Run>();
  const triggers: DbtCloudTrigger[] = [];
  const cancels: number[] = [];
  const requests: { method: string; path: string; authorization: string | undefined; status: number }[] = [];
  let nextRunId = 9000;

  const envelope = (code: number, data: unknown, userMessage?: string): StandInReply => ({
    status: code,
    json: { status: { code, is_success: code < 400, user_message: userMessage ?? (code < 400 ? 'Success!' : 'Error'), developer_message: '' }, data },
  });

  const runData = (run: Run, base: string) => ({
    id: run.id,
    account_id: Number(accountId),
    job_definition_id: run.jobId,
    status: run.status,
    status_humanized: { 1: 'Queued', 2: 'Starting', 3: 'Running', 10: 'Success', 20: 'Error', 30: 'Cancelled' }[run.status] ?? 'Unknown',
    status_message: run.status === 20 ? (run.outcome.statusMessage ?? null) : null,
    in_progress: run.status < 10,
    is_complete: run.status >= 10,
    href: `${base}/deploy/${accountId}/projects/1/runs/${run.id}/`,
    trigger: { cause: run.cause },
  });

  function route(req: StandInRequest): string {
    if (req.method === 'POST' && /\/jobs\/\d+\/run\/$/.test(req.path)) return 'trigger';
    if (req.method === 'GET' && /\/runs\/$/.test(req.path)) return 'list';
    if (req.method === 'GET' && /\/runs\/\d+\/$/.test(req.path)) return 'run';
    if (req.method === 'GET' && /\/runs\/\d+\/artifacts\//.test(req.path)) return 'artifact';
    if (req.method === 'POST' && /\/runs\/\d+\/cancel\/$/.test(req.path)) return 'cancel';
    return 'unknown';
  }

  function handle(req: StandInRequest, base: string): StandInReply {
    if (req.headers['authorization'] !== `Token ${token}`) return envelope(401, null, 'Invalid token.');
    const name = route(req);
    const scripted = failures.take(name);
    if (scripted) {
      const reply = envelope(scripted.status, null, scripted.status === 429 ? 'Too many requests' : 'Service unavailable');
      return scripted.retryAfter === undefined ? reply : { ...reply, headers: { 'retry-after': String(scripted.retryAfter) } };
    }
    const prefix = `/api/v2/accounts/${accountId}`;
    if (!req.path.startsWith(`${prefix}/`)) return envelope(404, null, 'The requested resource was not found.');
    const rest = req.path.slice(prefix.length);
    switch (name) {
      case 'trigger': {
        if (rest !== `/jobs/${jobId}/run/`) return envelope(404, null, 'Job not found.');
        const body = JSON.parse(req.body || '{}') as Record<string, unknown>;
        if (typeof body['cause'] !== 'string' || body['cause'] === '') return envelope(400, null, 'cause is required');
        const run: Run = { id: nextRunId++, jobId: Number(jobId), cause: body['cause'], polls: 0, status: 1, outcome };
        runs.set(run.id, run);
        triggers.push({ runId: run.id, cause: body['cause'], stepsOverride: body['steps_override'], body });
        return envelope(200, runData(run, base));
      }
      case 'list': {
        const job = req.query.get('job_definition_id');
        const list = [...runs.values()].filter((r) => job === null || String(r.jobId) === job).sort((a, b) => b.id - a.id);
        return envelope(200, list.map((r) => runData(r, base)));
      }
      case 'run': {
        const run = runs.get(Number(/\/runs\/(\d+)\//.exec(rest)?.[1]));
        if (!run) return envelope(404, null, 'Run not found.');
        if (run.status < 10) {
          run.polls++;
          run.status = run.polls > pollsBeforeDone ? run.outcome.status : run.polls === 1 ? 1 : 3;
        }
        return envelope(200, runData(run, base));
      }
      case 'artifact': {
        const match = /\/runs\/(\d+)\/artifacts\/(.+)$/.exec(rest);
        const run = runs.get(Number(match?.[1]));
        if (!run || match?.[2] !== 'run_results.json' || run.status < 10 || run.outcome.runResults === undefined) return envelope(404, null, 'Artifact not found.');
        return { status: 200, json: run.outcome.runResults };
      }
      case 'cancel': {
        const run = runs.get(Number(/\/runs\/(\d+)\//.exec(rest)?.[1]));
        if (!run) return envelope(404, null, 'Run not found.');
        cancels.push(run.id);
        if (run.status < 10) run.status = 30;
        return envelope(200, runData(run, base));
      }
      default:
        return envelope(404, null, 'The requested resource was not found.');
    }
  }

  let base = '';
  const server = await serve((req) => {
    const reply = handle(req, base);
    requests.push({ method: req.method, path: req.path, authorization: req.headers['authorization'], status: reply.status });
    return reply;
  });
  base = server.url;

  return {
    url: server.url,
    accountId,
    jobId,
    triggers,
    cancels,
    requests,
    failNext: (r, status, opts) => failures.add(r, status, opts),
    setToken: (t) => {
      token = t;
    },
    setOutcome: (o) => {
      outcome = o;
    },
    close: () => server.close(),
  };
}
