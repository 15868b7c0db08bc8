/**
 * Cold start: a fresh node process loading the built app's entry (package.json `main`) against one
 * loading only @azure/functions and durable-functions — the floor any Durable app pays.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { alternate, fmt, timeNodeProcess as timeNode } from './stats';

export async function run(rounds = 21): Promise<string[]> {
  const root = resolve(__dirname, '..');
  const main = resolve(root, (JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8')) as { main: string }).main);
  const app = `require(${JSON.stringify(main)})`;
  const floor = `require('@azure/functions'); require('durable-functions')`;
  await Promise.resolve();
  const r = alternate(rounds, () => timeNode(app, root), () => timeNode(floor, root));
  return [
    `cold start (median of ${rounds}, alternated): app ${fmt(r.a)} ms vs @azure/functions + durable-functions ${fmt(r.b)} ms → ratio ${fmt(r.ratio, 2)} (target ≤ 1.3)`,
  ];
}

