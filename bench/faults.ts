/**
 * `npm run bench -- faults` (issue 26): each step kind run by the app in a development host
 * process (bench/faults/child.ts, real clock, Durable state on disk) against the stand-ins, with
 * one fault per run aimed at one step. The seed pipeline (bench/faults/catalog.ts) carries the
 * export, COPY INTO and the dbt Container Apps job; the kinds pipeline a dbt Cloud job, a user
 * activity, a waitFor (HTTP) and an approval (granted by the bench through the API); the calls
 * pipeline a `pipeline` step running a child pipeline of one user-activity step. For each
 * fault × step kind it reports, at the stand-ins, the external effects performed (export POSTs
 * received, COPY INTO statements executed, dbt job executions started, dbt Cloud runs triggered,
 * the activity's effect lines, approval requests shown to approvers, child runs started — the
 * distinct child runs whose step ran, and the child run records listed with the parent step as their
 * origin, each of which must have ended; a waitFor only reads, its
 * checks are counted apart) against the attempts the run's record shows; the duplicates the run
 * detected and logged ("duplicate start possible" lines in its log); whether the run ended (lost =
 * not ended 4 minutes after the fault); and whether its record is complete (the stored run ended
 * as the API shows it, every step's attempts ended, the log's last line the run's end).
 *
 * Faults:
 * - kill: the host process SIGKILLed after the step's effect, before its completion is recorded,
 *   then started again on the same state folder;
 * - storage: Azurite (the run store's Table service) really stopped for FAULTS_OUTAGE_SECONDS
 *   (default 60) once the step's effect is seen, then restarted on the same port and data folder;
 * - kv429 / kv503: Key Vault answers 429 (Retry-After 1) / 503 to the next 12 secret reads, from the
 *   moment the step before it has done its effect (from the start for the first step);
 * - hang: the step's service hangs past the step's timeout on its first call (the export and the
 *   waitFor check never answer in time; COPY INTO and the dbt jobs stay running; the activity
 *   answers late; nobody decides the approval; the pipeline step's child run stays running past
 *   the parent step's timeout, its step's activity answering late within the child's own longer
 *   timeout — the parent then cancels that child and its retry starts a new one), then answers
 *   normally;
 * - duplicate: the step's `startStep` (the user activity itself) is delivered twice (bench/faults/child.ts);
 *   for the pipeline step, the `startStep` that starts the child run.
 *
 * `npm run bench -- faults` runs all; FAULTS=kill,hang and FAULT_STEPS=export,cloud narrow it.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAzurite, type AzuriteInstance } from '../src/standins/azurite';
import { startDbtCloudStandIn, type DbtCloudStandIn } from '../src/standins/dbtCloud/server';
import { devApi, killDevProcess, startDevProcess, type DevProcess } from '../test/support/devHostProcess';
import { DEMO_COPY_RESULT, DEMO_RUN_RESULTS, startStandInEnvironment, type StandInEnvironment } from '../src/standins/environment';
import { FAULT_DBT_CLOUD } from './faults/catalog';

const KEY = 'faults-bench-key';
const STEPS = ['export', 'load', 'transform', 'cloud', 'custom', 'wait', 'approve', 'call'] as const;
type FaultStep = (typeof STEPS)[number];
/** Each step's pipeline, kind as reported, and the step before it (where a Key Vault storm starts). */
const STEP: Record<FaultStep, { readonly pipeline: string; readonly kind: string; readonly previous?: FaultStep }> = {
  export: { pipeline: 'data-pipeline', kind: 'azureFunction export' },
  load: { pipeline: 'data-pipeline', kind: 'Snowflake COPY INTO', previous: 'export' },
  transform: { pipeline: 'data-pipeline', kind: 'dbt (Container Apps job)', previous: 'load' },
  cloud: { pipeline: 'kinds-pipeline', kind: 'dbt Cloud' },
  custom: { pipeline: 'kinds-pipeline', kind: 'activity (user code)', previous: 'cloud' },
  wait: { pipeline: 'kinds-pipeline', kind: 'waitFor (HTTP, reads)', previous: 'custom' },
  approve: { pipeline: 'kinds-pipeline', kind: 'approval', previous: 'wait' },
  call: { pipeline: 'calls-pipeline', kind: 'pipeline (child run)' },
};
/** The pipeline step's child pipeline and its one step (bench/faults/catalog.ts). */
const CHILD = { pipeline: 'child-pipeline', step: 'work' } as const;

/** The effect lines of FAULT_EFFECTS (`<run>:<step>:<attempt>`; a run id may hold colons) as run and step. */
function effectLines(file: string): { runId: string; stepId: string }[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const parts = line.split(':');
      return { runId: parts.slice(0, -2).join(':'), stepId: parts.at(-2) ?? '' };
    });
}
/** A waitFor only reads: its checks are counted, not as effects. */
const READS_ONLY: ReadonlySet<FaultStep> = new Set(['wait']);
const DBT_CLOUD_TOKEN = 'dbt-cloud-bench-token';

/** The waitFor's HTTP condition: 200 to every GET, except that `hangNext` leaves the next one unanswered. */
interface WaitServer {
  readonly url: string;
  gets: number;
  hangNext: boolean;
  close(): Promise<void>;
}

async function startWaitServer(): Promise<WaitServer> {
  const hung: ServerResponse[] = [];
  const state = { gets: 0, hangNext: false };
  const server: Server = createServer((request, response) => {
    state.gets++;
    if (state.hangNext) {
      state.hangNext = false;
      hung.push(response);
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ready: true }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/ready`,
    close: async () => {
      for (const r of hung) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}
const FAULTS = ['kill', 'storage', 'kv429', 'kv503', 'hang', 'duplicate'] as const;
type Fault = (typeof FAULTS)[number];
const END_TIMEOUT_MS = 240_000;
/** How long after the parent's end its child runs' records may take to show their end. */
const CHILD_END_MS = 120_000;

interface Outcome {
  readonly fault: Fault;
  readonly step: FaultStep;
  readonly effects: number;
  /** "duplicate start possible" / "duplicate alert possible" lines in the run's log. */
  readonly detected: number;
  /** Export: distinct Idempotency-Keys among the calls; storms: how many storm answers the vault gave. */
  readonly note: string;
  readonly attempts: number;
  readonly status: string;
  readonly lost: boolean;
  readonly incomplete: string | undefined;
  /** The other steps' effects vs attempts, when they differ (a fault aimed at one step may reach another). */
  readonly others: string;
}

const children = new Set<ChildProcess>();
const startHost = (world: StandInEnvironment, env: Record<string, string>): Promise<DevProcess> =>
  startDevProcess({ world, stateDirectory: env['DEVHOST_STATE_DIR'] ?? '', key: KEY, env, children, script: 'bench/faults/child.ts' });
const api = (host: DevProcess, method: string, path: string, body?: unknown) => devApi(host, KEY, method, path, body);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function untilTrue(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

interface RunView {
  readonly status: string;
  /** The attempt rows as the run store holds them. */
  readonly attempts: readonly { readonly stepId: string; readonly attempt: number; readonly status: string; readonly endedAt?: string }[];
  readonly endedAt?: string;
  readonly steps: readonly { readonly id: string; readonly status: string; readonly attempts: readonly { readonly attempt: number; readonly status: string; readonly endedAt?: string }[] }[];
}

const ENDED = new Set(['succeeded', 'failed', 'cancelled']);
interface Services {
  readonly world: StandInEnvironment;
  readonly dbtCloud: DbtCloudStandIn;
  readonly wait: WaitServer;
}

async function runOne(services: Services, fault: Fault, step: FaultStep, outageSeconds: number): Promise<Outcome> {
  const { world, dbtCloud, wait } = services;
  const { pipeline } = STEP[step];
  const folder = mkdtempSync(join(tmpdir(), 'faults-'));
  let azurite: AzuriteInstance | undefined;
  const effectsFile = join(folder, 'effects');
  const env: Record<string, string> = {
    DEVHOST_STATE_DIR: join(folder, 'durable'),
    FAULT_MARKER: join(folder, 'killed'),
    FAULT_EFFECTS: effectsFile,
    FAULT_WAIT_URL: wait.url,
    DBT_CLOUD_ACCESS_URL: dbtCloud.url,
  };
  if (fault === 'kill' || fault === 'duplicate') env['FAULT'] = `${fault}:${step}`;
  if (fault === 'hang' && step === 'custom') env['FAULT_HANG'] = 'custom';
  if (fault === 'hang' && step === 'call') env['FAULT_HANG'] = CHILD.step;
  if (fault === 'storage') {
    azurite = await startAzurite({ blob: false, location: join(folder, 'azurite') });
    env['RUN_STORE_CONNECTION_STRING'] = azurite.connectionString;
  }
  // Export calls as they arrive (a call the step gave up on is never answered, but it was made).
  const exportPosts = () => world.exportFunction.received.filter((c) => c.method === 'POST' && c.path.startsWith('/api/'));
  // Approval requests shown to approvers (GET /api/approvals), by their `since`: one per request made.
  const approvalRequests = new Set<string>();
  const counts = (): Record<FaultStep, number> => ({
    ...world.callCounts(),
    export: exportPosts().length,
    cloud: dbtCloud.triggers.length,
    custom: effectLines(effectsFile).filter((l) => l.stepId === 'custom').length,
    // child runs whose step ran (each child's first orchestration step); their records are counted after the run
    call: new Set(effectLines(effectsFile).filter((l) => l.stepId === CHILD.step).map((l) => l.runId)).size,
    wait: wait.gets,
    approve: approvalRequests.size,
  });
  const before = counts();
  const exportCallsBefore = exportPosts().length;
  const vaultBefore = world.keyVault.requests.length;
  const effectsOf = (s: FaultStep) => counts()[s] - before[s];
  const restore: (() => void)[] = [];
  // Faults set before the run starts
  if (fault === 'hang') {
    if (step === 'export') {
      world.keyVault.setSecret('azure-function-url', `${world.exportFunction.baseUrl}/api/slow`);
      world.exportFunction.config.slowMs = 60_000;
      restore.push(() => world.setFailStep(undefined));
    } else if (step === 'load') {
      world.snowflake.script({ match: /^\s*COPY INTO/i, result: DEMO_COPY_RESULT, runningPolls: 1_000_000 });
      restore.push(() => world.setFailStep(undefined));
    } else if (step === 'transform') {
      world.dbt.setOutcome({ status: 'Succeeded', runResults: DEMO_RUN_RESULTS, extraRunningPolls: 1_000_000 });
      restore.push(() => world.setFailStep(undefined));
    } else if (step === 'cloud') {
      dbtCloud.setOutcome({ status: 10, runResults: DEMO_RUN_RESULTS, extraRunningPolls: 1_000_000 });
      restore.push(() => dbtCloud.setOutcome({ status: 10, runResults: DEMO_RUN_RESULTS }));
    } else if (step === 'wait') {
      wait.hangNext = true;
      restore.push(() => void (wait.hangNext = false));
    }
    // custom: FAULT_HANG (child.ts); approve: the bench does not decide the first request.
  }
  const storm = (): void => (fault === 'kv429' ? world.keyVault.throttle(12, 1) : world.keyVault.unavailable(12));
  if ((fault === 'kv429' || fault === 'kv503') && STEP[step].previous === undefined) storm();

  let host = await startHost(world, env);
  const hosts: DevProcess[] = [host];
  let lost = false;
  let view: RunView | undefined;
  let runId = '';
  try {
    const started = await api(host, 'POST', `pipelines/${pipeline}/runs`, {});
    if (started.status !== 202) throw new Error(`start answered ${started.status}: ${JSON.stringify(started.json)}`);
    runId = (started.json as { runId: string }).runId;

    // Faults set once an effect is seen
    const during = (async () => {
      if (fault === 'hang') {
        if (await untilTrue(() => effectsOf(step) > 0, END_TIMEOUT_MS)) {
          // the hanging call keeps hanging (its wait is set); the next one is answered
          if (step === 'export') world.exportFunction.config.slowMs = 0;
          for (const undo of restore.splice(0)) undo();
        }
      } else if (fault === 'kv429' || fault === 'kv503') {
        const previous = STEP[step].previous;
        if (previous && (await untilTrue(() => effectsOf(previous) > 0, END_TIMEOUT_MS))) storm();
      } else if (fault === 'storage' && azurite) {
        if (await untilTrue(() => effectsOf(step) > 0, END_TIMEOUT_MS)) {
          const port = Number(new URL(azurite.tableUrl).port);
          await azurite.stop();
          await sleep(outageSeconds * 1000);
          azurite = await startAzurite({ blob: false, location: join(folder, 'azurite'), tablePort: port });
        }
      }
    })();

    const deadline = Date.now() + END_TIMEOUT_MS + (fault === 'storage' ? outageSeconds * 1000 : 0);
    for (;;) {
      if (host.child.exitCode !== null || host.child.signalCode !== null) {
        // killed by the fault: the host comes back on the same state folder, as after a crash
        host = await startHost(world, env);
        hosts.push(host);
      }
      if (pipeline === 'kinds-pipeline') await approveWhenAsked(host, runId, fault === 'hang' && step === 'approve', approvalRequests);
      const answer = await api(host, 'GET', `runs/${encodeURIComponent(runId)}`).catch(() => undefined);
      if (answer?.status === 200) {
        view = answer.json as RunView;
        if (ENDED.has(view.status)) break;
      }
      if (Date.now() > deadline) {
        lost = true;
        break;
      }
      await sleep(300);
    }
    await during;
    // the record as stored: the listing reads the run store only
    const listed = await api(host, 'GET', `runs?pipeline=${pipeline}&limit=20`);
    const stored = ((listed.json as { runs?: { runId: string; status: string }[] }).runs ?? []).find((r) => r.runId === runId);
    const logs = await api(host, 'GET', `runs/${encodeURIComponent(runId)}/logs?limit=1000`);
    const lines = ((logs.json as { lines?: { msg: string }[] }).lines ?? []).map((l) => l.msg);
    const problems: string[] = [];
    if (!view) problems.push('no view');
    else {
      if (stored?.status !== view.status) problems.push(`stored ${stored?.status ?? 'nothing'} vs ${view.status}`);
      for (const s of view.steps) {
        if (s.status === 'pending' || s.status === 'skipped') continue;
        if (s.attempts.length === 0) problems.push(`${s.id}: no attempt`);
        for (const a of s.attempts) {
          if (!a.endedAt || a.status === 'running') problems.push(`${s.id}#${a.attempt} not ended`);
          // the attempt's own row in the run store (what the view falls back on once Durable's history is purged)
          const row = view.attempts.find((r) => r.stepId === s.id && r.attempt === a.attempt);
          if (!row) problems.push(`${s.id}#${a.attempt} not stored`);
          else if (!row.endedAt || row.status === 'running') problems.push(`${s.id}#${a.attempt} stored ${row.status}`);
        }
      }
      if (!lines.some((m) => m === `run ${view?.status ?? ''}` || m.startsWith(`run ${view?.status ?? ''}: `))) problems.push('no end in the log');
    }
    const attemptsOf = (s: FaultStep) => view?.steps.find((x) => x.id === s)?.attempts.length ?? 0;
    const others = STEPS.filter((s) => s !== step && STEP[s].pipeline === pipeline && !READS_ONLY.has(s) && effectsOf(s) !== attemptsOf(s))
      .map((s) => `${s} ${effectsOf(s)}/${attemptsOf(s)}`)
      .join(', ');
    // The child run records the pipeline step started: listed with the parent step as their origin,
    // each ended within CHILD_END_MS of the parent's end (a child cancelled while the store was down
    // records its end once the store is back, on its recording activity's retry).
    const listChildren = async () =>
      step === 'call'
        ? (((await api(host, 'GET', `runs?pipeline=${CHILD.pipeline}&limit=50`)).json as { runs?: { runId: string; status: string; trigger?: { origin?: string } }[] }).runs ?? []).filter(
            (r) => r.trigger?.origin === `${runId}/call`,
          )
        : [];
    let childRecords = await listChildren();
    const childDeadline = Date.now() + CHILD_END_MS;
    while (childRecords.some((c) => !ENDED.has(c.status)) && Date.now() < childDeadline) {
      await sleep(1000);
      childRecords = await listChildren();
    }
    for (const c of childRecords) if (!ENDED.has(c.status)) problems.push(`child ${c.runId} stored ${c.status} ${CHILD_END_MS / 1000} s after the run's end`);
    const keys = new Set(exportPosts().slice(exportCallsBefore).map((c) => String(c.headers['idempotency-key'])));
    if (process.env['FAULTS_DEBUG']) console.log(JSON.stringify(view), lines);
    // A run not ended in time: what it was doing, and the end of its log, for the reader to look into.
    if (lost) {
      const doing = (view?.steps ?? []).map((x) => `${x.id} ${x.status} [${x.attempts.map((a) => `#${a.attempt} ${a.status}`).join(', ')}]`).join('; ');
      console.log(`  lost run ${runId}: ${doing}; last log lines: ${JSON.stringify(lines.slice(-5))}`);
    }
    const served = world.keyVault.requests.slice(vaultBefore).filter((r) => r.status === 429 || r.status === 503).length;
    return {
      fault,
      step,
      effects: READS_ONLY.has(step) ? 0 : effectsOf(step),
      detected: lines.filter((m) => /^duplicate (start|alert) possible/.test(m)).length,
      note: [
        step === 'export' ? `${keys.size} Idempotency-Key(s)` : '',
        READS_ONLY.has(step) ? `${effectsOf(step)} check(s), reads only` : '',
        step === 'call' ? `${childRecords.length} child record(s): ${childRecords.map((c) => c.status).join(', ') || 'none'}` : '',
        fault === 'kv429' || fault === 'kv503' ? `${served} vault answers ${fault.slice(2)}` : '',
      ].filter(Boolean).join('; '),
      attempts: attemptsOf(step),
      status: view?.status ?? 'unknown',
      lost,
      incomplete: lost || problems.length === 0 ? undefined : problems.join('; '),
      others,
    };
  } finally {
    for (const undo of restore.splice(0)) undo();
    world.setFailStep(undefined);
    world.keyVault.calm();
    wait.hangNext = false;
    world.exportFunction.config.slowMs = 2000;
    for (const h of hosts) await killDevProcess(h);
    await azurite?.stop();
    rmSync(folder, { recursive: true, force: true });
  }
}

/**
 * The approver: the kinds pipeline's approval step is approved through the API once it is asked,
 * each request seen counted by its `since`; under `hang` the first request is left undecided.
 */
async function approveWhenAsked(host: DevProcess, runId: string, holdFirst: boolean, requests: Set<string>): Promise<void> {
  const listed = await api(host, 'GET', 'approvals').catch(() => undefined);
  const waiting = ((listed?.json as { waiting?: { runId: string; stepId: string; since: string; decision: string | null }[] } | undefined)?.waiting ?? []).filter(
    (w) => w.runId === runId && w.stepId === 'approve' && w.decision === null,
  );
  for (const w of waiting) {
    requests.add(w.since);
    if (holdFirst && requests.size < 2) continue;
    await api(host, 'POST', `runs/${encodeURIComponent(runId)}/steps/approve/approve`, { comment: 'fault bench' }).catch(() => undefined);
  }
}

export async function run(): Promise<string[]> {
  const wantedFaults = (process.env['FAULTS']?.split(',') ?? [...FAULTS]).filter((f): f is Fault => (FAULTS as readonly string[]).includes(f));
  const wantedSteps = (process.env['FAULT_STEPS']?.split(',') ?? [...STEPS]).filter((s): s is FaultStep => (STEPS as readonly string[]).includes(s));
  const outageSeconds = Number(process.env['FAULTS_OUTAGE_SECONDS'] ?? 60);
  const [world, dbtCloud, wait] = await Promise.all([
    startStandInEnvironment({}),
    startDbtCloudStandIn({ token: DBT_CLOUD_TOKEN, accountId: FAULT_DBT_CLOUD.accountId, jobId: FAULT_DBT_CLOUD.jobId, pollsBeforeDone: 1, outcome: { status: 10, runResults: DEMO_RUN_RESULTS } }),
    startWaitServer(),
  ]);
  world.keyVault.setSecret(FAULT_DBT_CLOUD.tokenSecret, DBT_CLOUD_TOKEN);
  const lines = [
    `storage outage: Azurite really stopped for ${outageSeconds} s; hosts in child processes on a real clock (bench/faults/child.ts)`,
    'FAULT      STEP KIND                  EFFECTS  ATTEMPTS  DETECTED  RUN        LOST  RECORD     NOTES',
  ];
  try {
    for (const fault of wantedFaults) {
      for (const step of wantedSteps) {
        const o = await runOne({ world, dbtCloud, wait }, fault, step, outageSeconds);
        lines.push(
          `${o.fault.padEnd(10)} ${STEP[o.step].kind.padEnd(26)} ${String(o.effects).padStart(7)}  ${String(o.attempts).padStart(8)}  ${String(o.detected).padStart(8)}  ${o.status.padEnd(9)}  ${(o.lost ? 1 : 0).toString().padStart(4)}  ${(o.incomplete === undefined ? 'complete' : `INCOMPLETE: ${o.incomplete}`).padEnd(9)}  ${[o.note, o.others ? `other steps (effects/attempts): ${o.others}` : ''].filter(Boolean).join('; ') || '-'}`,
        );
        console.log(lines.at(-1));
      }
    }
  } finally {
    await Promise.allSettled([world.stop(), dbtCloud.close(), wait.close()]);
  }
  return lines;
}
