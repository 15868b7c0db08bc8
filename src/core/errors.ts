/**
 * Failure classification shared by every activity and read by the orchestrator.
 *
 * Durable Functions hands an orchestrator only the *text* of an activity's failure (the task's
 * reason and details), wrapped by the host in its own words. So the class and the retry hint travel
 * inside the message between two markers, and `readFailure` finds them wherever the host put them.
 * This module imports nothing: the orchestrator uses it too.
 */

export type FailureClass = 'transient' | 'permanent' | 'timeout' | 'cancelled';

export interface FailureInfo {
  readonly class: FailureClass;
  readonly message: string;
  /** Seconds the service asked us to wait before trying again (HTTP Retry-After and the like). */
  readonly retryAfterSeconds?: number;
  /** A short machine-readable code: HTTP status, Snowflake error code, dbt status… */
  readonly code?: string;
}

interface ClassifiedErrorOptions {
  cause?: unknown;
  code?: string;
}

/** Base of our typed errors; `failure` is what crosses to the orchestrator. */
export abstract class ClassifiedError extends Error {
  abstract readonly failureClass: FailureClass;
  readonly code: string | undefined;

  constructor(message: string, options: ClassifiedErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code;
  }

  get failure(): FailureInfo {
    return {
      class: this.failureClass,
      message: this.message,
      ...(this.code === undefined ? {} : { code: this.code }),
    };
  }
}

/** Retrying cannot help: bad credentials, SQL that does not compile, a 4xx. Fails the step at once. */
export class PermanentError extends ClassifiedError {
  override readonly name = 'PermanentError';
  readonly failureClass = 'permanent' as const;
}

/** A network error, a 5xx, a warehouse resuming: retried by the step's policy. */
export class TransientError extends ClassifiedError {
  override readonly name = 'TransientError';
  readonly failureClass = 'transient' as const;
}

/** The service told us when to come back (429/503 with Retry-After). Retried, no sooner than asked. */
export class RetryAfterError extends ClassifiedError {
  override readonly name = 'RetryAfterError';
  readonly failureClass = 'transient' as const;
  readonly retryAfterSeconds: number;

  constructor(message: string, retryAfterSeconds: number, options: ClassifiedErrorOptions = {}) {
    super(message, options);
    this.retryAfterSeconds = Math.max(0, retryAfterSeconds);
  }

  override get failure(): FailureInfo {
    return { ...super.failure, retryAfterSeconds: this.retryAfterSeconds };
  }
}

/** The step ran past its timeout (a polled job, a request). Retried like a transient failure. */
export class TimeoutError extends ClassifiedError {
  override readonly name = 'TimeoutError';
  readonly failureClass = 'timeout' as const;
}

/** The code of a refusal to act for a run that has ended or been cancelled (`RunEndedError`). */
export const RUN_ENDED_CODE = 'run-ended';

/**
 * An activity refused to act because its run has ended or a cancel was requested: nothing was
 * done, so an attempt it would have started never started (src/activities/runGate.ts).
 */
export class RunEndedError extends ClassifiedError {
  override readonly name = 'RunEndedError';
  readonly failureClass = 'cancelled' as const;
  constructor(message: string) {
    super(message, { code: RUN_ENDED_CODE });
  }
}

const OPEN = '<<dp-failure>>';
const CLOSE = '<</dp-failure>>';

/** The message an activity throws: readable on its own, with the classification embedded. */
export function encodeFailure(info: FailureInfo): string {
  return `${info.message} ${OPEN}${JSON.stringify(info)}${CLOSE}`;
}

/** An Error whose message carries the classification across the Durable boundary. */
export function toActivityError(error: unknown): Error {
  const info = classify(error);
  const wrapped = new Error(encodeFailure(info));
  wrapped.name = error instanceof Error ? error.name : 'Error';
  return wrapped;
}

/**
 * The classification of anything thrown. Unclassified errors count as transient: a bug we did not
 * foresee gets the step's retries rather than failing a nightly run on the first hiccup.
 */
export function classify(error: unknown): FailureInfo {
  if (error instanceof ClassifiedError) return error.failure;
  const text = error instanceof Error ? error.message : String(error);
  return readFailure(text) ?? { class: 'transient', message: text };
}

/** Finds an encoded classification inside any text the host produced (reason, details, stack). */
export function readFailure(text: string | undefined): FailureInfo | undefined {
  if (!text) return undefined;
  // The extension repeats the message: verbatim in the task's Reason, JSON-escaped in its Details
  // (a serialized exception). The escaped copy does not parse, so try every copy, last first.
  for (let start = text.lastIndexOf(OPEN); start >= 0; start = start === 0 ? -1 : text.lastIndexOf(OPEN, start - 1)) {
    const end = text.indexOf(CLOSE, start);
    if (end < 0) continue;
    try {
      const parsed: unknown = JSON.parse(text.slice(start + OPEN.length, end));
      if (isFailureInfo(parsed)) return parsed;
    } catch {
      // an escaped copy; an earlier one may be verbatim
    }
  }
  return undefined;
}

const CLASSES: readonly string[] = ['transient', 'permanent', 'timeout', 'cancelled'];

function isFailureInfo(value: unknown): value is FailureInfo {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v['class'] === 'string' &&
    CLASSES.includes(v['class']) &&
    typeof v['message'] === 'string' &&
    (v['retryAfterSeconds'] === undefined || typeof v['retryAfterSeconds'] === 'number') &&
    (v['code'] === undefined || typeof v['code'] === 'string')
  );
}
