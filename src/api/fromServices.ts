/** The API's dependencies from the app's services and the invocation's Durable client. */
import type { AppServices } from '../app/services';
import type { PendingRuns } from '../app/durableStarter';
import { cachedPinned } from '../app/definitions';
import type { ApiDeps, CancelRequests, DurableControl, HealthCheck, RunQueries, ScheduleControl, IdempotencyKeys } from './ports';
import { BoundedMap } from '../core/boundedMap';
import { cursorSigner, processCursorKey } from './cursors';
import { randomSuffix } from './runIds';
import { loadAuthSettings } from '../auth/settings';
import { maskSecrets } from '../logging/mask';
import { referencedNames } from '../pipelines/references';
import { definitionVersion } from '../pipelines/version';

/** Without a run store, cancel requests are remembered by this process only (the latest 10,000 runs'). */
const localCancels = new BoundedMap<string, string>(10_000);

/** Without a run store the API still starts and follows runs through Durable; history is empty. */
const NO_STORE: RunQueries & ScheduleControl & IdempotencyKeys & CancelRequests & PendingRuns = {
  // Nothing to record a run in: its activities have nothing to check it against either.
  createPendingRun: () => Promise.resolve(true),
  pinDefinition: (definition) => Promise.resolve(definitionVersion(definition)),
  getRun: () => Promise.resolve(undefined),
  listRuns: () => Promise.resolve({ runs: [] }),
  getAttempts: () => Promise.resolve([]),
  getLogs: () => Promise.resolve({ lines: [] }),
  isPaused: () => Promise.resolve(false),
  getScheduleState: () => Promise.resolve({ paused: false }),
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
    ...(services.store ? { definitions: cachedPinned(services.store.definitions) } : {}),
    runs: store,
    ...(services.store ? { endings: services.store } : {}),
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
    ...(services.store ? { backfills: services.store.backfills(), slotLedger: services.store, approvals: services.store.approvals(), triggerHistory: services.store.triggerHistory() } : {}),
    ...consoleLinks(),
    ...(services.config.PUBLIC_BASE_URL ? { baseUrl: services.config.PUBLIC_BASE_URL.replace(/\/+$/, '') } : {}),
  };
}

/** Read-only mode and the Application Insights link, for GET /api/me (the console's buttons and links). */
function consoleLinks(): Pick<ApiDeps, 'readOnly' | 'appInsightsUrl'> {
  const settings = loadAuthSettings();
  return { readOnly: settings.readOnly, ...(settings.appInsightsUrl ? { appInsightsUrl: settings.appInsightsUrl } : {}) };
}

/** One array of checks per services, so the API's health cache (api/routes.ts) holds across requests. */
const checksOf = new WeakMap<AppServices, HealthCheck[]>();

function healthChecks(services: AppServices): HealthCheck[] {
  let checks = checksOf.get(services);
  if (!checks) {
    checks = buildHealthChecks(services);
    checksOf.set(services, checks);
  }
  return checks;
}

function buildHealthChecks(services: AppServices): HealthCheck[] {
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
      // An alert that cannot be delivered fails nothing and would be found only when it is needed:
      // check now that every webhook secret an alert names holds a URL a POST can go to.
      name: 'webhooks',
      async check() {
        const webhooks = [...new Map(pipelines.flatMap((p) => p.alerts.map((a) => [a.webhook.secret, a.channel] as const))).entries()].sort(([a], [b]) => (a < b ? -1 : 1));
        if (webhooks.length === 0) return { ok: true, detail: 'no pipeline sends alerts' };
        const problems = (
          await Promise.all(
            webhooks.map(([name, channel]) =>
              services.secrets.get(name).then(
                (value) => webhookUrlProblem(value).map((problem) => `${name} (${channel}): ${problem}`),
                (error: unknown) => [`${name} (${channel}): unreadable: ${maskSecrets((error as Error).message)}`],
              ),
            ),
          )
        ).flat();
        if (problems.length === 0) return { ok: true, detail: `${webhooks.length} alert webhook URL${webhooks.length === 1 ? '' : 's'} parse: ${webhooks.map(([n]) => n).join(', ')}` };
        return { ok: false, detail: `alert webhooks that cannot be posted to: ${problems.join('; ')}`, missing: webhooks.map(([n]) => n).filter((n) => problems.some((p) => p.startsWith(`${n} `))) };
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

/** Why a webhook secret's value is not a URL an alert can be POSTed to (never quoting it: it is a secret). */
export function webhookUrlProblem(value: string): string[] {
  if (value.trim() === '') return ['empty'];
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return ['not a URL (expected https://hooks.slack.com/services/… or a Teams workflow URL)'];
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return [`not an http(s) URL (scheme ${url.protocol.replace(/:$/, '')})`];
  if (url.protocol === 'http:' && !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) return ['http:// outside this machine: webhooks take https://'];
  return [];
}
