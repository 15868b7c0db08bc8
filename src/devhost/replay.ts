/**
 * One orchestrator wake-up, run by durable-functions' own replay engine (`createOrchestrator` from
 * its testing utilities) over the full history of the current execution, exactly as the extension
 * does on every wake-up. The SDK answers with every action the execution has taken so far; the
 * action list is flattened (Task.all / Task.any carry their children) in the order the SDK hands
 * out sequence numbers, so action N is the task the SDK will match with history EventId N.
 */
import type { InvocationContext } from '@azure/functions';
import { DummyOrchestrationContext, type OrchestrationHandler } from 'durable-functions';
import {
  createOrchestrator,
  type OrchestrationTriggerPayload,
  type SdkOrchestratorState,
} from 'durable-functions/lib/src/util/testingUtils';
import type { HistoryEvent } from './history';

/**
 * The replay schema the extension announces: `OrchestrationTriggerAttributeBindingProvider.
 * OrchestrationContextToString` sends `upperSchemaVersion = SchemaVersion.V2` and
 * `upperSchemaVersionNew = SchemaVersion.V3`, whose values are 1 and 2 (`enum SchemaVersion
 * { Original = 0, V2 = 1, V3 = 2 }` in OutOfProcOrchestrationShim.cs, dev/main/v3.x branches as of
 * Oct 2024). The SDK takes the new field, so orchestrators run at ReplaySchema.V3 (2).
 * Azure/azure-functions-durable-extension#3453 (merged June 2026, release not verified here) raises
 * `upperSchemaVersionNew` to V4 (3) for entity locks; our orchestrators use neither locks nor
 * callHttp, the only features that look at the version, so both announce the same behaviour.
 */
const UPPER_SCHEMA_VERSION = 1;
const UPPER_SCHEMA_VERSION_NEW = 2;
export const MAXIMUM_SHORT_TIMER_MS = 6 * 24 * 3600 * 1000;

/** SDK ActionType values. */
const ActionType = {
  CallActivity: 0,
  CallActivityWithRetry: 1,
  CallSubOrchestrator: 2,
  CallSubOrchestratorWithRetry: 3,
  ContinueAsNew: 4,
  CreateTimer: 5,
  WaitForExternalEvent: 6,
  CallEntity: 7,
  CallHttp: 8,
  SignalEntity: 9,
  WhenAny: 11,
  WhenAll: 12,
} as const;

/** An action that takes a sequence number (a history EventId). */
export type SequencedAction =
  | { readonly kind: 'activity'; readonly name: string; readonly input: string | undefined }
  | { readonly kind: 'timer'; readonly fireAt: Date; readonly isCanceled: boolean }
  | { readonly kind: 'subOrchestration'; readonly name: string; readonly instanceId: string | undefined; readonly input: string | undefined };

export interface EpisodeResult {
  /** How many sequenced actions the execution has taken so far (the next sequence number). */
  readonly actionCount: number;
  /** The sequenced actions from `newActionsFrom` on; element i has sequence number newActionsFrom + i. */
  readonly newActions: readonly SequencedAction[];
  /** Names of the external events the orchestrator is waiting for (no sequence number). */
  readonly waitingFor: readonly string[];
  readonly continueAsNew?: { readonly input: string | undefined };
  readonly completed: boolean;
  readonly output: unknown;
  readonly customStatus: unknown;
  /** Set when the orchestrator threw: the error text the extension would record. */
  readonly error?: string;
  readonly cpuMs: number;
}

export class UnsupportedActionError extends Error {
  override readonly name = 'UnsupportedActionError';
}

interface RawAction {
  readonly actionType: number;
  readonly functionName?: string;
  readonly input?: unknown;
  readonly instanceId?: string;
  readonly fireAt?: Date | string;
  readonly isCanceled?: boolean;
  readonly externalEventName?: string;
  readonly compoundActions?: readonly RawAction[];
}

const listeners = new WeakMap<OrchestrationHandler, ReturnType<typeof createOrchestrator>>();

function listenerFor(handler: OrchestrationHandler): ReturnType<typeof createOrchestrator> {
  let listener = listeners.get(handler);
  if (!listener) {
    listener = createOrchestrator(handler);
    listeners.set(handler, listener);
  }
  return listener;
}

export interface EpisodeRequest {
  readonly name: string;
  readonly instanceId: string;
  readonly parentInstanceId?: string;
  /** The execution's full history, the new events last (IsPlayed false). */
  readonly history: readonly HistoryEvent[];
  /** The input as the orchestrator receives it (already parsed from ExecutionStarted.Input). */
  readonly input: unknown;
  readonly log?: (line: string) => void;
  /**
   * The same events as the SDK sees them (Timestamp as Date), kept by the caller across wake-ups so
   * the history need not be re-parsed each time. The SDK only reads it. Default: a JSON copy.
   */
  readonly sdkHistory?: readonly unknown[];
  /** Only actions from this sequence number on are decoded (earlier ones are already scheduled). */
  readonly newActionsFrom?: number;
}

/** An event as the SDK holds it after parsing the worker payload (timestamps as Dates). */
export function toSdkEvent(event: HistoryEvent): Record<string, unknown> {
  return { ...event, Timestamp: new Date(event.Timestamp) };
}

export async function runEpisode(handler: OrchestrationHandler, request: EpisodeRequest): Promise<EpisodeResult> {
  const listener = listenerFor(handler);
  // The worker receives JSON and the SDK turns timestamp strings into Dates in place; a view that
  // already holds Dates is left as it is, so the caller may keep one across wake-ups.
  const history = request.sdkHistory ? [...request.sdkHistory] : (JSON.parse(JSON.stringify(request.history)) as unknown[]);
  const payload: OrchestrationTriggerPayload = {
    history,
    input: request.input,
    instanceId: request.instanceId,
    isReplaying: request.history.some((e) => e.IsPlayed),
    parentInstanceId: request.parentInstanceId,
    maximumShortTimerDuration: '6.00:00:00',
    longRunningTimerIntervalDuration: '3.00:00:00',
    defaultHttpAsyncRequestSleepTimeMillseconds: 30000,
    upperSchemaVersion: UPPER_SCHEMA_VERSION,
    upperSchemaVersionNew: UPPER_SCHEMA_VERSION_NEW,
  };
  const log = request.log;
  const context: InvocationContext = new DummyOrchestrationContext(request.name, `${request.instanceId}:${history.length}`, (level, ...args) => {
    if (log) log(`[${request.name} ${request.instanceId}] ${level}: ${args.map(String).join(' ')}`);
  });

  const before = process.cpuUsage();
  let state: SdkOrchestratorState;
  let error: string | undefined;
  try {
    state = await listener(payload, context);
  } catch (thrown) {
    const parsed = parseFailure(thrown);
    state = parsed.state;
    error = parsed.error;
  }
  const used = process.cpuUsage(before);
  const cpuMs = (used.user + used.system) / 1000;

  const { actionCount, newActions, waitingFor, continueAsNew } = flattenActions(state.actions, request.newActionsFrom ?? 0);
  return {
    actionCount,
    newActions,
    waitingFor,
    ...(continueAsNew ? { continueAsNew } : {}),
    completed: error === undefined && state.isDone && !continueAsNew,
    output: state.output,
    customStatus: state.customStatus,
    ...(error !== undefined ? { error } : {}),
    cpuMs,
  };
}

const OUT_OF_PROC_LABEL = '\n\n$OutOfProcData$:';

/** The SDK throws an OrchestrationFailureError whose message carries the state after a label. */
function parseFailure(thrown: unknown): { state: SdkOrchestratorState; error: string } {
  const message = thrown instanceof Error ? thrown.message : String(thrown);
  const at = message.indexOf(OUT_OF_PROC_LABEL);
  const empty: SdkOrchestratorState = { isDone: false, actions: [], output: undefined, schemaVersion: UPPER_SCHEMA_VERSION };
  if (at < 0) return { state: empty, error: message };
  try {
    const state = JSON.parse(message.slice(at + OUT_OF_PROC_LABEL.length)) as SdkOrchestratorState;
    return { state: { ...state, actions: [] }, error: state.error ?? message.slice(0, at) };
  } catch {
    return { state: empty, error: message.slice(0, at) };
  }
}

function flattenActions(
  episodes: readonly unknown[][],
  from: number,
): {
  actionCount: number;
  newActions: SequencedAction[];
  waitingFor: string[];
  continueAsNew?: { input: string | undefined };
} {
  const seen = new Set<RawAction>();
  const actions: SequencedAction[] = [];
  let count = 0;
  // decoding inputs costs a JSON.stringify each; already scheduled actions only need counting
  const push = (decode: () => SequencedAction): void => {
    if (count++ >= from) actions.push(decode());
  };
  const waitingFor: string[] = [];
  let continueAsNew: { input: string | undefined } | undefined;

  const visit = (raw: RawAction): void => {
    if (seen.has(raw)) return; // a task yielded again inside Task.any/all keeps its first number
    seen.add(raw);
    switch (raw.actionType) {
      case ActionType.WhenAll:
      case ActionType.WhenAny:
        for (const child of raw.compoundActions ?? []) visit(child);
        return;
      case ActionType.CallActivity:
        push(() => ({ kind: 'activity', name: raw.functionName ?? '', input: serializeProcessedInput(raw.input) }));
        return;
      case ActionType.CreateTimer:
        push(() => ({ kind: 'timer', fireAt: new Date(raw.fireAt ?? 0), isCanceled: raw.isCanceled === true }));
        return;
      case ActionType.CallSubOrchestrator:
        push(() => ({
          kind: 'subOrchestration',
          name: raw.functionName ?? '',
          instanceId: raw.instanceId || undefined,
          input: raw.input === undefined ? undefined : JSON.stringify(raw.input),
        }));
        return;
      case ActionType.WaitForExternalEvent:
        waitingFor.push(raw.externalEventName ?? '');
        return;
      case ActionType.ContinueAsNew:
        continueAsNew = { input: serializeProcessedInput(raw.input) };
        return;
      default:
        throw new UnsupportedActionError(
          `the development host does not support action type ${raw.actionType} ` +
            '(callActivityWithRetry, callSubOrchestratorWithRetry, callHttp and entities are not implemented)',
        );
    }
  };

  for (const episode of episodes) for (const raw of episode) visit(raw as RawAction);
  return { actionCount: count, newActions: actions, waitingFor, ...(continueAsNew ? { continueAsNew } : {}) };
}

/** The SDK JSON-encodes string inputs of activities and continueAsNew itself; others are values. */
function serializeProcessedInput(input: unknown): string | undefined {
  if (input === undefined) return undefined;
  return typeof input === 'string' ? input : JSON.stringify(input);
}
