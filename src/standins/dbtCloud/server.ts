/**
 * A dbt Cloud Admin API v2 stand-in, speaking the real paths and envelope
 * (`{ status: { code, is_success, user_message, developer_message }, data }`):
 *   POST /api/v2/accounts/{a}/jobs/{j}/run/                        trigger (cause, steps_override)
 *   GET  /api/v2/accounts/{a}/runs/?job_definition_id=…             list runs (`trigger` with its
 *                                                                   cause when `include_related`
 *                                                                   names it)
 *   GET  /api/v2/accounts/{a}/runs/{r}/                             run: 1 queued → 3 running → final;
 *                                                                   `run_steps` filled when
 *                                                                   `include_related` names it
 *   GET  /api/v2/accounts/{a}/runs/{r}/artifacts/run_results.json   the artifact of step `?step=N`
 *                                                                   (1-based), or of the last step
 *                                                                   without it
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

/** One dbt command of the job (`dbt seed`, `dbt run`…) and the run_results.json it wrote. */
export interface DbtCloudCommandStep {
  readonly command: string;
  /** Absent: the step wrote no run_results.json (404). */
  readonly runResults?: unknown;
}

export interface DbtCloudOutcome {
  /** 10 success, 20 error, 30 cancelled. */
  readonly status: 10 | 20 | 30;
  /** A one-command job (`dbt build`) whose run_results.json is this; absent = 404. */
  readonly runResults?: unknown;
  /** A multi-command job: each command's own run_results.json. Wins over `runResults`. */
  readonly steps?: readonly DbtCloudCommandStep[];
  readonly statusMessage?: string;
  /** Status reads that answer "running" beyond the stand-in's `pollsBeforeDone` for runs triggered under this outcome (a run that hangs). */
  readonly extraRunningPolls?: number;
}

/**
 * The steps dbt Cloud runs before the job's own commands; they write no run_results.json.
 * Artifacts are per step: "The index of the step in the run to query for artifacts. The first
 * step in the run has the index 1. If the step parameter is omitted, then this method will return
 * the artifacts compiled for the last step in the run." (dbt Cloud Administrative API v2,
 * "Retrieve Run Artifact"; the same wording in prefect-dbt's cloud/runs.py, which wraps it.)
 */
const SETUP_STEPS = ['Clone git repository', 'Create profile from connection Snowflake', 'Invoke dbt with `dbt deps`'];

function stepsOf(outcome: DbtCloudOutcome): { name: string; runResults: unknown }[] {
  const commands = outcome.steps ?? [{ command: 'dbt build', runResults: outcome.runResults }];
  return [
    ...SETUP_STEPS.map((name) => ({ name, runResults: undefined })),
    ...commands.map((c) => ({ name: `Invoke dbt with \`${c.command}\``, runResults: c.runResults })),
  ];
}

export interface DbtCloudStandInOptions {
  readonly token: string;
  readonly accountId?: string;
  readonly jobId?: string;
  /** GETs of a run that answer "not done" before the final status (default 2). */
  readonly pollsBeforeDone?: number;
  readonly outcome?: DbtCloudOutcome;
  /**
   * The forms of `include_related` honoured: a JSON list (`["trigger","run_steps"]`, how the Admin
   * API v2 reference writes its example), a plain or comma-separated value (`trigger,run_steps`, or
   * the parameter repeated, which is what Airflow's and prefect-dbt's HTTP clients send for a
   * list), or both. Which one dbt Cloud parses is not documented beyond "a list of related fields";
   * a form it does not parse is ignored, and the run comes back without `trigger` and with no
   * `run_steps`. Default 'both'.
   */
  readonly includeRelatedForm?: 'json' | 'plain' | 'both';
}

export interface DbtCloudStandIn {
  readonly url: string;
  readonly accountId: string;
  readonly jobId: string;
  readonly triggers: readonly DbtCloudTrigger[];
  includeRelatedForm: 'json' | 'plain' | 'both';
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
  const state = { includeRelatedForm: options.includeRelatedForm ?? 'both' };

  const envelope = (code: number, data: unknown, userMessage?: string): StandInReply => ({
    status: code,
    json: { status: { code, is_success: code < 400, user_message: userMessage ?? (code < 400 ? 'Success!' : 'Error'), developer_message: '' }, data },
  });

  /** A run step as the API lists it (RunStep: id, run_id, index, name, status…). */
  const runSteps = (run: Run) => {
    if (run.status < 10) return [];
    const steps = stepsOf(run.outcome);
    return steps.map((step, i) => {
      const failedHere = run.status === 20 && i === steps.length - 1;
      const status = run.status === 30 ? 30 : failedHere ? 20 : 10;
      return { id: run.id * 100 + i + 1, run_id: run.id, account_id: Number(accountId), index: i + 1, name: step.name, status, status_humanized: { 10: 'Success', 20: 'Error', 30: 'Cancelled' }[status] };
    });
  };

  const runData = (run: Run, base: string, related: readonly string[] = []) => ({
    id: run.id,
    account_id: Number(accountId),
    job_definition_id: run.jobId,
    status: run.status,
    status_humanized: { 1: 'Queued', 2: 'Starting', 3: 'Running', 10: 'Success', 20: 'Error', 30: 'Cancelled' }[run.status] ?? 'Unknown',
    status_message: run.status === 20 ? (run.outcome.statusMessage ?? null) : null,
    in_progress: run.status < 10,
    is_complete: run.status >= 10,
    href: `${base}/deploy/${accountId}/projects/1/runs/${run.id}/`,
    trigger_id: run.id + 500000,
    trigger: related.includes('trigger') ? { id: run.id + 500000, cause: run.cause } : null,
    run_steps: related.includes('run_steps') ? runSteps(run) : [],
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
        return envelope(200, list.map((r) => runData(r, base, relatedOf(req.query))));
      }
      case 'run': {
        const run = runs.get(Number(/\/runs\/(\d+)\//.exec(rest)?.[1]));
        if (!run) return envelope(404, null, 'Run not found.');
        if (run.status < 10) {
          run.polls++;
          run.status = run.polls > pollsBeforeDone + (run.outcome.extraRunningPolls ?? 0) ? run.outcome.status : run.polls === 1 ? 1 : 3;
        }
        return envelope(200, runData(run, base, relatedOf(req.query)));
      }
      case 'artifact': {
        const match = /\/runs\/(\d+)\/artifacts\/(.+)$/.exec(rest);
        const run = runs.get(Number(match?.[1]));
        if (!run || match?.[2] !== 'run_results.json' || run.status < 10) return envelope(404, null, 'Artifact not found.');
        const steps = stepsOf(run.outcome);
        const index = req.query.get('step');
        const step = index === null ? steps.at(-1) : /^\d+$/.test(index) ? steps[Number(index) - 1] : undefined;
        if (step?.runResults === undefined) return envelope(404, null, 'Artifact not found.');
        return { status: 200, json: step.runResults };
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

  /** The related objects asked for, in the forms this stand-in honours (`includeRelatedForm`). */
  function relatedOf(query: URLSearchParams): string[] {
    const names: string[] = [];
    for (const raw of query.getAll('include_related')) {
      let list: unknown;
      try {
        list = JSON.parse(raw) as unknown;
      } catch {
        list = undefined;
      }
      if (Array.isArray(list)) {
        if (state.includeRelatedForm !== 'plain') names.push(...list.filter((x): x is string => typeof x === 'string'));
      } else if (state.includeRelatedForm !== 'json') {
        names.push(...raw.split(',').map((x) => x.trim()).filter(Boolean));
      }
    }
    return names;
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
    get includeRelatedForm() {
      return state.includeRelatedForm;
    },
    set includeRelatedForm(form) {
      state.includeRelatedForm = form;
    },
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
