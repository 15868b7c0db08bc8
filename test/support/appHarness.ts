/**
 * The whole app as the Functions host would load it — src/index registrations, the real step
 * adapters and SDK clients, the Table run store — served by the development host on a virtual
 * clock, against the stand-in environment (export function, Snowflake, dbt job, Key Vault, Azurite).
 * The same assembly as `npm run demo`, made reusable for the integration tests.
 *
 * Registrations are global per process (src/index registers once), so a test file starts the app
 * once; `restartHost` replaces only the development host (a host that was "down"), keeping the
 * stand-ins, the store and the services.
 */
import type { TableServiceClientOptions } from '@azure/data-tables';
import type { Registration } from '../../src/app/registry';
import type { AppServices } from '../../src/app/services';
import type { DevHost } from '../../src/devhost';
import { ORCHESTRATOR_NAMES } from '../../src/engine/types';
import type { Catalog } from '../../src/pipelines/catalog';
import type { TableRunStore } from '../../src/runs/tableStore';
import { startStandInEnvironment, type FailableStep, type StandInEnvironment, type StandInEnvironmentOptions } from '../../src/standins/environment';

export const FUNCTION_KEY = 'integration-test-key';

export interface AppHarnessOptions extends StandInEnvironmentOptions {
  /** App settings layered over the stand-ins' (e.g. SCHEDULER_ENABLED). */
  readonly settings?: Readonly<Record<string, string>>;
  /** The pipelines served (default: the app's catalog, i.e. the seed pipeline). */
  readonly catalog?: Catalog;
  /** Virtual clock start (default: now, whole seconds). */
  readonly startTime?: Date;
  /** Options for the run store's TableClients (a request-counting policy: bench/runStore.ts). */
  readonly tableClientOptions?: TableServiceClientOptions;
  /** Applied to the registrations each development host serves (e.g. to capture telemetry). */
  readonly wrapRegistrations?: (registrations: readonly Registration[]) => readonly Registration[];
  /** The emulated App Service sign-in (scripts/signIn.ts), for tests that open the console. */
  readonly platformPrincipal?: () => string | undefined;
}

export interface ApiResponse<T = unknown> {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The parsed body when it is JSON, else undefined. */
  readonly json: T;
}

export interface ApiCallOptions {
  /** Function key to present; null sends none. Default: the right one. */
  readonly key?: string | null;
  /** Body sent as is (no JSON encoding). */
  readonly rawBody?: string | Buffer;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface AppHarness {
  readonly world: StandInEnvironment;
  /** The services the app uses now (changes on useCatalog). */
  readonly services: AppServices;
  readonly store: TableRunStore;
  /** The current development host (changes on restartHost). */
  readonly host: DevHost;
  readonly baseUrl: string;
  /** Calls `/api/<path>` with the function key; never throws on an HTTP error status. */
  api<T = unknown>(method: string, path: string, body?: unknown, options?: ApiCallOptions): Promise<ApiResponse<T>>;
  /**
   * Lets the host work (activities, wake-ups, durable timers on virtual time) until `done` holds,
   * polling; throws after `timeoutMs` of wall time with `what` in the message.
   */
  until<T>(what: string, done: () => Promise<T | undefined | false>, options?: { timeoutMs?: number }): Promise<T>;
  /** world.setFailStep, plus what an operator rotating the secret does: the app drops its cached copy. */
  setFailStep(step: FailableStep | undefined): void;
  /** world.setExportDelay, likewise (the slow export is another URL in the vault). */
  setExportDelay(ms: number | undefined): void;
  /** Serves these pipelines from now on (the API and the scheduler tick read the catalog per call). */
  useCatalog(catalog: Catalog): void;
  /** The runPipeline instances the current host knows, by id (sub-orchestrations left out). */
  runInstances(prefix?: string): string[];
  /**
   * Stops the development host; starts a new one at `startTime` (the app was down in between).
   * With `monitor`, the new host fires the timers that were missed while it was down once, as the
   * Functions host's schedule monitor does at start-up (off by default: tests use restarts to skip
   * quiet stretches too).
   */
  restartHost(startTime: Date, options?: { monitor?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

let indexLoaded = false;
/** The stand-ins switch the export step's behaviour through this vault secret (see environment.ts). */
const SWITCHED_SECRET = 'azure-function-url';

/** Starts the stand-ins, the app's services and a development host serving every registration. */
export async function startApp(options: AppHarnessOptions = {}): Promise<AppHarness> {
  const world = await startStandInEnvironment({
    ...(options.failStep ? { failStep: options.failStep } : {}),
    ...(options.exportDelayMs !== undefined ? { exportDelayMs: options.exportDelayMs } : {}),
  });
  try {
    Object.assign(process.env, world.settings, {
      LOG_LEVEL: process.env['TEST_LOG_LEVEL'] ?? 'silent',
      SCHEDULER_ENABLED: 'false',
      DURABLE_TASK_HUB: 'integration',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...options.settings,
    });
    const { useServices, createServices } = await import('../../src/app/services');
    const { DevHost } = await import('../../src/devhost');
    const { registrations } = await import('../../src/app/registry');
    const { schedulerTimerSchedule, SCHEDULER_TIMER } = await import('../../src/functions/scheduler');
    if (!indexLoaded) {
      await import('../../src/index');
      indexLoaded = true;
    }

    const current: { host?: DevHost } = {};
    let services = await createServices({
      credential: world.credential,
      secretClientOptions: world.secretClientOptions,
      now: () => current.host?.now() ?? options.startTime ?? new Date(),
      ...(options.catalog ? { catalog: options.catalog } : {}),
      ...(options.tableClientOptions ? { tableClientOptions: options.tableClientOptions } : {}),
    });
    const store = services.store;
    if (!store) throw new Error('the run store is not configured (RUN_STORE_CONNECTION_STRING)');
    useServices(services);

    const startHost = (startTime: Date | undefined): Promise<DevHost> =>
      DevHost.start({
        registrations: options.wrapRegistrations ? options.wrapRegistrations(registrations()) : registrations(),
        clock: 'virtual',
        httpPort: 0,
        functionKey: FUNCTION_KEY,
        hostJsonPath: 'host.json',
        ...(startTime ? { startTime } : {}),
        ...(options.platformPrincipal ? { platformPrincipal: options.platformPrincipal } : {}),
        ...(process.env['TEST_HOST_LOG'] ? { log: (line: string) => console.error(line) } : {}),
      });
    current.host = await startHost(options.startTime);
    // The scheduler timer's expression derives from the definitions (src/functions/scheduler.ts);
    // swapping the catalog is a redeploy, so the timer follows it.
    const followCatalog = (): void => {
      const schedule = schedulerTimerSchedule(services.catalog, current.host?.now());
      if (schedule !== undefined) current.host?.setTimerSchedule(SCHEDULER_TIMER, schedule);
    };
    followCatalog();

    const host = (): DevHost => {
      if (!current.host) throw new Error('host stopped');
      return current.host;
    };

    const api = async <T>(method: string, path: string, body?: unknown, call: ApiCallOptions = {}): Promise<ApiResponse<T>> => {
      const key = call.key === undefined ? FUNCTION_KEY : call.key;
      const payload = call.rawBody ?? (body === undefined ? undefined : JSON.stringify(body));
      const response = await fetch(`${host().baseUrl ?? ''}/api/${path}`, {
        method,
        headers: {
          ...(key === null ? {} : { 'x-functions-key': key }),
          ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
          ...call.headers,
        },
        ...(payload === undefined ? {} : { body: payload }),
      });
      const text = await response.text();
      let json: unknown;
      try {
        json = text === '' ? undefined : JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: response.status, headers: response.headers, text, json: json as T };
    };

    const until = async <T>(what: string, done: () => Promise<T | undefined | false>, opts: { timeoutMs?: number } = {}): Promise<T> => {
      const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
      for (;;) {
        const value = await done();
        if (value !== undefined && value !== false) return value;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (virtual time ${host().now().toISOString()})`);
        // Settle what is in flight and let virtual time jump to the next durable timer.
        await host().runUntilIdle();
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };

    return {
      world,
      get services() {
        return services;
      },
      store,
      setFailStep(step) {
        world.setFailStep(step);
        services.secrets.invalidate(SWITCHED_SECRET);
      },
      setExportDelay(ms) {
        world.setExportDelay(ms);
        services.secrets.invalidate(SWITCHED_SECRET);
      },
      useCatalog(catalog) {
        services = { ...services, catalog };
        useServices(services);
        followCatalog();
      },
      runInstances(prefix = '') {
        return host()
          .instanceIds()
          .filter((id) => id.startsWith(prefix) && host().orchestratorName(id) === ORCHESTRATOR_NAMES.runPipeline)
          .sort();
      },
      get host() {
        return host();
      },
      get baseUrl() {
        return host().baseUrl ?? '';
      },
      api,
      until,
      async restartHost(startTime, restart = {}) {
        const status = host().timerStatus();
        await host().stop();
        current.host = undefined;
        current.host = await startHost(startTime);
        followCatalog();
        if (restart.monitor) await current.host.resumeTimers(status);
      },
      async stop() {
        // Let runs in flight end first: a stand-in closed under a running activity only slows the exit.
        await current.host?.runUntilIdle();
        await current.host?.stop();
        current.host = undefined;
        await world.stop();
      },
    };
  } catch (error) {
    await world.stop();
    throw error;
  }
}
