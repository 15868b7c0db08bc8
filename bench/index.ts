/**
 * `npm run bench`: every benchmark, one after the other, each printing its ratios. Pass names to
 * run some only: `npm run bench -- coldStart engine`.
 */
type Bench = { run: () => Promise<string[]> };

// snowflake-sdk's AWS SDK warns that it will need Node 22 from 2027; it would interleave with the figures.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

const benches: Record<string, () => Promise<Bench>> = {
  coldStart: () => import('./coldStart'),
  engine: () => import('./engine'),
  secrets: () => import('./secrets'),
  snowflake: () => import('./snowflake'),
  runStore: () => import('./runStore'),
  scheduler: () => import('./scheduler'),
  package: () => import('./package'),
  console: () => import('./console'),
  cost: () => import('./cost/compareModels'),
  memory: () => import('./memory'),
  differential: () => import('./differential'),
  faults: () => import('./faults'),
};

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  for (const [name, load] of Object.entries(benches)) {
    if (wanted.length > 0 && !wanted.includes(name)) continue;
    const started = Date.now();
    try {
      const lines = await (await load()).run();
      console.log(`## ${name}`);
      for (const line of lines) console.log(`  ${line}`);
      console.log(`  (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    } catch (error) {
      console.log(`## ${name}: FAILED — ${(error as Error).message}`);
      process.exitCode = 1;
    }
  }
}

void main();
