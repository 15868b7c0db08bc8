import { startApp } from '../test/support/appHarness';
import { loadCatalog } from '../src/pipelines/catalog';
import seed from '../src/pipelines/definitions/data-pipeline';
async function main() {
  const mk = (name: string, schedules: any[]) => ({ ...seed, name, alerts: [], schedules });
  const catalog = loadCatalog([
    mk('nightly', [{ name: 'daily', cron: '0 2 * * *', timezone: 'Europe/Paris' }]),
  ]);
  const app = await startApp({ catalog, startTime: new Date('2026-03-28T12:00:00Z'), settings: { SCHEDULER_ENABLED: 'true' } });
  const t0 = Date.now();
  await app.host.advance(120 * 60_000);
  console.log('120 ticks ms', Date.now() - t0, app.host.now());
  const t1 = Date.now();
  for (let i = 0; i < 120; i++) await app.store.getScheduleState('nightly', 'daily');
  console.log('120 getScheduleState', Date.now() - t1);
  const { SlotCalculator } = await import('../src/scheduler/slots');
  const t2 = Date.now();
  for (let i = 0; i < 120; i++) new SlotCalculator(catalog.pipelines[0]!.schedules[0]!).between(new Date(Date.parse('2026-03-28T12:00:00Z') + i * 60000), new Date(Date.parse('2026-03-28T12:01:00Z') + i * 60000));
  console.log('120 calc', Date.now() - t2);
  await app.stop();
}
main().catch((e) => { console.error(e); process.exit(1); });
