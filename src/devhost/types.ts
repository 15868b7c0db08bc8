/** Public types of the development host. */
import type { Registration } from '../app/registry';
import type { ClockMode } from './clock';
import type { HistoryEvent } from './history';
import type { TimerStatus } from './schedule-monitor';

export type RuntimeStatus = 'Pending' | 'Running' | 'Completed' | 'ContinuedAsNew' | 'Failed' | 'Terminated';

export const TERMINAL_STATUSES: readonly RuntimeStatus[] = ['Completed', 'Failed', 'Terminated'];

/** How activity failures reach the orchestrator. */
export type TaskFailureShape =
  /** What the extension sends a Node worker today: Reason + Details strings only. */
  | 'reasonDetails'
  /** Reason + Details plus structured FailureDetails (read first by durable-functions ≥ 3.5). */
  | 'failureDetails';

export interface DevHostOptions {
  /** Functions to serve; defaults to the registry's `registrations()`. */
  readonly registrations?: readonly Registration[];
  /** Replace the handler of a registered function by name (stand-in activities in tests). */
  readonly replaceHandlers?: Readonly<Record<string, Registration['handler']>>;
  readonly clock?: ClockMode;
  /** Virtual clock start; defaults to the wall clock at start, whole seconds. */
  readonly startTime?: Date;
  /** Port for HTTP triggers: 0 = a free port (default), false = no HTTP trigger server. */
  readonly httpPort?: number | false;
  /**
   * Host names answered besides the loopback ones (localhost, *.localhost, 127.0.0.0/8, [::1]);
   * any other `Host` is refused 403 before anything runs (src/devhost/hostNames.ts). The server
   * listens on 127.0.0.1 either way.
   */
  readonly allowedHosts?: readonly string[];
  /** Key that authLevel 'function'/'admin' routes require (x-functions-key header or ?code=). Unset = no check. */
  readonly functionKey?: string;
  /**
   * Emulates App Service Authentication: every HTTP trigger request carries this principal (Base64
   * JSON, the platform's format); undefined = not signed in. Whether or not it is set, the host
   * drops any `x-ms-client-principal*` header a client sent: only the platform sets them.
   */
  readonly platformPrincipal?: () => string | undefined;
  readonly hostJsonPath?: string;
  /** host.json content; wins over hostJsonPath. */
  readonly hostJson?: unknown;
  readonly log?: (line: string) => void;
  readonly taskFailureShape?: TaskFailureShape;
  /**
   * Folder for the Durable state (instances, histories, pending timers and messages; see
   * docs/devhost.md): unfinished runs resume when a host starts on the same folder. Unset = in memory.
   */
  readonly stateDirectory?: string;
  /** Page size of the status query API (the client follows continuation tokens). Default 100. */
  readonly statusPageSize?: number;
  /**
   * The schedule monitor's records from an earlier host (its `timerStatus()`): each monitored
   * timer then starts as the Functions host's timer listener does — past due once if its recorded
   * next fire passed and its schedule did not change, else `runOnStartup` (schedule-monitor.ts).
   * Unset = no record, as for a first start.
   */
  readonly timerStatus?: readonly TimerStatus[];
  /**
   * External events raised to an instance that has just continued as new: deleted with its new
   * execution's first answer as DurableTask.AzureStorage did before Azure/durabletask#1399
   * (`azureStoragePre1399`, the default: continue-window.ts), or `delivered`.
   */
  readonly continueAsNewEvents?: 'azureStoragePre1399' | 'delivered';
}

export interface InstanceStats {
  readonly executions: number;
  readonly historyEventsPerExecution: readonly number[];
  readonly maxHistoryEvents: number;
  /** Orchestrator invocations (each replays the execution's history from the start). */
  readonly replays: number;
  readonly replayCpuMs: number;
  /** History events summed over all executions. */
  readonly totalHistoryEvents: number;
}

/** What `getStatus` returns, in the extension's JSON shape (dates as ISO strings). */
export interface InstanceStatusJson {
  readonly name: string;
  readonly instanceId: string;
  readonly runtimeStatus: RuntimeStatus;
  readonly input: unknown;
  readonly customStatus: unknown;
  readonly output: unknown;
  readonly createdTime: string;
  readonly lastUpdatedTime: string;
  readonly historyEvents?: readonly unknown[];
  readonly history?: readonly unknown[];
}

export interface StatusQuery {
  readonly runtimeStatus?: readonly string[];
  readonly createdTimeFrom?: Date;
  readonly createdTimeTo?: Date;
}

export type { HistoryEvent };
