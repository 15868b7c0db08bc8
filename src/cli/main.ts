#!/usr/bin/env node
/**
 * `durable-pipelines`: the Prefect commands our users know, against the HTTP API.
 *   prefect deployment run "Pipeline Data Complet/production-daily"  →  durable-pipelines run data-pipeline --follow
 *   prefect flow-run ls --limit 10                                    →  durable-pipelines runs ls --limit 10
 *   prefect flow-run logs --follow <id>                               →  durable-pipelines logs <id> --follow
 *   changing a schedule                                               →  durable-pipelines schedules pause|resume …
 */
import { itemCountsText, splitItems } from '../core/itemCounts';
import { describeTrigger, type TriggerWords } from '../core/trigger';
import { firesNext, scheduleStateWord, type ScheduleStateWord } from '../core/scheduleState';
import { repeatedErrorCompactor } from '../core/repeatedErrors';
import { Command, Option } from 'commander';
import { version } from '../../package.json';
import { loadDefinitions } from '../pipelines/definitions';
import { PipelineValidationError } from '../pipelines/validate';
import { previewSchedule, MAX_PREVIEW_COUNT } from '../scheduler/preview';
import { ApiClient } from './client';
import { cancelAnswer, logPageAnswer, pausedAnswer, pipelinesAnswer, rerunAnswer, runPageAnswer, runViewAnswer, slotsAnswer, startAnswer } from './answers';
import { addCostCommand } from './cost';
import { addBackfillCommands } from './backfill';
import { collect, withProjectColumn, withProjectFilters, type ProjectFilters } from './projectFilters';
import { CliError, EXIT } from './exitCodes';
import { follow, formatLogLine, type RunViewJson } from './follow';
import { seconds, table } from './table';
import { inLine, keepingLines, oneLine } from '../core/visibleText';

interface GlobalOptions {
  url: string;
  key?: string;
  token?: string;
  json: boolean;
}

interface PipelineJson {
  name: string;
  title: string;
  /** Absent from servers that predate projects. */
  project?: string;
  tags: string[];
  parameters: Record<string, { type: string }>;
  steps: { id: string; dependsOn: string[] }[];
  schedules: {
    name: string; cron: string; timezone: string; enabled: boolean; paused: boolean; tags: string[]; nextRun: { utc: string; local: string } | null;
    /** Absent from servers that predate it. */
    state?: ScheduleStateWord;
    lastStartFailure?: { slot: string; reason: string } | null;
  }[];
  lastRun: { runId: string; status: string; createdAt: string } | null;
}

interface RunRow {
  runId: string;
  pipeline: string;
  project?: string;
  tags?: string[];
  status: string;
  trigger?: TriggerWords;
  createdAt: string;
  durationSeconds?: number;
}

type Out = (line: string) => void;

/** Pages one command reads at most (`runs ls --all`, `logs`): a server that pages forever is not followed forever. */
const MAX_PAGES = 1000;

export function buildProgram(print_: Out = (l) => console.log(l), setExit: (code: number) => void = (c) => (process.exitCode = c)): Command {
  // Everything printed passes here: no control character from server data reaches the terminal.
  const out: Out = (line) => print_(keepingLines(line));
  const program = new Command('durable-pipelines')
    .description('Start, watch and steer durable-pipelines runs')
    .version(version, '-V, --version', 'print the CLI version')
    .addOption(new Option('--url <url>', 'base URL of the app').env('DURABLE_PIPELINES_URL').default('http://localhost:7071'))
    .addOption(new Option('--key <key>', 'function key (x-functions-key): acts on every project').env('DURABLE_PIPELINES_KEY'))
    .addOption(new Option('--token <token>', "act as a signed-in user instead of the key: an Entra access token for the app (az account get-access-token --resource <client id>); the user's roles decide, per project").env('DURABLE_PIPELINES_TOKEN'))
    .option('--json', 'print JSON instead of tables', false)
    .showHelpAfterError()
    .exitOverride();

  const globals = (): GlobalOptions => program.opts<GlobalOptions>();
  const client = () => new ApiClient({ baseUrl: globals().url, ...(globals().key ? { key: globals().key } : {}), ...(globals().token ? { token: globals().token } : {}) });
  const print = (data: unknown, human: () => string) => out(globals().json ? JSON.stringify(data, null, 2) : human());
  const fetchListing = (api = client(), filters: ProjectFilters = {}) =>
    api.get<{ pipelines: PipelineJson[]; schedulerEnabled?: boolean }>('pipelines', { project: filters.project, tag: filters.tag }, pipelinesAnswer);
  const fetchPipelines = async (api = client()): Promise<PipelineJson[]> => (await fetchListing(api)).pipelines;

  const pipelines = program.command('pipelines').description('pipelines the app serves');
  withProjectFilters(pipelines.command('ls').description('list pipelines with their project, schedules and last run'), 'pipelines')
    .action(async (filters: ProjectFilters) => {
      const list = (await fetchListing(client(), filters)).pipelines;
      print(list, () =>
        list.length === 0
          ? 'no pipelines match'
          : withProjectColumn(
              ['PIPELINE', 'TITLE', 'STEPS', 'SCHEDULES', 'TAGS', 'LAST RUN'],
              list.map((p) => [p.name, p.title, p.steps.map((s) => s.id).join(' → '), p.schedules.map((s) => s.name + (s.paused ? ' (paused)' : '')).join(', '), p.tags.join(', ') || '-', p.lastRun ? `${p.lastRun.status} ${p.lastRun.runId}` : '-']),
              (i) => list[i]?.project ?? 'default',
              (filters.project ?? []).length > 0,
            ),
      );
    });

  program
    .command('validate')
    .description('check the pipeline definitions offline (no server needed)')
    .action(() => {
      try {
        const catalog = loadDefinitions();
        print({ ok: true, pipelines: catalog.pipelines.map((p) => p.name) }, () => `ok: ${catalog.pipelines.map((p) => `${p.name} (${plural(p.steps.length, 'step')}, ${plural(p.schedules.length, 'schedule')})`).join(', ')}`);
      } catch (error) {
        if (!(error instanceof PipelineValidationError)) throw error;
        print({ ok: false, problems: error.problems }, () => error.message);
        setExit(EXIT.invalid);
      }
    });

  program
    .command('run <pipeline>')
    .description('start a run (prefect deployment run)')
    .option('-p, --param <name=value>', 'a parameter, repeatable', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--idempotency-key <key>', 'the same key returns the same run')
    .option('--tag <tag>', "a tag for this run, besides the pipeline's (repeatable)", collect)
    .option('-f, --follow', 'stream steps and logs; exit 0/1/2 for succeeded/failed/cancelled', false)
    .option('--interval <seconds>', 'poll interval while following', '2')
    .action(async (pipeline: string, opts: { param: string[]; idempotencyKey?: string; tag?: string[]; follow: boolean; interval: string }) => {
      const api = client();
      const list = await fetchPipelines(api);
      const definition = list.find((p) => p.name === pipeline);
      if (!definition) throw new CliError(`unknown pipeline "${pipeline}" (known: ${list.map((p) => p.name).join(', ')})`, EXIT.notFound);
      const parameters = parseParams(opts.param, definition.parameters);
      const started = await api.post<{ runId: string; created: boolean }>(`pipelines/${encodeURIComponent(pipeline)}/runs`, {
        parameters,
        ...(opts.idempotencyKey ? { idempotencyKey: opts.idempotencyKey } : {}),
        ...(opts.tag ? { tags: opts.tag } : {}),
      }, startAnswer);
      if (!opts.follow) {
        print(started, () => inLine`${started.created ? 'started' : 'already exists'}: ${started.runId}`);
        return;
      }
      if (!globals().json) out(inLine`${started.created ? 'started' : 'already exists'}: ${started.runId}`);
      await followAndExit(api, started.runId, opts.interval, true);
    });

  const runs = program.command('runs').description('runs (prefect flow-run)');
  withProjectFilters(runs.command('ls').description('list runs, newest first'), 'runs')
    .option('--pipeline <name>')
    .option('--status <status>', 'pending | running | succeeded | failed | cancelled')
    .option('--since <iso>')
    .option('--until <iso>')
    .option('--limit <n>', 'how many per page', '10')
    .option('--cursor <cursor>', 'the page after the one that printed this cursor')
    .option('--all', 'every page, one after the other', false)
    .action(async (opts: RunsLsOptions) => {
      const api = client();
      const filters = { pipeline: opts.pipeline, project: opts.project, tag: opts.tag, status: opts.status, since: opts.since, until: opts.until, limit: opts.limit };
      const runsSeen: RunRow[] = [];
      let cursor = opts.cursor;
      let nextCursor: string | null;
      const cursorsSeen = new Set<string>();
      let partial = false;
      do {
        const page = await api.get<{ runs: RunRow[]; nextCursor?: string | null; partial?: boolean }>('runs', { ...filters, cursor }, runPageAnswer);
        partial = page.partial === true;
        runsSeen.push(...page.runs);
        nextCursor = page.nextCursor ?? null;
        cursor = nextCursor ?? undefined;
        // A server that never stops paging (or sends a cursor twice) is not followed forever.
        if (nextCursor !== null && opts.all && (cursorsSeen.has(nextCursor) || cursorsSeen.size >= MAX_PAGES)) {
          throw new CliError(`runs ls --all: the server sent ${cursorsSeen.has(nextCursor) ? 'a cursor it had sent before' : `more than ${MAX_PAGES} pages`}; stopped after ${runsSeen.length} runs (narrow with --since/--until/--pipeline)`, EXIT.failed);
        }
        if (nextCursor !== null) cursorsSeen.add(nextCursor);
      } while (opts.all && nextCursor);
      print({ runs: runsSeen, nextCursor }, () =>
        (runsSeen.length === 0
          ? partial ? 'no match among the latest runs searched' : 'no runs'
          : withProjectColumn(
              ['RUN', 'PIPELINE', 'STATUS', 'STARTED BY', 'CREATED', 'DURATION', 'TAGS'],
              runsSeen.map((r) => [r.runId, r.pipeline, r.status, describeTrigger(r.trigger), r.createdAt, seconds(r.durationSeconds), (r.tags ?? []).join(', ') || '-']),
              (i) => runsSeen[i]?.project ?? 'default',
              (opts.project ?? []).length > 0,
            )) +
        (nextCursor ? inLine`\n\nmore runs: durable-pipelines runs ls ${nextPageArgs(opts, nextCursor)}   (or --all)` : ''),
      );
    });
  runs
    .command('show <runId>')
    .description('a run with its steps, attempts and metrics')
    .option('--items', 'list the items of forEach steps one by one (default: counts by status)', false)
    .action(async (runId: string, opts: { items: boolean }) => {
      // Items one by one only when asked (--items): a forEach step may have 10,000.
      const run = await client().get<RunViewJson>(`runs/${encodeURIComponent(runId)}`, opts.items ? { items: 'all' } : {}, runViewAnswer);
      print(run, () => showRun(run, opts.items));
    });

  runs
    .command('definition <runId>')
    .description("the definition a run follows and what the deployed one changed (Airflow's DAG version of a run)")
    .action(async (runId: string) => {
      const definition = await client().get<DefinitionJson>(`runs/${encodeURIComponent(runId)}/definition`);
      print(definition, () => showDefinition(definition));
    });

  program
    .command('logs <runId>')
    .description("a run's log lines (prefect flow-run logs)")
    .option('-f, --follow', 'keep streaming until the run ends; exit 0/1/2 for succeeded/failed/cancelled', false)
    .option('--interval <seconds>', 'poll interval while following', '2')
    .action(async (runId: string, opts: { follow: boolean; interval: string }) => {
      const api = client();
      if (opts.follow) return followAndExit(api, runId, opts.interval, false);
      const lines: unknown[] = [];
      let after: string | undefined;
      const compact = repeatedErrorCompactor();
      for (let pages = 1; ; pages++) {
        if (pages > MAX_PAGES) throw new CliError(`logs: the server sent more than ${MAX_PAGES} pages; stopped`, EXIT.failed);
        const page = await api.get<{ lines: { time: string; level: string; msg: string; stepId?: string; cursor: string }[]; nextCursor?: string | null }>(`runs/${encodeURIComponent(runId)}/logs`, { after, limit: 1000 }, logPageAnswer);
        for (const l of page.lines) {
          lines.push(l);
          if (!globals().json) out(formatLogLine({ ...l, msg: compact(l.msg) }, (iso) => iso));
        }
        if (page.lines.length === 0 || !page.nextCursor || page.nextCursor === after) break;
        after = page.nextCursor;
      }
      if (globals().json) out(JSON.stringify(lines, null, 2));
    });

  program
    .command('cancel <runId>')
    .description('cancel a running run')
    .action(async (runId: string) => {
      const result = await client().post<{ runId: string; status: string }>(`runs/${encodeURIComponent(runId)}/cancel`, {}, cancelAnswer);
      print(result, () => inLine`cancelling ${result.runId}`);
    });

  program
    .command('rerun <runId>')
    .description('a new run that reuses the succeeded steps of <runId>')
    .option('--from <step>', '"failed" (default) or a step id: that step and everything downstream run again', 'failed')
    .option('-f, --follow', 'stream the new run; exit 0/1/2', false)
    .option('--interval <seconds>', 'poll interval while following', '2')
    .action(async (runId: string, opts: { from: string; follow: boolean; interval: string }) => {
      const api = client();
      const result = await api.post<{ runId: string; rerunOf?: string; rerunSteps: string[]; reusedSteps: string[] }>(`runs/${encodeURIComponent(runId)}/rerun`, { from: opts.from }, rerunAnswer);
      const upstream = opts.from === 'failed' ? [] : await upstreamReruns(api, runId, opts.from, result.rerunSteps);
      const text = () =>
        inLine`started ${result.runId}: runs ${result.rerunSteps.join(', ')}; reuses ${result.reusedSteps.join(', ') || 'nothing'}` +
        (upstream.length ? inLine`\nnote: --from ${opts.from} also reruns ${upstream.join(', ')}: upstream of ${opts.from}, ${upstream.length === 1 ? 'it' : 'they'} did not succeed in ${runId}` : '');
      if (!opts.follow || globals().json) print({ ...result, upstreamReruns: upstream }, text);
      else out(text());
      if (opts.follow) await followAndExit(api, result.runId, opts.interval, true);
    });

  for (const verb of ['approve', 'reject'] as const) {
    program
      .command(`${verb} <runId> <stepId>`)
      .description(`${verb} a step waiting for approval (Operate; the first decision wins)`)
      .option('--comment <text>', 'why; recorded with the decision')
      .action(async (runId: string, stepId: string, opts: { comment?: string }) => {
        const result = await client().post<{ decision: string; decidedBy: string; decidedAt: string }>(
          `runs/${encodeURIComponent(runId)}/steps/${encodeURIComponent(stepId)}/${verb}`,
          opts.comment ? { comment: opts.comment } : {},
        );
        print(result, () => inLine`${runId} ${stepId}: ${result.decision} by ${result.decidedBy} at ${result.decidedAt}`);
      });
  }
  program
    .command('approvals')
    .description('steps waiting for approval, oldest first')
    .action(async () => {
      const { waiting } = await client().get<{ waiting: { runId: string; pipeline: string; stepId: string; message: string; since: string; until: string | null; approvers: string[] | null }[] }>('approvals');
      print(waiting, () =>
        waiting.length === 0
          ? 'no step waits for approval'
          : table(['RUN', 'STEP', 'SINCE', 'UNTIL', 'APPROVERS', 'MESSAGE'], waiting.map((w) => [w.runId, w.stepId, w.since, w.until ?? '', w.approvers?.join(', ') ?? 'Operate role', w.message])),
      );
    });

  program
    .command('triggers')
    .description('event triggers: history')
    .command('history <pipeline> <trigger>')
    .description('what a trigger heard and did, newest first: started, duplicate, failed')
    .option('--limit <n>', 'how many events (1–1000)', '20')
    .action(async (pipeline: string, trigger: string, opts: { limit: string }) => {
      const h = await client().get<{ events: { at: string; source: string; outcome: string; runId?: string; reason?: string }[] }>(
        `pipelines/${encodeURIComponent(pipeline)}/triggers/${encodeURIComponent(trigger)}/history`,
        { limit: opts.limit },
      );
      print(h, () => (h.events.length === 0 ? inLine`${pipeline}/${trigger}: no event yet` : table(['AT', 'OUTCOME', 'RUN', 'SOURCE', 'REASON'], h.events.map((e) => [e.at, e.outcome, e.runId ?? '', e.source, e.reason ?? '']))));
    });

  const schedules = program.command('schedules').description('schedules (prefect deployment schedules)');
  withProjectFilters(schedules.command('ls').description('every schedule with its next run'), 'schedules')
    .action(async (filters: ProjectFilters) => {
      // The server picks pipelines by project and by tag on the pipeline or any of its schedules;
      // a schedule is listed when its own tags with its pipeline's carry every tag asked for.
      const listing = await fetchListing(client(), filters);
      // The state is the API's word (src/core/scheduleState.ts), the one the console shows too;
      // a server that predates it gets the same word computed here.
      const schedulerOn = listing.schedulerEnabled ?? true;
      const rows = listing.pipelines.flatMap((p) =>
        p.schedules
          .filter((s) => (filters.tag ?? []).every((t) => p.tags.includes(t) || s.tags.includes(t)))
          .map((s) => {
            const state = s.state ?? scheduleStateWord({ enabled: s.enabled, paused: s.paused, schedulerEnabled: schedulerOn, failing: false });
            return { project: p.project ?? 'default', pipeline: p.name, ...s, state, nextRun: firesNext(state) ? s.nextRun : null };
          }),
      );
      const failing = rows.filter((s) => s.state === 'failing' && s.lastStartFailure);
      print(rows, () =>
        (rows.length === 0
          ? 'no schedules match'
          : withProjectColumn(['PIPELINE', 'SCHEDULE', 'CRON', 'TIME ZONE', 'STATE', 'NEXT (LOCAL)', 'NEXT (UTC)'], rows.map((s) => [s.pipeline, s.name, s.cron, s.timezone, s.state, s.nextRun?.local, s.nextRun?.utc]), (i) => rows[i]?.project ?? 'default', (filters.project ?? []).length > 0)) +
        failing.map((s) => `\n\n${oneLine(`${s.pipeline}/${s.name} is failing: the slot of ${s.lastStartFailure?.slot ?? '?'} could not start its run: ${s.lastStartFailure?.reason ?? ''}`)}\n  (durable-pipelines schedules history ${s.pipeline} ${s.name})`).join('') +
        (schedulerOn ? '' : '\n\nthe scheduler is off on this app (SCHEDULER_ENABLED=false): no schedule fires; `schedules preview` shows when they would'),
      );
    });
  for (const verb of ['pause', 'resume'] as const) {
    schedules
      .command(`${verb} <pipeline> <schedule>`)
      .description(`${verb} a schedule at runtime (no redeploy)`)
      .action(async (pipeline: string, schedule: string) => {
        const result = await client().post<{ paused: boolean; nextRun: { local: string } | null }>(`pipelines/${encodeURIComponent(pipeline)}/schedules/${encodeURIComponent(schedule)}/${verb}`, {}, pausedAnswer);
        // Resumed is not active when the app's scheduler is off: say so rather than show a next run.
        const schedulerOn = result.paused || ((await fetchListing()).schedulerEnabled ?? true);
        print(result, () =>
          inLine`${pipeline}/${schedule}: ` +
          (result.paused ? 'paused' : schedulerOn ? inLine`active, next run ${result.nextRun?.local ?? '-'}` : 'resumed; the scheduler is off on this app (SCHEDULER_ENABLED=false), so nothing fires'),
        );
      });
  }
  schedules
    .command('history <pipeline> <schedule>')
    .description('what the scheduler did with each slot, newest first: fired, missed, skipped, late, with reasons')
    .option('--limit <n>', 'how many slots (1–1000)', '20')
    .action(async (pipeline: string, schedule: string, opts: { limit: string }) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new CliError('--limit: a whole number from 1 to 1000', EXIT.invalid);
      const history = await client().get<SlotHistoryJson>(`pipelines/${encodeURIComponent(pipeline)}/schedules/${encodeURIComponent(schedule)}/slots`, { limit }, slotsAnswer);
      print(history, () =>
        history.slots.length === 0
          ? inLine`${pipeline}/${schedule}: no slot recorded yet`
          : inLine`${pipeline}/${schedule} (${history.timezone}, late after ${history.lateAfterSeconds}s)\n` +
            table(
              ['SLOT (UTC)', 'LOCAL', 'OUTCOME', 'LATE BY', 'RUN', 'REASON'],
              history.slots.map((s) => [s.slot, s.local, s.late ? `${s.outcome} (late)` : s.outcome, seconds(s.lateBySeconds), s.runId ?? '', s.reason ?? '']),
            ),
      );
    });
  schedules
    .command('preview <pipeline> <schedule>')
    .description('the next fire times, computed locally from the definitions (no server needed)')
    .option('--from <iso>', 'start instant (default: now)')
    .option('--count <n>', 'how many', '10')
    .action((pipeline: string, schedule: string, opts: { from?: string; count: string }) => {
      const catalog = loadDefinitions();
      const p = catalog.get(pipeline);
      if (!p) throw new CliError(`unknown pipeline "${pipeline}" (known: ${catalog.pipelines.map((x) => x.name).join(', ')})`, EXIT.notFound);
      const s = p.schedules.find((x) => x.name === schedule);
      if (!s) throw new CliError(`pipeline "${pipeline}" has no schedule "${schedule}" (has: ${p.schedules.map((x) => x.name).join(', ')})`, EXIT.notFound);
      const from = opts.from === undefined ? new Date() : new Date(opts.from);
      if (Number.isNaN(from.getTime())) throw new CliError(`--from: not an ISO date-time: ${opts.from ?? ''}`, EXIT.invalid);
      const count = Number(opts.count);
      if (!Number.isInteger(count) || count < 1 || count > MAX_PREVIEW_COUNT) throw new CliError(`--count: a whole number from 1 to ${MAX_PREVIEW_COUNT}`, EXIT.invalid);
      const slots = previewSchedule(s, { from, count });
      print(slots, () => `${pipeline}/${schedule}: ${s.cron} in ${s.timezone}\n` + table(['UTC', 'LOCAL', 'DST'], slots.map((x) => [x.utc, x.local, x.dst ?? ''])));
    });

  addCostCommand(program, print);
  addBackfillCommands(program, {
    client,
    print,
    out,
    json: () => globals().json,
    setExit,
    async params(api, pipeline, pairs) {
      if (pairs.length === 0) return {};
      const definition = (await fetchPipelines(api)).find((p) => p.name === pipeline);
      if (!definition) throw new CliError(`unknown pipeline "${pipeline}"`, EXIT.notFound);
      return parseParams(pairs, definition.parameters);
    },
  });

  async function followAndExit(api: ApiClient, runId: string, interval: string, steps: boolean): Promise<void> {
    const intervalMs = Math.max(0.2, Number(interval) || 2) * 1000;
    const { exitCode } = await follow(api, runId, { json: globals().json, intervalMs, write: out, steps });
    setExit(exitCode);
  }

  return program;
}

interface SlotHistoryJson {
  timezone: string;
  lateAfterSeconds: number;
  slots: { slot: string; local: string; outcome: string; reason?: string; runId?: string; lateBySeconds: number; late: boolean }[];
}

interface RunsLsOptions extends ProjectFilters {
  pipeline?: string;
  status?: string;
  since?: string;
  until?: string;
  limit: string;
  cursor?: string;
  all: boolean;
}

/** The same `runs ls` filters with the next page's cursor, for a user to paste. */
function nextPageArgs(opts: Omit<RunsLsOptions, 'all' | 'cursor'>, cursor: string): string {
  const args: string[] = [];
  if (opts.pipeline) args.push('--pipeline', opts.pipeline);
  for (const project of opts.project ?? []) args.push('--project', project);
  for (const tag of opts.tag ?? []) args.push('--tag', tag);
  if (opts.status) args.push('--status', opts.status);
  if (opts.since) args.push('--since', opts.since);
  if (opts.until) args.push('--until', opts.until);
  if (opts.limit !== '10') args.push('--limit', opts.limit);
  args.push('--cursor', cursor);
  return args.map(shellWord).join(' ');
}

const shellWord = (word: string): string => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);

/**
 * The steps a `rerun --from <step>` runs that are neither <step> nor downstream of it: upstream steps
 * that did not succeed in the source run, which the server reruns because <step> needs their output.
 */
async function upstreamReruns(api: ApiClient, sourceRunId: string, from: string, rerunSteps: readonly string[]): Promise<string[]> {
  const source = await api.get<{ pipeline: string }>(`runs/${encodeURIComponent(sourceRunId)}`, {}, runViewAnswer);
  const steps = (await api.get<{ pipelines: PipelineJson[] }>('pipelines', {}, pipelinesAnswer)).pipelines.find((p) => p.name === source.pipeline)?.steps ?? [];
  const downstream = new Set([from]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const s of steps) {
      if (!downstream.has(s.id) && s.dependsOn.some((d) => downstream.has(d))) {
        downstream.add(s.id);
        grew = true;
      }
    }
  }
  return rerunSteps.filter((id) => !downstream.has(id));
}

/** `--param day=2026-11-26` typed by the pipeline's declared parameter types. */
export function parseParams(pairs: readonly string[], declared: Record<string, { type: string }>): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CliError(`--param ${pair}: expected name=value`, EXIT.invalid);
    const name = pair.slice(0, eq);
    const raw = pair.slice(eq + 1);
    const type = declared[name]?.type;
    if (type === 'number' || type === 'integer') {
      const n = Number(raw);
      result[name] = raw.trim() !== '' && Number.isFinite(n) ? n : raw;
    } else if (type === 'boolean') {
      result[name] = raw === 'true' ? true : raw === 'false' ? false : raw;
    } else result[name] = raw; // strings, dates, and unknown names (the server names those)
  }
  return result;
}

function showRun(run: RunViewJson, withItems = false): string {
  // Every value is the server's: one line each, so none can pose as another line (`error: …`).
  const head =
    inLine`${run.runId}  ${run.pipeline}  ${run.status}${run.durationSeconds !== undefined ? `  ${seconds(run.durationSeconds)}` : ''}\nstarted by: ${describeTrigger(run.trigger)}` +
    (run.parent ? inLine`\nparent run: ${run.parent.runId} (step ${run.parent.stepId})` : '') +
    (run.error ? inLine`\nerror: ${run.error.stepId ? `${run.error.stepId}: ` : ''}${run.error.message}` : '') +
    (run.definition ? `\n${definitionLine(run.definition)}` : '');
  const steps = table(
    ['STEP', 'STATUS', 'ATTEMPTS', 'DURATION', 'METRICS / ERROR'],
    (withItems ? run.steps : splitItems(run.steps).steps).map((s) => {
      const last = s.attempts.at(-1);
      const metrics = s.metrics ? Object.entries(s.metrics).filter(([, v]) => v !== null && v !== '').map(([k, v]) => `${k}=${String(v)}`).join(' ') : '';
      // A forEach step: its items counted by status (`--items` lists them).
      const attempts = s.items ? itemCountsText(s.items) : s.attempts.length;
      // A pipeline step names its child run (`runs show <child>` opens it).
      const child = s.childRun ? inLine`child run ${s.childRun.runId}${s.status === 'failed' || metrics === '' ? '' : ' '}` : '';
      return [s.id, s.status, attempts, seconds(last?.durationSeconds), s.status === 'failed' ? `${child}${child ? ': ' : ''}${(s.error ?? last?.error)?.message ?? ''}` : `${child}${metrics}`];
    }),
  );
  return `${head}\n\n${steps}`;
}

/** `definition: sha256:1a2b3c4d5e6f (deployed)` or `… (deployed now: sha256:…; runs definition <id> shows the changes)`. */
function definitionLine(d: NonNullable<RunViewJson['definition']>): string {
  const short = (v: string | null): string => (v === null ? 'unknown' : v.slice(0, 'sha256:'.length + 12));
  if (d.current) return inLine`definition: ${short(d.version)} (the deployed one)`;
  return inLine`definition: ${short(d.version)} (deployed now: ${d.currentVersion === null ? 'none' : short(d.currentVersion)}; \`runs definition <runId>\` shows the changes)`;
}

interface DefinitionJson {
  runId: string;
  pipeline: string;
  version: string | null;
  currentVersion: string | null;
  current: boolean;
  changes: { path: string; change: 'added' | 'removed' | 'changed'; before?: unknown; after?: unknown }[] | null;
}

/** The changes from a run's definition to the deployed one, one line each (`~ path: before → after`). */
function showDefinition(d: DefinitionJson): string {
  const head = inLine`${d.runId}  ${d.pipeline}\nrun's definition: ${d.version ?? 'unknown'}\ndeployed:         ${d.currentVersion ?? 'none'}`;
  if (d.current) return `${head}\nthe run follows the deployed definition`;
  if (d.changes === null) return `${head}\nno diff: the run's definition or the deployed one is not available`;
  const mark = { added: '+', removed: '-', changed: '~' } as const;
  const value = (v: unknown): string => (v === undefined ? '' : JSON.stringify(v));
  const lines = d.changes.map((c) => inLine`${mark[c.change]} ${c.path}: ${c.change === 'changed' ? `${value(c.before)} → ${value(c.after)}` : value(c.change === 'added' ? c.after : c.before)}`);
  return `${head}\nchanges since the run started (${d.changes.length}):\n${lines.join('\n')}`;
}

/** Every command of the tree, the root first (commander copies settings only to commands made later). */
const allCommands = (command: Command): Command[] => [command, ...command.commands.flatMap(allCommands)];

export async function main(argv: readonly string[] = process.argv, err: Out = (l) => console.error(l)): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram(undefined, (c) => (code = c));
  // Under --json a script reads the error too: one JSON object on stderr, not prose and a usage text.
  const jsonErrors = argv.slice(2).includes('--json');
  const fail = (message: string, exitCode: number, fields: readonly { field: string; message: string }[] = []): number => {
    // Error texts quote the server: no control character reaches the terminal (terminal.ts).
    err(keepingLines(jsonErrors ? JSON.stringify({ error: { message, exitCode, ...(fields.length ? { fields } : {}) } }) : `error: ${message}`));
    return exitCode;
  };
  if (jsonErrors) {
    for (const command of allCommands(program)) {
      command.showHelpAfterError(false).configureOutput({ outputError: (text) => void fail(text.replace(/^error: /, '').trim(), EXIT.invalid) });
    }
  }
  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    const e = error as { code?: string; exitCode?: number };
    if (error instanceof CliError) return fail(error.message, error.exitCode, error.fields);
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) {
      // help and version exit 0; usage errors were already printed by commander
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help' ? EXIT.ok : EXIT.invalid;
    }
    return fail((error as Error).message, EXIT.failed);
  }
  return code;
}

/** The process entry (bin/durable-pipelines.js, or `node src/cli/main.ts`): runs `main` and exits with its code. */
export function runCli(): void {
  // `… --follow | head`: once the reader is gone, stop quietly instead of dying on EPIPE with a stack
  // trace. Exit 1: the command did not finish what it was asked (the run's outcome is unknown).
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(EXIT.failed);
  });
  void main().then((code) => process.exit(code));
}

if (require.main === module) runCli();

/** `1 schedule`, `2 schedules`. */
export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
