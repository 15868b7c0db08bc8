import { startApp } from '../test/support/appHarness';
import { loadCatalog } from '../src/pipelines/catalog';
import seed from '../src/pipelines/definitions/data-pipeline';
async function main() {
  const mk = (name: string, schedules: any[]) => ({ ...seed, name, alerts: [], schedules });
  const catalog = loadCatalog([
    mk('nightly', [{ name: 'daily', cron: '0 2 * * *', timezone: 'Europe/Paris' }]),
    mk('nightly-alt', [{ name: 'daily', cron: '0 2 * * *', timezone: 'Europe/Paris', dst: { gap: 'skip', overlap: 'both' } }]),
  ]);
  const app = await startApp({ catalog, startTime: new Date('2026-03-28T12:00:00Z'), settings: { SCHEDULER_ENABLED: 'true' } });
  const t0 = Date.now();
  await app.host.advance(60 * 60_000);
  console.log('60 ticks ms', Date.now() - t0, app.host.now());
  const t1 = Date.now();
  await app.host.advance(13 * 60 * 60_000);
  console.log('13h ms', Date.now() - t1, app.host.now());
  console.log(await app.store.listSlots('nightly', 'daily'));
  console.log(await app.store.listSlots('nightly-alt', 'daily'));
  console.log(app.host.instanceIds(), app.world.callCounts());
  await app.stop();
}
main().catch((e) => { console.error(e); process.exit(1); });
