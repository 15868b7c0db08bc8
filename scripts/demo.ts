/**
 * `npm run demo`: the seed pipeline end to end on this machine, no account needed. The real app
 * (same registrations, real step adapters, real SDK clients) runs in the development host against
 * local stand-ins that speak each service's protocol: the export function, Snowflake, the dbt
 * Container Apps Job, Key Vault (HTTPS) and Azurite. Durable timers run on a virtual clock, so the
 * seed's 60–300 s retry delays take no wall time.
 *
 *   npm run demo                         run the seed pipeline, show it live, exit 0 if it succeeds
 *   npm run demo -- --fail-step load     the load step's service keeps failing: retries, then exit 1
 *   npm run demo -- --param day=2026-11-27   load one day's folder (the stand-in's stage has
 *                                        2026-11-27 and 2026-11-28; any other day loads no file)
 *   npm run demo -- --serve              keep serving for the CLI (durable-pipelines …) and the console
 *   npm run demo -- --serve --as operator   the console signed in as an emulated Pipelines.Operate user
 *                                        (--as reader: Pipelines.Read); without --as nobody is signed in
 *   --allow-host <name>                  also answer requests naming <name> (default: loopback names only)
 *   npm run demo -- --pipeline <name>    run another pipeline of the catalog against the stand-ins
 *                                        (src/standins/pipelineWorld.ts gives each secret and setting it names a stand-in)
 *   npm run demo -- --example two-projects   two projects sharing the pool load-wh
 *                                        (src/pipelines/examples/twoProjects.ts): one run of each at once,
 *                                        one's COPY INTO waits for the other's; --serve keeps them for the CLI and console
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { startStandInEnvironment, type FailableStep, type StandInEnvironment } from '../src/standins/environment';
import type { RunViewJson } from '../src/cli/follow';
import { isTerminalRunStatus } from '../src/core/runStatus';
import { parseParams } from '../src/cli/main';
import { loadDefinitions } from '../src/pipelines/definitions';
import { twoProjectsCatalog } from '../src/pipelines/examples/twoProjects';
import type { Catalog } from '../src/pipelines/catalog';
import type { PipelineDefinition } from '../src/pipelines/schema';
import { literalSnowflakeAccount, standInsForPipeline } from '../src/standins/pipelineWorld';
import { repeatedErrorCompactor, sameErrorAs } from '../src/core/repeatedErrors';
import { EXIT } from '../src/cli/exitCodes';
import { itemCountsText, splitItems } from '../src/core/itemCounts';
import { explainStartupFailure, invalidDefinitions } from '../src/cli/localStartup';
import { describeExposure } from './exposure';
import { emulatedSignIn } from './signIn';
import { buildConsole } from './buildConsole.mjs';
import { resolve } from 'node:path';
import { localUser } from '../src/auth/roles';

interface DemoOptions {
  pipeline: string;
  serve: boolean;
  param: string[];
  failStep?: FailableStep;
  port: string;
  key: string;
  as?: string;
  allowHost: string[];
  example?: 'two-projects';
}

const STEPS: readonly FailableStep[] = ['export', 'load', 'transform'];
const tty = process.stdout.isTTY === true;
const color = (code: number, text: string) => (tty ? `\x1b[${code}m${text}\x1b[0m` : text);
const bold = (t: string) => color(1, t);
const dim = (t: string) => color(2, t);

async function main(): Promise<number> {
  const opts = new Command('demo')
    .description('durable-pipelines demo: the seed pipeline against local stand-ins')
    .option('--pipeline <name>', 'the pipeline of the catalog to run (src/pipelines/definitions)', 'data-pipeline')
    .option('--serve', 'keep serving after the run, for the CLI', false)
    .addOption(new Option('--fail-step <step>', 'make this step’s stand-in fail on every attempt').choices(STEPS))
    .option('--port <port>', 'HTTP port (0 = any free port)', process.env['PORT'] ?? '7071')
    .option('--key <key>', 'function key the API requires', 'demo-key')
    .option('-p, --param <name=value>', 'a run parameter of the pipeline, repeatable (e.g. day=2026-11-27)', (v: string, all: string[]) => [...all, v], [] as string[])
    .addOption(new Option('--as <user>', 'emulate App Service sign-in: the console is used as this user: reader, operator, reader:<project>, operator:<project> (default: nobody signed in)').argParser((value: string) => {
      if (!localUser(value)) throw new InvalidArgumentError('use reader, operator, reader:<project> or operator:<project>');
      return value;
    }))
    .addOption(new Option('--example <name>', 'serve a shipped example catalog instead of src/pipelines/definitions and run each of its pipelines at once').choices(['two-projects']))
    .option('--allow-host <name>', 'also answer requests whose Host is <name> (default: loopback names only), repeatable', (v: string, all: string[]) => [...all, v], [] as string[])
    .parse()
    .opts<DemoOptions>();

  const invalid = invalidDefinitions();
  if (invalid) {
    console.error(invalid.message);
    return invalid.exitCode;
  }
  const example: Catalog | undefined = opts.example === 'two-projects' ? twoProjectsCatalog() : undefined;
  const catalog = example ?? loadDefinitions();
  const pipeline: PipelineDefinition | undefined = example ? example.pipelines[0] : catalog.get(opts.pipeline);
  if (!pipeline) {
    console.error(`error: no pipeline named "${opts.pipeline}" (the catalog has: ${catalog.pipelines.map((p) => p.name).join(', ')})`);
    return EXIT.invalid;
  }

  console.log(bold('durable-pipelines — DEMO'));
  console.log(dim('Local stand-ins for the export function, Snowflake, dbt (Container Apps Job), Key Vault and Table Storage (Azurite).'));
  console.log(dim('Nothing leaves this machine; durable timers run on a virtual clock (retry delays cost no wall time).'));
  if (opts.failStep) console.log(color(33, `--fail-step ${opts.failStep}: that stand-in fails on every attempt.`));
  console.log('');

  // The console the app serves at /, built like `npm run build` does (a second or so).
  if (!process.env['CONSOLE_DIR']) process.env['CONSOLE_DIR'] = resolve((await buildConsole()).dir);
  const account = literalSnowflakeAccount(pipeline);
  const world = await startStandInEnvironment({ ...(opts.failStep ? { failStep: opts.failStep } : {}), ...(account ? { snowflakeAccount: account } : {}) });
  // Every secret and setting this pipeline names, pointed at the stand-ins (the seed's are already).
  const standIns = await standInsFor(example ? example.pipelines : withCalled(pipeline, catalog), world, opts.failStep === 'transform');
  if (standIns.problems.length > 0) {
    await standIns.stop();
    await world.stop();
    console.error(`the demo cannot run ${pipeline.name} against its stand-ins:\n${standIns.problems.map((p) => `  ${p}`).join('\n')}`);
    return EXIT.invalid;
  }
  const signIn = opts.as ? emulatedSignIn(opts.as) : undefined;
  port = opts.port;
  Object.assign(process.env, world.settings, standIns.settings, {
    LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'silent',
    // Schedules would fire on every virtual jump; the scheduler has its own tests.
    SCHEDULER_ENABLED: 'false',
    DURABLE_TASK_HUB: 'demo',
    // snowflake-sdk's AWS SDK warns that it will need Node 22 from 2027; not news for a demo.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...signIn?.settings,
  });

  // The app, exactly as the Functions host loads it, then the dev host serving its registrations.
  const { useServices, createServices } = await import('../src/app/services');
  const { DevHost } = await import('../src/devhost');
  const { registrations } = await import('../src/app/registry');
  const { registerDemoControl } = await import('./demoControl');
  await import('../src/index');

  const holder: { host?: Awaited<ReturnType<typeof DevHost.start>> } = {};
  const services = await createServices({
    credential: world.credential,
    secretClientOptions: world.secretClientOptions,
    now: () => holder.host?.now() ?? new Date(),
    ...(example ? { catalog: example } : {}),
  });
  useServices(services);
  const host = await DevHost.start({
    registrations: [...registrations(), registerDemoControl(world, services.secrets, signIn?.switchTo)],
    ...(signIn ? { platformPrincipal: signIn.principal } : {}),
    allowedHosts: opts.allowHost,
    clock: 'virtual',
    httpPort: Number(opts.port),
    functionKey: opts.key,
    hostJsonPath: 'host.json',
    log: () => undefined,
  }).catch(async (error: unknown) => {
    // e.g. the port is taken: leave no stand-in behind.
    await standIns.stop();
    await world.stop();
    throw error;
  });
  holder.host = host;
  const baseUrl = host.baseUrl ?? '';
  const pump = startPump(host);

  const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${baseUrl}/api/${path}`, {
      method,
      headers: { 'x-functions-key': opts.key, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!response.ok) throw new Error(`${method} /api/${path}: HTTP ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  };

  if (example) {
    const code = await runExample(example, baseUrl, api);
    if (!opts.serve) {
      await stopAll();
      return code;
    }
    return serve('pipelines ls | runs ls --project finance | runs ls --tag production | logs <id>', 'restart with npm run demo -- --example two-projects --serve --as operator (or --as reader:finance)');
  }

  // Typed as the CLI types them; the API answers unknown names and wrong values.
  const parameters = parseParams(opts.param, pipeline.parameters);
  const given = Object.entries(parameters).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ');
  console.log(`API on ${bold(baseUrl)} — starting ${bold(pipeline.name)} ("${pipeline.title}") over HTTP${given ? ` with ${bold(given)}` : ''}…`);
  const started = await fetch(`${baseUrl}/api/pipelines/${encodeURIComponent(pipeline.name)}/runs`, {
    method: 'POST',
    headers: { 'x-functions-key': opts.key, 'content-type': 'application/json' },
    body: JSON.stringify({ parameters }),
  });
  if (started.status === 400) {
    // A parameter the API refuses (a day that is not a date): said once, before any work.
    const problem = (await started.json()) as { detail?: string };
    console.error(`error: ${problem.detail ?? 'invalid parameters'}`);
    await stopAll();
    return EXIT.invalid;
  }
  if (!started.ok) throw new Error(`POST /api/pipelines/${pipeline.name}/runs: HTTP ${started.status} ${await started.text()}`);
  const { runId } = (await started.json()) as { runId: string };
  console.log(`run ${bold(runId)}\n`);
  const run = await watch(runId, (id) => api<RunViewJson>('GET', `runs/${encodeURIComponent(id)}`));
  printSummary(run, world, pipeline, standIns.dbtCloud?.triggers.length ?? 0);
  printRunLog(await api<{ lines: RunLogLine[] }>('GET', `runs/${encodeURIComponent(runId)}/logs`));

  if (!opts.serve) {
    await stopAll();
    return run.status === 'succeeded' ? 0 : 1;
  }
  if (opts.failStep) {
    world.setFailStep(undefined);
    console.log(color(33, `\nThe ${opts.failStep} stand-in is healthy again: rerun from the failed step with`));
    console.log(`  npx durable-pipelines rerun ${runId} --follow`);
  }
  return serve(`pipelines ls | runs ls | runs show <id> | logs <id> --follow | run ${pipeline.name} --follow`, 'restart with npm run demo -- --serve --as operator (or --as reader)');

  /** Keeps serving for the CLI and the console until Ctrl-C; says how to reach it first. */
  async function serve(commands: string, signInHint: string): Promise<number> {
    console.log(`\nServing for the CLI (Ctrl-C to stop):\n  export DURABLE_PIPELINES_URL=${baseUrl} DURABLE_PIPELINES_KEY=${opts.key}`);
    console.log(`  npx durable-pipelines ${commands}`);
    console.log('');
    for (const line of describeExposure({ baseUrl, key: opts.key, signIn, allowedHosts: opts.allowHost, signInHint })) console.log(line);
    console.log(`demo serving on ${baseUrl}`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await stopAll();
    return 0;
  }

  async function stopAll(): Promise<void> {
    await pump.stop();
    await host.stop();
    await standIns.stop();
    await world.stop();
  }
}

/** Stand-ins for every secret and setting the pipelines name, as one. */
/** The pipeline and every pipeline its pipeline steps run, transitively: the child runs need their stand-ins too. */
function withCalled(pipeline: PipelineDefinition, catalog: Catalog): PipelineDefinition[] {
  const found = new Map<string, PipelineDefinition>([[pipeline.name, pipeline]]);
  for (const p of found.values()) {
    for (const step of p.steps) {
      const child = step.kind === 'pipeline' ? catalog.get(step.pipeline) : undefined;
      if (child && !found.has(child.name)) found.set(child.name, child);
    }
  }
  return [...found.values()];
}

async function standInsFor(pipelines: readonly PipelineDefinition[], world: StandInEnvironment, failTransform: boolean): Promise<{ settings: Record<string, string>; problems: string[]; dbtCloud?: Awaited<ReturnType<typeof standInsForPipeline>>['dbtCloud']; stop(): Promise<void> }> {
  const each: Awaited<ReturnType<typeof standInsForPipeline>>[] = [];
  for (const p of pipelines) each.push(await standInsForPipeline(p, world, { failTransform }));
  const dbtCloud = each.find((e) => e.dbtCloud)?.dbtCloud;
  return {
    settings: Object.assign({}, ...each.map((e) => e.settings)) as Record<string, string>,
    problems: each.flatMap((e) => [...e.problems]),
    ...(dbtCloud ? { dbtCloud } : {}),
    stop: async () => {
      for (const e of each) await e.stop();
    },
  };
}

/**
 * The two-project example: one run of each pipeline started at once over HTTP; both are watched,
 * then each run's log shows which COPY INTO waited for the pool and for how long.
 */
async function runExample(catalog: Catalog, baseUrl: string, api: <T>(method: string, path: string, body?: unknown) => Promise<T>): Promise<number> {
  console.log(`API on ${bold(baseUrl)} — projects ${catalog.projects.filter((p) => p.name !== 'default').map((p) => bold(p.name)).join(' and ')} share pool ${bold('load-wh')} (${catalog.pool('load-wh')?.slots ?? '?'} slot): one COPY INTO at a time across both`);
  const runIds: string[] = [];
  for (const p of catalog.pipelines) {
    const { runId } = await api<{ runId: string }>('POST', `pipelines/${encodeURIComponent(p.name)}/runs`, { tags: ['demo'] });
    console.log(`  started ${bold(runId)} (${p.project}/${p.name})`);
    runIds.push(runId);
  }
  console.log('');
  const seen = new Map<string, string>();
  const finished = new Map<string, RunViewJson>();
  while (finished.size < runIds.length) {
    for (const runId of runIds) {
      if (finished.has(runId)) continue;
      const run = await api<RunViewJson & { project?: string }>('GET', `runs/${encodeURIComponent(runId)}`);
      for (const step of run.steps) {
        const said = step.pool ? `waiting for pool ${step.pool.name} (position ${step.pool.position})` : step.status;
        const key = `${runId}/${step.id}`;
        if (seen.get(key) === said) continue;
        seen.set(key, said);
        console.log(`  ${(run.project ?? '').padEnd(10)} ${step.id.padEnd(10)} ${step.pool ? color(33, said) : said}`);
      }
      if (isTerminalRunStatus(run.status)) finished.set(runId, run);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  for (const runId of runIds) {
    const run = finished.get(runId);
    console.log(`\n${bold(runId)}: ${run?.status ?? '?'}`);
    printRunLog(await api<{ lines: RunLogLine[] }>('GET', `runs/${encodeURIComponent(runId)}/logs`));
  }
  return [...finished.values()].every((r) => r.status === 'succeeded') ? 0 : 1;
}

/** Keeps the virtual clock moving: whenever nothing is in flight, jump to the next durable timer. */
function startPump(host: { runUntilIdle(): Promise<void> }): { stop(): Promise<void> } {
  let running = true;
  const loop = (async () => {
    while (running) {
      await host.runUntilIdle();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
    },
  };
}


/** Polls the run and shows its steps: a table redrawn in place on a terminal, plain lines otherwise. */
async function watch(runId: string, get: (id: string) => Promise<RunViewJson>): Promise<RunViewJson> {
  let drawn = 0;
  const seen = new Map<string, string>();
  for (;;) {
    const run = await get(runId);
    if (tty) {
      const lines = stepTable(run);
      process.stdout.write((drawn ? `\x1b[${drawn}A\x1b[0J` : '') + lines.join('\n') + '\n');
      drawn = lines.length;
    } else {
      for (const step of splitItems(run.steps).steps) {
        const last = step.attempts.at(-1);
        const items = step.items ? ` — ${itemCountsText(step.items)}` : '';
        const key = `${step.status}#${step.attempts.length}${items}`;
        if (seen.get(step.id) === key) continue;
        seen.set(step.id, key);
        console.log(`${step.id.padEnd(10)} ${step.status}${last ? ` (attempt ${last.attempt})` : ''}${step.status === 'waiting' && last?.error ? ` after: ${last.error.message}` : ''}${items}`);
      }
    }
    if (isTerminalRunStatus(run.status)) return run;
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

function stepTable(run: RunViewJson): string[] {
  const mark: Record<string, string> = { succeeded: color(32, '✔'), failed: color(31, '✖'), running: color(36, '▶'), waiting: color(33, '…'), pending: dim('·'), skipped: dim('-'), cancelled: color(33, '■'), reused: color(32, '↺') };
  const rows = splitItems(run.steps).steps.map((s) => {
    const last = s.attempts.at(-1);
    const detail = s.status === 'waiting' && last?.error ? `retry after: ${last.error.message}` : s.status === 'failed' ? (s.error ?? last?.error)?.message ?? '' : '';
    const count = s.items ? itemCountsText(s.items) : `attempts ${String(s.attempts.length).padEnd(3)}`;
    return `  ${mark[s.status] ?? ' '} ${s.id.padEnd(10)} ${s.status.padEnd(10)} ${count} ${detail.slice(0, 70)}`;
  });
  return [`  run ${run.status}${run.status === 'running' ? '…' : ''}`, ...rows];
}

/** A metric for display: numbers as they are, anything missing as the fallback. */
const show = (value: unknown, fallback: string | number): string => (typeof value === 'number' || typeof value === 'string' ? String(value) : String(fallback));

function printSummary(run: RunViewJson, world: StandInEnvironment, pipeline: PipelineDefinition, dbtCloudRuns: number): void {
  console.log('');
  // A forEach step shows its items counted by status; the items themselves are in `runs show`.
  for (const step of splitItems(run.steps).steps) {
    const n = step.attempts.length;
    const took = step.attempts.at(-1)?.durationSeconds;
    const what = step.items ? itemCountsText(step.items) : `${n} attempt${n === 1 ? '' : 's'}${took !== undefined && step.status === 'succeeded' ? `, ${took.toFixed(1)}s` : ''}`;
    console.log(`${step.id.padEnd(10)} ${step.status.padEnd(10)} ${what}`);
    // A pipeline step: its child run, a run of its own (`runs show <id>`, the console's run page).
    if (step.childRun) console.log(`             child run ${bold(step.childRun.runId)} (${step.childRun.pipeline})`);
    // Retries are the point of --fail-step: one line per failed attempt, at its (virtual) time; an
    // error said before is referred to, not repeated.
    step.attempts.forEach((a, i) => {
      if (a.status !== 'failed') return;
      const same = sameErrorAs(step.attempts, i);
      console.log(dim(`             #${a.attempt} at ${a.startedAt?.slice(11, 19) ?? '?'} failed (${a.error?.class ?? '?'}): ${same === undefined ? (a.error?.message.slice(0, 80) ?? '') : `same error as #${same}`}`));
    });
  }
  console.log('');
  if (run.status === 'succeeded') {
    console.log(bold(color(32, `Run succeeded in ${run.durationSeconds?.toFixed(1) ?? '?'}s (virtual time).`)));
    // What each step did, by kind: rows for Snowflake steps, models for dbt steps.
    for (const step of pipeline.steps) {
      const m = run.metrics[step.id] ?? {};
      if (step.kind === 'snowflake' && m['rowsLoaded'] !== undefined) {
        console.log(`  ${step.id}: rows loaded: ${show(m['rowsLoaded'], '?')} of ${show(m['rowsParsed'], '?')} parsed, files loaded ${show(m['filesLoaded'], '?')}, partially loaded ${show(m['filesPartiallyLoaded'], 0)}, errors seen ${show(m['errorsSeen'], 0)}`);
      }
      if (step.kind === 'dbt') console.log(`  ${step.id}: dbt models: ${show(m['modelsSucceeded'], '?')} succeeded, ${show(m['modelsErrored'], 0)} errored, ${show(m['modelsSkipped'], 0)} skipped`);
    }
  } else {
    console.log(bold(color(31, `Run ${run.status}${run.error ? `: ${run.error.stepId ? `${run.error.stepId}: ` : ''}${run.error.message}` : ''}`)));
    const alerts = world.slack.posts.length;
    if (alerts > 0) console.log(`  Slack alert sent (${alerts} message${alerts === 1 ? '' : 's'} captured by the webhook stand-in).`);
  }
  const calls = world.callCounts();
  console.log(dim(`  service calls: export ${calls.export}, COPY INTO ${calls.load}, dbt job starts ${calls.transform}${dbtCloudRuns > 0 ? `, dbt Cloud runs ${dbtCloudRuns}` : ''}`));
}

interface RunLogLine {
  time: string;
  level: string;
  msg: string;
  stepId?: string;
}

/** The run's own log, as `durable-pipelines logs <id>` shows it: what each step loaded and ran. */
function printRunLog(page: { lines: RunLogLine[] }): void {
  console.log(`\n${bold("Run log")} ${dim('(durable-pipelines logs <id>)')}`);
  const tint: Record<string, number> = { warn: 33, error: 31 };
  const compact = repeatedErrorCompactor();
  for (const line of page.lines) {
    const text = `  ${line.time.slice(11, 19)} ${(line.stepId ?? '').padEnd(10)} ${compact(line.msg)}`;
    const code = tint[line.level];
    console.log(code === undefined ? text : color(code, text));
  }
}

/** The port asked for, for the message when it is taken. */
let port = process.env['PORT'] ?? '7071';

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    const failure = explainStartupFailure(error, port);
    console.error(failure ? `error: ${failure.message}` : error);
    process.exit(failure?.exitCode ?? 1);
  },
);
