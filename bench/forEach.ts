/**
 * forEach at 100 / 1,000 / 10,000 items (issue 23): one step mapping over the list an upstream
 * step returned (the export's tables), every
 * item a 1-minute job (fake adapter, virtual clock), `forEach.maxParallel` 10. Reports makespan
 * against the ideal (⌈n / 10⌉ minutes: slots never idle), the events and bytes handed to every
 * orchestrator of the run summed over their wake-ups, the largest execution's history, and the
 * growth exponents between sizes (target for events ≤ 1.2).
 */
import type { RunState } from '../src/engine';
import { pipeline, startEngineHost } from '../test/orchestration/engineHarness';
import { replayedWork } from './engine';
import { fmt } from './stats';

const PARALLEL = 10;

const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);
const exponent = (x1: number, y1: number, x2: number, y2: number): number => Math.log(y2 / y1) / Math.log(x2 / x1);

export async function runForEach(sizes: readonly number[]): Promise<string[]> {
  const lines = [`forEach over n items, maxParallel ${PARALLEL}, each item a 1-minute polled job (virtual time)`, '  n | makespan / ideal | whole run: instances, events replayed, bytes replayed, max events in one execution, parent executions | wall s'];
  const engine = await startEngineHost();
  const rows: { n: number; events: number; bytes: number }[] = [];
  try {
    for (const n of sizes) {
      const runId = `fe-${n}`;
      const items = Array.from({ length: n }, (_, i) => `t${i}`);
      engine.fake.script('export', [{ ok: { output: { tables: items } } }]);
      for (let i = 0; i < n; i++) engine.fake.script(`load[${i}]`, [{ running: { polls: 0, pollAfterSeconds: 60 } }]);
      const definition = pipeline({
        name: `fe-bench-${n}`,
        title: 'forEach bench',
        steps: [
          { id: 'export', kind: 'azureFunction', url: 'https://fn.example/api/export', output: { object: { tables: { list: 'string' } } } },
          { id: 'load', kind: 'azureFunction', dependsOn: ['export'], url: 'https://fn.example/api/load', body: { table: '{item}' }, pollInterval: '1m', forEach: { items: { step: 'export', path: 'output.tables' }, maxParallel: PARALLEL } },
        ],
      });
      const wall = Date.now();
      await engine.start(definition, runId);
      const status = await engine.host.waitFor(runId, { timeoutMs: 6 * 60 * 60_000 });
      const run = status.output as RunState;
      if (run?.status !== 'succeeded') throw new Error(`forEach ${n}: ${String(status.runtimeStatus)} ${JSON.stringify(status.output).slice(0, 300)}`);
      const ends = run.steps.flatMap((s) => s.attempts.flatMap((a) => (a.endedAt ? [Date.parse(a.endedAt)] : [])));
      const makespan = (Math.max(...ends) - Date.parse(run.startedAt)) / 60_000;
      const ideal = Math.ceil(n / PARALLEL);
      const ids = engine.host.instanceIds().filter((id) => id === runId || id.startsWith(`${runId}:`));
      const work = ids.map((id) => replayedWork(engine.host.executions(id)));
      const maxEvents = Math.max(...ids.map((id) => engine.host.stats(id).maxHistoryEvents));
      const events = sum(work.map((w) => w.events));
      const bytes = sum(work.map((w) => w.bytes));
      rows.push({ n, events, bytes });
      lines.push(`  ${n} | ${fmt(makespan / ideal, 2)} | ${ids.length}, ${events}, ${(bytes / 1e6).toFixed(2)} MB, ${maxEvents}, ${engine.host.executions(runId).length} | ${((Date.now() - wall) / 1000).toFixed(1)}`);
    }
    for (let i = 1; i < rows.length; i++) {
      const a = rows[i - 1];
      const b = rows[i];
      if (a && b) lines.push(`  exponent ${a.n}→${b.n}: events ${fmt(exponent(a.n, a.events, b.n, b.events), 2)}, bytes ${fmt(exponent(a.n, a.bytes, b.n, b.bytes), 2)}`);
    }
    const first = rows[0];
    const last = rows.at(-1);
    if (first && last && first !== last) {
      const e = exponent(first.n, first.events, last.n, last.events);
      lines.push(`  exponent ${first.n}→${last.n}: events ${fmt(e, 2)} (target ≤ 1.2) ${e <= 1.2 ? 'OK' : 'OVER TARGET'}, bytes ${fmt(exponent(first.n, first.bytes, last.n, last.bytes), 2)}`);
    }
    return lines;
  } finally {
    await engine.stop();
  }
}
