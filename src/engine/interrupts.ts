/**
 * What ends a run before its DAG settles: a cancel or the pipeline's `timeout`. Every wait of the
 * run — and of each step sub-orchestration — races fresh waiters for them (never a task yielded
 * before: stepRoutine.ts), so an interrupt is taken the moment it arrives. The instant it happened
 * (`atMs`) decides what each step keeps (src/engine/README.md, "Interrupts").
 */
import type { OrchestrationContext, Task } from 'durable-functions';
import { dateAt } from './clock';
import type { Stop } from './types';

/** Name of the external event that cancels a run (`raiseEvent(runId, CANCEL_EVENT, { reason })`). */
export const CANCEL_EVENT = 'cancel';
/** Name of the event the run raises to its step sub-orchestrations when it is cancelled (activity `stopSteps`). */
export const INTERRUPT_EVENT = 'interrupt';

/**
 * Payload of the `interrupt` event that only a polling instance (pollStep.ts) gets: "poll now".
 * A child run raises it at its parent step's poller when it ends (src/steps/pipeline/wakeParent.ts).
 * Same event name as the stop, so the poller's waits are unchanged and recorded histories replay.
 */
export const WAKE_PAYLOAD = { kind: 'wake' } as const;

/** True when an `interrupt` payload asks a poller to poll now rather than to stop. */
export function isWake(payload: unknown): boolean {
  return typeof payload === 'object' && payload !== null && (payload as { kind?: unknown }).kind === WAKE_PAYLOAD.kind;
}

/** Payload of the `interrupt` event. */
export interface InterruptEvent {
  readonly kind: 'cancelled' | 'timedOut';
  readonly atMs: number;
  readonly reason?: string;
}

export interface Interrupts {
  /** Fresh waiters for one wait: the cancel (or interrupt) event, then the deadline timer if any. */
  make(): readonly Task[];
  /** What a fired waiter means. */
  read(fired: Task): Stop;
  /** The deadline's stop when it has passed: nothing may start any more. */
  due(): Stop | undefined;
}

/**
 * Interrupts for one orchestration: `event` (the run's `cancel`, a step's `interrupt`) and the run's
 * deadline (epoch ms), if it has one.
 */
export function interruptsFor(context: OrchestrationContext, event: typeof CANCEL_EVENT | typeof INTERRUPT_EVENT, deadlineMs: number | undefined): Interrupts {
  const df = context.df;
  const waiters = new Set<Task>();
  const now = (): number => df.currentUtcDateTime.getTime();
  return {
    make() {
      const waiter = df.waitForExternalEvent(event);
      waiters.add(waiter);
      return deadlineMs === undefined ? [waiter] : [waiter, df.createTimer(dateAt(deadlineMs))];
    },
    read(fired) {
      if (!waiters.has(fired)) return { kind: 'timedOut', atMs: deadlineMs ?? now() };
      return event === CANCEL_EVENT ? { kind: 'cancelled', atMs: now(), ...cancelReason(fired.result) } : interruptFrom(fired.result, now());
    },
    due() {
      return deadlineMs !== undefined && now() >= deadlineMs ? { kind: 'timedOut', atMs: deadlineMs } : undefined;
    },
  };
}

function cancelReason(payload: unknown): { reason?: string } {
  if (typeof payload === 'string' && payload !== '') return { reason: payload };
  if (typeof payload === 'object' && payload !== null && typeof (payload as { reason?: unknown }).reason === 'string') {
    return { reason: (payload as { reason: string }).reason };
  }
  return {};
}

function interruptFrom(payload: unknown, nowMs: number): Stop {
  const p = (typeof payload === 'object' && payload !== null ? payload : {}) as Partial<InterruptEvent>;
  // The run's instant when it was interrupted; a step never ends an attempt before it started.
  const atMs = typeof p.atMs === 'number' && Number.isFinite(p.atMs) ? Math.min(p.atMs, nowMs) : nowMs;
  if (p.kind === 'timedOut') return { kind: 'timedOut', atMs };
  return { kind: 'cancelled', atMs, ...(typeof p.reason === 'string' ? { reason: p.reason } : {}) };
}

/** A cancel the run learned of some other way (`reconcileRun` read the API's record of it). */
export function cancelledAt(atMs: number, reason?: string): Stop {
  return { kind: 'cancelled', atMs, ...(reason === undefined ? {} : { reason }) };
}
