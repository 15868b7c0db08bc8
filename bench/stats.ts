/** Small helpers shared by the benchmarks. */
import { spawnSync } from 'node:child_process';

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Wall time (ms) of a fresh `node -e <code>` process, from spawn to exit. */
export function timeNodeProcess(code: string, cwd = process.cwd()): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, ['-e', code], { cwd, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_NO_WARNINGS: '1' } });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`benchmark process failed: ${result.stderr.toString()}`);
  return ms;
}

/** Runs two variants alternately `rounds` times and returns their medians and ratio a/b. */
export function alternate(rounds: number, a: () => number, b: () => number): { a: number; b: number; ratio: number } {
  const as: number[] = [];
  const bs: number[] = [];
  for (let i = 0; i < rounds; i++) {
    if (i % 2 === 0) {
      as.push(a());
      bs.push(b());
    } else {
      bs.push(b());
      as.push(a());
    }
  }
  const ma = median(as);
  const mb = median(bs);
  return { a: ma, b: mb, ratio: ma / mb };
}

export const fmt = (n: number, digits = 1): string => n.toFixed(digits);
