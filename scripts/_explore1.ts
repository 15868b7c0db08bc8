import { startApp } from '../test/support/appHarness';
async function main() {
  const app = await startApp({ exportDelayMs: 0 });
  const start = await app.api<any>('POST', 'pipelines/data-pipeline/runs', {});
  console.log(start.status, JSON.stringify(start.json));
  const runId = start.json.runId;
  const st = await app.host.waitFor(runId);
  console.log(st.runtimeStatus);
  const run = await app.api<any>('GET', `runs/${runId}`);
  console.log(run.status, JSON.stringify(run.json, null, 1).slice(0, 3000));
  const logs = await app.api<any>('GET', `runs/${runId}/logs?limit=3`);
  console.log(logs.status, JSON.stringify(logs.json, null, 1));
  const list = await app.api<any>('GET', `runs`);
  console.log(list.status, JSON.stringify(list.json).slice(0, 1000));
  const p = await app.api<any>('GET', `pipelines`);
  console.log(p.status, JSON.stringify(p.json).slice(0, 3000));
  console.log(app.world.callCounts());
  await app.stop();
}
main().catch((e) => { console.error(e); process.exit(1); });
