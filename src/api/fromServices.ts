/** The API's dependencies from the app's services and the invocation's Durable client. */
import type { AppServices } from '../app/services';
import type { PendingRuns } from '../app/durableStarter';
import type { ApiDeps, CancelRequests, DurableControl, HealthCheck, RunQueries, ScheduleControl, IdempotencyKeys } from './ports';
import { cursorSigner, processCursorKey } from './cursors';
import { randomSuffix } from './runIds';
import { loadAuthSettings } from '../auth/settings';
import { maskSecrets } from '../logging/mask';
import { referencedNames } from '../pipelines/references';

/** Without a run store, cancel requests are remembered by this process only. */
const localCancels = new Map<string, string>();

/** Without a run store the API still starts and follows runs through Durable; history is empty. */
const NO_STORE: RunQueries & ScheduleControl & IdempotencyKeys & CancelRequests & PendingRuns = {
  // Nothing to record a run in: its activities have nothing to check it against either.
  createPendingRun: () => Promise.resolve(true),
  getRun: () => Promise.resolve(undefined),
  listRuns: () => Promise.resolve({ runs: [] }),
  getAttempts: () => Promise.resolve([]),
  getLogs: () => Promise.resolve({ lines: [] }),
  isPaused: () => Promise.resolve(false),
  listSlots: () => Promise.resolve([]),
  setPaused: () => Promise.reject(new Error('pausing a schedule needs the run store (RUN_STORE_TABLE_URL or RUN_STORE_CONNECTION_STRING)')),
  claim: (_pipeline, _key, runId) => Promise.resolve(runId),
  claimCancel(runId, requestedAt) {
    const first = localCancels.get(runId);
    if (first !== undefined) return Promise.resolve({ first: false, requestedAt: first });
    localCancels.set(runId, requestedAt);
    return Promise.resolve({ first: true, requestedAt });
  },
  findCancel: (runId) => Promise.resolve(localCancels.get(runId)),
  releaseCancel(runId) {
    localCancels.delete(runId);
    return Promise.resolve();
  },
};

export function apiDeps(services: AppServices, durable: DurableControl): ApiDeps {
  const store = services.store ?? NO_STORE;
  return {
    catalog: services.catalog,
    runs: store,
    starts: store,
    schedules: store,
    idempotency: store,
    cancels: store,
    cursors: cursorSigner(services.config.CURSOR_SIGNING_KEY ?? processCursorKey()),
    durable,
    health: healthChecks(services),
    now: services.now,
    randomSuffix,
    schedulerEnabled: services.config.SCHEDULER_ENABLED,
    ...consoleLinks(),
    ...(services.config.PUBLIC_BASE_URL ? { baseUrl: services.config.PUBLIC_BASE_URL.replace(/\/+$/, '') } : {}),
  };
}

/** Read-only mode and the Application Insights link, for GET /api/me (the console's buttons and links). */
function consoleLinks(): Pick<ApiDeps, 'readOnly' | 'appInsightsUrl'> {
  const settings = loadAuthSettings();
  return { readOnly: settings.readOnly, ...(settings.appInsightsUrl ? { appInsightsUrl: settings.appInsightsUrl } : {}) };
}

function healthChecks(services: AppServices): HealthCheck[] {
  const pipelines = services.catalog.pipelines;
  const secretNames = [...new Set(pipelines.flatMap((p) => referencedNames(p, 'secret')))].sort();
  const settingNames = [...new Set(pipelines.flatMap((p) => referencedNames(p, 'setting')))].sort();
  return [
    {
      name: 'storage',
      check: () => (services.store ? services.store.check() : Promise.resolve({ ok: false, detail: 'no run store configured' })),
    },
    {
      // Every secret a deployed definition names, read through the app's own resolver (Key Vault, or
      // the SECRET_* app settings): a step that needs a missing one fails permanently, so say which now.
      name: 'secrets',
      async check() {
        const source = services.config.KEY_VAULT_URL ? `Key Vault ${services.config.KEY_VAULT_URL}` : 'app settings (SECRET_*)';
        if (secretNames.length === 0) return { ok: true, detail: 'no pipeline names a secret' };
        const failures = await Promise.all(
          secretNames.map((name) =>
            services.secrets.get(name).then(
              (value) => (value === '' ? { name, problem: 'empty' } : undefined),
              (error: unknown) => ({ name, problem: maskSecrets((error as Error).message) }),
            ),
          ),
        );
        const missing = failures.filter((f) => f !== undefined);
        if (missing.length === 0) return { ok: true, detail: `${secretNames.length} secrets readable from ${source}: ${secretNames.join(', ')}` };
        return { ok: false, detail: `${missing.length} of ${secretNames.length} secrets missing or unreadable in ${source}: ${missing.map((m) => `${m.name} (${m.problem})`).join('; ')}`, missing: missing.map((m) => m.name) };
      },
    },
    {
      name: 'settings',
      check() {
        if (settingNames.length === 0) return Promise.resolve({ ok: true, detail: 'no pipeline names an app setting' });
        const missing = settingNames.filter((name) => (services.settings(name) ?? '') === '');
        if (missing.length === 0) return Promise.resolve({ ok: true, detail: `${settingNames.length} app settings set: ${settingNames.join(', ')}` });
        return Promise.resolve({ ok: false, detail: `${missing.length} of ${settingNames.length} app settings missing or empty: ${missing.join(', ')}`, missing });
      },
    },
  ];
}
