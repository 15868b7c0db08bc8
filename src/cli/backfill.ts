/**
 * `durable-pipelines backfill <pipeline> --from --to …` and `backfills ls|show|cancel`: Airflow's
 * `dags backfill -s -e` (with `--rerun-failed-tasks`, `--max-active-runs`), Dagster's backfill
 * page, ADF's tumbling-window rerun, against the API's backfill routes (src/backfill/routes.ts).
 */
import { Option, type Command } from 'commander';
import { inLine, oneLine } from '../core/visibleText';
import type { ApiClient } from './client';
import { CliError, EXIT } from './exitCodes';
import { table } from './table';
import { withProjectColumn, withProjectFilters, type ProjectFilters } from './projectFilters';

interface BackfillJson {
  id: string;
  pipeline: string;
  /** Its pipeline's project (absent from servers that predate projects). */
  project?: string;
  schedule: string;
  from: string;
  to: string;
  mode: string;
  maxParallel: number;
  state: string;
  createdBy?: string;
  createdAt: string;
  cancelledBy?: string;
  cutAtNow?: boolean;
  counts: Record<'queued' | 'starting' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'skipped', number>;
  slots?: { slot: string; local: string; dst?: string; state: string; runId: string | null; rerunOf?: string; reason?: string }[];
}

interface DryRunJson {
  timezone: string;
  from: string;
  to: string;
  cutAtNow: boolean;
  slots: { slot: string; local: string; dst?: string; would: string }[];
}

export interface BackfillCliDeps {
  readonly client: () => ApiClient;
  readonly print: (data: unknown, human: () => string) => void;
  readonly out: (line: string) => void;
  readonly json: () => boolean;
  readonly setExit: (code: number) => void;
  /** Typed `--param` values for the pipeline (main.ts parseParams with the pipeline's declarations). */
  readonly params: (api: ApiClient, pipeline: string, pairs: readonly string[]) => Promise<Record<string, unknown>>;
}

export function progress(b: Pick<BackfillJson, 'counts'>): string {
  const c = b.counts;
  const total = Object.values(c).reduce((n, v) => n + v, 0);
  return `${c.succeeded + c.failed + c.cancelled + c.skipped}/${total} settled: ${c.succeeded} succeeded, ${c.failed} failed, ${c.running + c.starting} running, ${c.queued} queued, ${c.skipped} skipped, ${c.cancelled} cancelled`;
}

function showBackfill(b: BackfillJson): string {
  const head = inLine`${b.id}  ${b.pipeline}/${b.schedule}  ${b.state}\nrange: ${b.from} .. ${b.to}  mode: ${b.mode}  max parallel: ${b.maxParallel}${b.createdBy ? `  by ${b.createdBy}` : ''}${b.cancelledBy ? `  cancelled by ${b.cancelledBy}` : ''}\n${progress(b)}`;
  const rows = (b.slots ?? []).map((s) => [s.slot, s.local + (s.dst ? ` (${s.dst})` : ''), s.state, s.runId ?? '', s.reason ?? '']);
  return rows.length ? `${head}\n${table(['SLOT (UTC)', 'LOCAL', 'STATE', 'RUN', 'REASON'], rows)}` : head;
}

const ENDED = new Set(['done', 'cancelled']);

export function addBackfillCommands(program: Command, deps: BackfillCliDeps): void {
  program
    .command('backfill <pipeline>')
    .description("one run per slot the schedule would have fired in a past range (airflow dags backfill); idempotent per slot: re-issuing adds only missing slots")
    .requiredOption('--from <date>', "first day (YYYY-MM-DD, in the schedule's time zone) or instant (ISO with offset), included")
    .requiredOption('--to <date>', 'last day or instant, included (cut at now)')
    .option('--schedule <name>', "the schedule whose slots to run (default: the pipeline's only one)")
    .option('--max-parallel <n>', 'runs at once (1–20)', '1')
    .option('-p, --param <name=value>', 'a parameter for every run, repeatable', (v: string, all: string[]) => [...all, v], [] as string[])
    .addOption(new Option('--rerun-failed', 'also rerun slots whose run failed or was cancelled (new run ids)').conflicts('rerunAll'))
    .addOption(new Option('--rerun-all', 'rerun every slot, a new run for those that ran').conflicts('rerunFailed'))
    .option('--dry-run', 'list the slots and what each would get; start nothing', false)
    .option('-f, --follow', 'print progress until the backfill ends; exit 0 all ran, 1 some failed, 2 cancelled', false)
    .option('--interval <seconds>', 'poll interval while following', '5')
    .action(async (pipeline: string, opts: { from: string; to: string; schedule?: string; maxParallel: string; param: string[]; rerunFailed?: boolean; rerunAll?: boolean; dryRun: boolean; follow: boolean; interval: string }) => {
      const maxParallel = Number(opts.maxParallel);
      if (!Number.isInteger(maxParallel) || maxParallel < 1 || maxParallel > 20) throw new CliError('--max-parallel: a whole number from 1 to 20', EXIT.invalid, [{ field: '--max-parallel', message: 'a whole number from 1 to 20' }]);
      const api = deps.client();
      const parameters = await deps.params(api, pipeline, opts.param);
      const body = {
        from: opts.from,
        to: opts.to,
        ...(opts.schedule ? { schedule: opts.schedule } : {}),
        maxParallel,
        mode: opts.rerunAll ? 'rerun-all' : opts.rerunFailed ? 'rerun-failed' : 'missing',
        ...(Object.keys(parameters).length ? { parameters } : {}),
        ...(opts.dryRun ? { dryRun: true } : {}),
      };
      if (opts.dryRun) {
        const plan = await api.post<DryRunJson>(`pipelines/${encodeURIComponent(pipeline)}/backfills`, body);
        deps.print(plan, () =>
          inLine`${plan.slots.length} slots (${plan.timezone}) from ${plan.from} to ${plan.to}${plan.cutAtNow ? ' (cut at now)' : ''}:\n` +
          table(['SLOT (UTC)', 'LOCAL', 'WOULD'], plan.slots.map((s) => [s.slot, s.local + (s.dst ? ` (${s.dst})` : ''), s.would])),
        );
        return;
      }
      const started = await api.post<BackfillJson>(`pipelines/${encodeURIComponent(pipeline)}/backfills`, body);
      const line = inLine`backfill ${started.id}: ${started.slots?.length ?? 0} slots of ${started.pipeline}/${started.schedule} from ${started.from} to ${started.to}${started.cutAtNow ? ' (cut at now)' : ''}`;
      if (!opts.follow) {
        deps.print(started, () => `${line}\n  (durable-pipelines backfills show ${started.id})`);
        return;
      }
      if (!deps.json()) deps.out(line);
      await followBackfill(api, started.id, Math.max(0.2, Number(opts.interval) || 5) * 1000, deps);
    });

  const backfills = program.command('backfills').description('backfills: progress, cancel');
  withProjectFilters(backfills.command('ls').description('backfills, newest first, with progress'), 'backfills')
    .option('--pipeline <name>', 'only this pipeline')
    .option('--limit <n>', 'how many (1–100)', '20')
    .action(async (opts: ProjectFilters & { pipeline?: string; limit: string }) => {
      const list = await deps.client().get<{ backfills: BackfillJson[] }>('backfills', { pipeline: opts.pipeline, project: opts.project, tag: opts.tag, limit: opts.limit });
      const filtered = (opts.project ?? []).length > 0 || (opts.tag ?? []).length > 0;
      deps.print(list.backfills, () =>
        list.backfills.length === 0
          ? filtered ? 'no backfill matches' : 'no backfill yet'
          : withProjectColumn(
              ['BACKFILL', 'PIPELINE/SCHEDULE', 'RANGE', 'STATE', 'PROGRESS'],
              list.backfills.map((b) => [b.id, `${b.pipeline}/${b.schedule}`, `${b.from} .. ${b.to}`, b.state, progress(b)]),
              (i) => list.backfills[i]?.project ?? 'default',
              (opts.project ?? []).length > 0,
            ),
      );
    });
  backfills
    .command('show <id>')
    .description("a backfill's progress and each slot's run")
    .action(async (id: string) => {
      const b = await deps.client().get<BackfillJson>(`backfills/${encodeURIComponent(id)}`);
      deps.print(b, () => showBackfill(b));
    });
  backfills
    .command('cancel <id>')
    .description('stop a backfill: queued slots are dropped, running runs asked to cancel')
    .action(async (id: string) => {
      const result = await deps.client().post<{ id: string; state: string }>(`backfills/${encodeURIComponent(id)}/cancel`);
      deps.print(result, () => inLine`${result.id}: ${result.state}`);
    });
}

async function followBackfill(api: ApiClient, id: string, intervalMs: number, deps: BackfillCliDeps): Promise<void> {
  let last = '';
  for (;;) {
    const b = await api.get<BackfillJson>(`backfills/${encodeURIComponent(id)}`);
    const now = progress(b);
    if (now !== last && !deps.json()) deps.out(oneLine(`${b.state}: ${now}`));
    last = now;
    if (ENDED.has(b.state)) {
      if (deps.json()) deps.out(JSON.stringify(b, null, 2));
      else deps.out(showBackfill(b));
      deps.setExit(b.state === 'cancelled' ? EXIT.cancelled : b.counts.failed > 0 ? EXIT.failed : EXIT.ok);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
