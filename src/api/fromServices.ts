/** The API's dependencies from the app's services and the invocation's Durable client. */
import type { AppServices } from '../app/services';
import type { ApiDeps, CancelRequests, DurableControl, HealthCheck, RunQueries, ScheduleControl, IdempotencyKeys } from './ports';
import { cursorSigner, processCursorKey } from './cursors';
import { randomSuffix } from './runIds';
import { loadAuthSettings } from '../auth/settings';
import { maskSecrets } from '../logging/mask';
import { referencedNames } from '../pipelines/references';

/** Without a run store, cancel requests are remembered by this process only. */
const localCancels = new Map<string, string>();

/** Without a run store the API still starts and follows runs through Durable; history is empty. */
const NO_STORE: RunQueries & ScheduleControl & IdempotencyKeys & CancelRequests = {
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
  // Reading one secret the pipelines use proves the vault answers and the identity may read it.
  const firstSecret = services.catalog.pipelines.flatMap((p) => referencedNames(p, 'secret'))[0];
  return [
    {
      name: 'storage',
      check: () => (services.store ? services.store.check() : Promise.resolve({ ok: false, detail: 'no run store configured' })),
    },
    {
      name: 'keyVault',
      async check() {
        if (!services.config.KEY_VAULT_URL) return { ok: true, detail: 'not configured: secrets come from app settings' };
        if (!firstSecret) return { ok: true, detail: 'no pipeline names a secret' };
        try {
          await services.secrets.get(firstSecret);
          return { ok: true, detail: `read ${firstSecret}` };
        } catch (error) {
          return { ok: false, detail: maskSecrets((error as Error).message) };
        }
      },
    },
  ];
}
