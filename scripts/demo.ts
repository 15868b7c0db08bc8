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
 */
import { Command, Option } from 'commander';
import { startStandInEnvironment, type FailableStep, type StandInEnvironment } from '../src/standins/environment';
import type { RunViewJson } from '../src/cli/follow';
import { isTerminalRunStatus } from '../src/core/runStatus';
import { parseParams } from '../src/cli/main';
import dataPipeline from '../src/pipelines/definitions/data-pipeline';
import { explainStartupFailure, invalidDefinitions } from '../src/cli/localStartup';
import { describeExposure } from './exposure';
import { emulatedSignIn } from './signIn';
import { buildConsole } from './buildConsole.mjs';
import { resolve } from 'node:path';
import type { LocalUser } from '../src/auth/roles';

interface DemoOptions {
  serve: boolean;
  param: string[];
  failStep?: FailableStep;
  port: string;
  key: string;
  as?: LocalUser;
  allowHost: string[];
}

const STEPS: readonly FailableStep[] = ['export', 'load', 'transform'];
const tty = process.stdout.isTTY === true;
const color = (code: number, text: string) => (tty ? `\x1b[${code}m${text}\x1b[0m` : text);
const bold = (t: string) => color(1, t);
const dim = (t: string) => color(2, t);

async function main(): Promise<number> {
  const opts = new Command('demo')
    .description('durable-pipelines demo: the seed pipeline against local stand-ins')
    .option('--serve', 'keep serving after the run, for the CLI', false)
    .addOption(new Option('--fail-step <step>', 'make this step’s stand-in fail on every attempt').choices(STEPS))
    .option('--port <port>', 'HTTP port (0 = any free port)', process.env['PORT'] ?? '7071')
    .option('--key <key>', 'function key the API requires', 'demo-key')
    .option('-p, --param <name=value>', 'a run parameter of data-pipeline, repeatable (e.g. day=2026-11-27)', (v: string, all: string[]) => [...all, v], [] as string[])
    .addOption(new Option('--as <user>', 'emulate App Service sign-in: the console is used as this user (default: nobody signed in)').choices(['reader', 'operator']))
    .option('--allow-host <name>', 'also answer requests whose Host is <name> (default: loopback names only), repeatable', (v: string, all: string[]) => [...all, v], [] as string[])
    .parse()
    .opts<DemoOptions>();

  const invalid = invalidDefinitions();
  if (invalid) {
    console.error(invalid.message);
    return invalid.exitCode;
  }

  console.log(bold('durable-pipelines — DEMO'));
  console.log(dim('Local stand-ins for the export function, Snowflake, dbt (Container Apps Job), Key Vault and Table Storage (Azurite).'));
  console.log(dim('Nothing leaves this machine; durable timers run on a virtual clock (retry delays cost no wall time).'));
  if (opts.failStep) console.log(color(33, `--fail-step ${opts.failStep}: that stand-in fails on every attempt.`));
  console.log('');

  // The console the app serves at /, built like `npm run build` does (a second or so).
  if (!process.env['CONSOLE_DIR']) process.env['CONSOLE_DIR'] = resolve((await buildConsole()).dir);
  const world = await startStandInEnvironment(opts.failStep ? { failStep: opts.failStep } : {});
  const signIn = opts.as ? emulatedSignIn(opts.as) : undefined;
  port = opts.port;
  Object.assign(process.env, world.settings, {
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

  // Typed as the CLI types them; the API answers unknown names and wrong values.
  const parameters = parseParams(opts.param, dataPipeline.parameters);
  const given = Object.entries(parameters).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ');
  console.log(`API on ${bold(baseUrl)} — starting ${bold('data-pipeline')} ("Pipeline Data Complet") over HTTP${given ? ` with ${bold(given)}` : ''}…`);
  const { runId } = await api<{ runId: string }>('POST', 'pipelines/data-pipeline/runs', { parameters });
  console.log(`run ${bold(runId)}\n`);
  const run = await watch(runId, (id) => api<RunViewJson>('GET', `runs/${encodeURIComponent(id)}`));
  printSummary(run, world);
  printRunLog(await api<{ lines: RunLogLine[] }>('GET', `runs/${encodeURIComponent(runId)}/logs`));

  if (!opts.serve) {
    await pump.stop();
    await host.stop();
    await world.stop();
    return run.status === 'succeeded' ? 0 : 1;
  }
  if (opts.failStep) {
    world.setFailStep(undefined);
    console.log(color(33, `\nThe ${opts.failStep} stand-in is healthy again: rerun from the failed step with`));
    console.log(`  npx durable-pipelines rerun ${runId} --follow`);
  }
  console.log(`\nServing for the CLI (Ctrl-C to stop):\n  export DURABLE_PIPELINES_URL=${baseUrl} DURABLE_PIPELINES_KEY=${opts.key}`);
  console.log('  npx durable-pipelines pipelines ls | runs ls | runs show <id> | logs <id> --follow | run data-pipeline --follow');
  console.log('');
  for (const line of describeExposure({ baseUrl, key: opts.key, signIn, allowedHosts: opts.allowHost, signInHint: 'restart with npm run demo -- --serve --as operator (or --as reader)' })) console.log(line);
  console.log(`demo serving on ${baseUrl}`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await pump.stop();
  await host.stop();
  await world.stop();
  return 0;
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
      for (const step of run.steps) {
        const last = step.attempts.at(-1);
        const key = `${step.status}#${step.attempts.length}`;
        if (seen.get(step.id) === key) continue;
        seen.set(step.id, key);
        console.log(`${step.id.padEnd(10)} ${step.status}${last ? ` (attempt ${last.attempt})` : ''}${step.status === 'waiting' && last?.error ? ` after: ${last.error.message}` : ''}`);
      }
    }
    if (isTerminalRunStatus(run.status)) return run;
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

function stepTable(run: RunViewJson): string[] {
  const mark: Record<string, string> = { succeeded: color(32, '✔'), failed: color(31, '✖'), running: color(36, '▶'), waiting: color(33, '…'), pending: dim('·'), skipped: dim('-'), cancelled: color(33, '■'), reused: color(32, '↺') };
  const rows = run.steps.map((s) => {
    const last = s.attempts.at(-1);
    const detail = s.status === 'waiting' && last?.error ? `retry after: ${last.error.message}` : s.status === 'failed' ? (s.error ?? last?.error)?.message ?? '' : '';
    return `  ${mark[s.status] ?? ' '} ${s.id.padEnd(10)} ${s.status.padEnd(10)} attempts ${String(s.attempts.length).padEnd(3)} ${detail.slice(0, 70)}`;
  });
  return [`  run ${run.status}${run.status === 'running' ? '…' : ''}`, ...rows];
}

/** A metric for display: numbers as they are, anything missing as the fallback. */
const show = (value: unknown, fallback: string | number): string => (typeof value === 'number' || typeof value === 'string' ? String(value) : String(fallback));

function printSummary(run: RunViewJson, world: StandInEnvironment): void {
  const load = run.metrics['load'] ?? {};
  const transform = run.metrics['transform'] ?? {};
  console.log('');
  for (const step of run.steps) {
    const n = step.attempts.length;
    const took = step.attempts.at(-1)?.durationSeconds;
    console.log(`${step.id.padEnd(10)} ${step.status.padEnd(10)} ${n} attempt${n === 1 ? '' : 's'}${took !== undefined && step.status === 'succeeded' ? `, ${took.toFixed(1)}s` : ''}`);
    // Retries are the point of --fail-step: one line per failed attempt, at its (virtual) time.
    for (const a of step.attempts.filter((x) => x.status === 'failed')) {
      console.log(dim(`             #${a.attempt} at ${a.startedAt?.slice(11, 19) ?? '?'} failed (${a.error?.class ?? '?'}): ${a.error?.message.slice(0, 80) ?? ''}`));
    }
  }
  console.log('');
  if (run.status === 'succeeded') {
    console.log(bold(color(32, `Run succeeded in ${run.durationSeconds?.toFixed(1) ?? '?'}s (virtual time).`)));
    console.log(`  rows loaded: ${show(load['rowsLoaded'], '?')} of ${show(load['rowsParsed'], '?')} parsed, files loaded ${show(load['filesLoaded'], '?')}, partially loaded ${show(load['filesPartiallyLoaded'], 0)}, errors seen ${show(load['errorsSeen'], 0)}`);
    console.log(`  dbt models: ${show(transform['modelsSucceeded'], '?')} succeeded, ${show(transform['modelsErrored'], 0)} errored, ${show(transform['modelsSkipped'], 0)} skipped`);
  } else {
    console.log(bold(color(31, `Run ${run.status}${run.error ? `: ${run.error.stepId ? `${run.error.stepId}: ` : ''}${run.error.message}` : ''}`)));
    const alerts = world.slack.posts.length;
    if (alerts > 0) console.log(`  Slack alert sent (${alerts} message${alerts === 1 ? '' : 's'} captured by the webhook stand-in).`);
  }
  const calls = world.callCounts();
  console.log(dim(`  service calls: export ${calls.export}, COPY INTO ${calls.load}, dbt job starts ${calls.transform}`));
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
  for (const line of page.lines) {
    const text = `  ${line.time.slice(11, 19)} ${(line.stepId ?? '').padEnd(10)} ${line.msg}`;
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
