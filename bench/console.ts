/**
 * Console benchmark:
 * 1. First load: the bytes a browser fetches for `/` (index.html + the hashed JS and CSS), raw,
 *    brotli and gzip, as `npm run build` writes them; goal ≤ 150 KB compressed JS + CSS.
 * 2. The runs page's first answer — `GET /api/console/runs?limit=20`, the route handler with its
 *    query schema, the Table run store in Azurite and the JSON body — with 10,000 runs stored vs
 *    100, alternated; the ratio should stay near 1 because the page reads the newest index rows only.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildConsole } from '../scripts/buildConsole.mjs';
import { createRoutes } from '../src/api/routes';
import type { ApiDeps, DurableControl } from '../src/api/ports';
import { cursorSigner, processCursorKey } from '../src/api/cursors';
import type { ApiRequest } from '../src/api/request';
import { appCatalog } from '../src/app/catalog';
import { KEY_CALLER } from '../src/auth/roles';
import { startAzurite } from '../src/standins/azurite';
import { createRunStore, type TableRunStore } from '../src/runs/tableStore';
import { createRunStoreTables } from '../src/runs/tables';
import { alternateAsync, INTERVAL_MS, seed } from './runStore';
import { fmt } from './stats';

const BIG = 10_000;
const SMALL = 100;
const ROUNDS = 41;

async function firstLoadLines(): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'dp-console-bench-'));
  try {
    const built = await buildConsole(dir);
    const files = [built.script, built.style];
    const size = (file: string) => statSync(file).size;
    const sum = (suffix: string) => files.reduce((total, f) => total + size(`${f}${suffix}`), 0);
    const html = join(built.dir, 'index.html');
    return [
      `first load JS + CSS: ${fmt(sum('') / 1024)} KB raw, ${fmt(sum('.br') / 1024)} KB brotli, ${fmt(sum('.gz') / 1024)} KB gzip (goal ≤ 150 KB compressed); index.html ${size(html)} B raw, ${size(`${html}.br`)} B brotli`,
      `  ${files.map((f) => `${f.split('/').pop() ?? f} ${fmt(size(`${f}.br`) / 1024)} KB br`).join(', ')}`,
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The API route the runs page calls first, over a given store. */
function runsPage(store: TableRunStore): () => Promise<void> {
  const unused = (): Promise<never> => Promise.reject(new Error('not used by GET /runs'));
  const durable = { startNew: unused, getStatus: unused, getStatusBy: unused, raiseEvent: unused, terminate: unused } as unknown as DurableControl;
  const deps: ApiDeps = {
    catalog: appCatalog(), runs: store, starts: store, schedules: store, idempotency: store, cancels: store, cursors: cursorSigner(processCursorKey()), durable, health: [],
    now: () => new Date(), randomSuffix: () => 'bench',
  };
  const route = createRoutes(deps).find((r) => r.name === 'listRuns');
  if (!route) throw new Error('no listRuns route');
  const url = 'http://localhost/api/console/runs?limit=20';
  const request: ApiRequest = { method: 'GET', url, headers: new Headers(), query: new URL(url).searchParams, params: {}, text: () => Promise.resolve('') };
  return async () => {
    const response = await route.handle(request, KEY_CALLER);
    const body = JSON.parse(typeof response.body === 'string' ? response.body : '{}') as { runs?: unknown[] };
    if (response.status !== 200 || body.runs?.length !== 20) throw new Error(`runs page answered ${response.status} with ${body.runs?.length ?? 0} runs`);
  };
}

export async function run(): Promise<string[]> {
  const lines = await firstLoadLines();
  const azurite = await startAzurite({ blob: false });
  try {
    const connection = { connectionString: azurite.connectionString };
    const end = Date.now();
    const smallTables = createRunStoreTables(connection, 'consolesmall');
    const bigTables = createRunStoreTables(connection, 'consolebig');
    const small = createRunStore({ tables: smallTables });
    const big = createRunStore({ tables: bigTables });
    await Promise.all([small.ready(), big.ready()]);
    await seed(small, smallTables, SMALL, end - SMALL * INTERVAL_MS);
    await seed(big, bigTables, BIG, end - BIG * INTERVAL_MS);
    const [pageBig, pageSmall] = [runsPage(big), runsPage(small)];
    await pageBig();
    await pageSmall();
    const timed = await alternateAsync(ROUNDS, pageBig, pageSmall);
    lines.push(`runs page first answer (GET /api/console/runs?limit=20): ${fmt(timed.b, 2)} ms with ${SMALL} runs, ${fmt(timed.a, 2)} ms with ${BIG.toLocaleString('en')} → ratio ${fmt(timed.ratio, 2)} (medians of ${ROUNDS}, alternated)`);
  } finally {
    await azurite.stop();
  }
  return lines;
}
