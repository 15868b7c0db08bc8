/**
 * Replays a finished execution's history from scratch, one wake-up at a time, and compares what the
 * orchestrator asks for now with what the history says it asked for then. A difference means the
 * orchestrator is not deterministic (it read the clock, a random number, the environment…).
 */
import type { OrchestrationHandler } from 'durable-functions';
import type { OrchestrationRegistration } from '../app/registry';
import { EventType, parseJsonString, type HistoryEvent } from './history';
import { runEpisode, type SequencedAction } from './replay';

export interface ActionSummary {
  readonly kind: SequencedAction['kind'];
  readonly name?: string;
  readonly fireAt?: string;
  readonly instanceId?: string;
  readonly input?: unknown;
}

export interface ReplayStep {
  /** 0-based wake-up number within the execution. */
  readonly wakeUp: number;
  /** Actions the orchestrator produced now that were new at this wake-up. */
  readonly produced: readonly ActionSummary[];
  /** What the history recorded as scheduled at this wake-up. */
  readonly recorded: readonly ActionSummary[];
  readonly completed: boolean;
  readonly continuedAsNew: boolean;
  readonly error?: string;
}

export interface ReplayReport {
  readonly steps: readonly ReplayStep[];
  /** Human-readable differences; empty when the replay matches the history. */
  readonly mismatches: readonly string[];
}

const SCHEDULING = new Set<number>([EventType.TaskScheduled, EventType.TimerCreated, EventType.SubOrchestrationInstanceCreated]);

/**
 * Re-runs `registration` over `history` (one execution, e.g. `host.executions(id)[n]`) the way the
 * host ran it: wake-up k sees everything before it plus its own new events.
 */
export async function replayFromScratch(
  registration: OrchestrationRegistration | { readonly name: string; readonly handler: OrchestrationHandler },
  history: readonly HistoryEvent[],
  instanceId = 'replay',
): Promise<ReplayReport> {
  const boundaries: number[] = [];
  history.forEach((event, index) => {
    if (event.EventType === EventType.OrchestratorStarted) boundaries.push(index);
  });
  const started = history.find((e) => e.EventType === EventType.ExecutionStarted);
  const input = parseJsonString(started?.['Input']) ?? undefined;
  const parentInstanceId = parentOf(started);
  const recordedAll = history.filter((e) => SCHEDULING.has(e.EventType)).sort((a, b) => a.EventId - b.EventId);
  const ending = history.find((e) => e.EventType === EventType.ExecutionCompleted);

  const steps: ReplayStep[] = [];
  const mismatches: string[] = [];
  let seen = 0;
  for (let k = 0; k < boundaries.length; k++) {
    const end = boundaries[k + 1] ?? history.length;
    const episode = history.slice(boundaries[k], end);
    const inputs = episode.filter((e) => !SCHEDULING.has(e.EventType) && e.EventType !== EventType.OrchestratorCompleted && e.EventType !== EventType.ExecutionCompleted && e.EventType !== EventType.ExecutionTerminated);
    const before = history.slice(0, boundaries[k]).map((e) => ({ ...e, IsPlayed: true }));
    const view = [...before, ...inputs.map((e) => ({ ...e, IsPlayed: false }))];
    const result = await runEpisode(registration.handler, {
      name: registration.name,
      instanceId,
      history: view,
      input,
      newActionsFrom: seen,
      ...(parentInstanceId === undefined ? {} : { parentInstanceId }),
    });
    const produced = result.newActions.map(summarize);
    const recorded = episode.filter((e) => SCHEDULING.has(e.EventType)).map(summarizeEvent);
    seen = Math.max(seen, result.actionCount);
    const step: ReplayStep = {
      wakeUp: k,
      produced,
      recorded,
      completed: result.completed,
      continuedAsNew: result.continueAsNew !== undefined,
      ...(result.error !== undefined ? { error: result.error } : {}),
    };
    steps.push(step);
    if (JSON.stringify(produced) !== JSON.stringify(recorded)) {
      mismatches.push(`wake-up ${k}: produced ${JSON.stringify(produced)} but history recorded ${JSON.stringify(recorded)}`);
    }
  }
  if (seen !== recordedAll.length) mismatches.push(`replay produced ${seen} scheduled actions, history has ${recordedAll.length}`);
  const last = steps[steps.length - 1];
  if (ending && last) {
    const status = ending['OrchestrationStatus'];
    if (status === 'Completed' && !last.completed) mismatches.push('history completed but the replay did not');
    if (status === 'ContinuedAsNew' && !last.continuedAsNew) mismatches.push('history continued as new but the replay did not');
    if (status === 'Failed' && last.error === undefined && !String(parseJsonString(ending['Result'])).includes('development host')) {
      mismatches.push('history failed but the replay did not');
    }
  }
  return { steps, mismatches };
}

function parentOf(started: HistoryEvent | undefined): string | undefined {
  const parent = started?.['ParentInstance'] as { OrchestrationInstance?: { InstanceId?: unknown } } | undefined;
  const id = parent?.OrchestrationInstance?.InstanceId;
  return typeof id === 'string' ? id : undefined;
}

function summarize(action: SequencedAction): ActionSummary {
  switch (action.kind) {
    case 'activity':
      return { kind: 'activity', name: action.name, input: parseJsonString(action.input) };
    case 'timer':
      return { kind: 'timer', fireAt: action.fireAt.toISOString() };
    case 'subOrchestration':
      return { kind: 'subOrchestration', name: action.name, input: parseJsonString(action.input) };
  }
}

function summarizeEvent(event: HistoryEvent): ActionSummary {
  switch (event.EventType) {
    case EventType.TaskScheduled:
      return { kind: 'activity', name: String(event['Name']), input: parseJsonString(event['Input']) };
    case EventType.TimerCreated:
      return { kind: 'timer', fireAt: String(event['FireAt']) };
    default:
      return { kind: 'subOrchestration', name: String(event['Name']), input: parseJsonString(event['Input']) };
  }
}
