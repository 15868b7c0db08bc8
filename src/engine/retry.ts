/**
 * Retry arithmetic for steps: which failures retry, and how long to wait. Pure and replay-safe:
 * jitter comes from a hash of (run, step, attempt), so every replay computes the same delay.
 */
import type { FailureInfo } from '../core/errors';
import type { RetryPolicy } from '../pipelines/schema';

/** 32-bit FNV-1a: tiny, stable across Node versions, good enough to spread retries. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** A fraction in [0, 1) fixed by the run, step and attempt. */
export function jitterFraction(runId: string, stepId: string, attempt: number): number {
  return fnv1a(`${runId}\u0000${stepId}\u0000${attempt}`) / 0x100000000;
}

/**
 * The policy's delay before retry number `retry` (1 = the first retry), before jitter.
 * A list repeats its last entry; backoff grows by `factor` and stops at `max`.
 */
export function baseDelaySeconds(delays: RetryPolicy['delays'], retry: number): number {
  const index = Math.max(1, retry);
  if (typeof delays === 'number') return delays;
  if (Array.isArray(delays)) return delays[Math.min(index, delays.length) - 1] ?? 0;
  const grown = delays.initial * Math.pow(delays.factor, index - 1);
  return delays.max === undefined ? grown : Math.min(grown, delays.max);
}

export interface RetryKey {
  readonly runId: string;
  readonly stepId: string;
  /** The global attempt number that just failed (pipeline retries continue the count). */
  readonly attempt: number;
}

/** Seconds to wait before the next attempt: policy delay + jitter, never less than the service's hint. */
export function retryDelaySeconds(policy: RetryPolicy, retry: number, key: RetryKey, retryAfterSeconds?: number): number {
  const base = baseDelaySeconds(policy.delays, retry);
  const jittered = base + base * policy.jitter * jitterFraction(key.runId, key.stepId, key.attempt);
  // Whole milliseconds keep timer fire times exact in ISO strings.
  const delay = Math.round(jittered * 1000) / 1000;
  return Math.max(delay, retryAfterSeconds ?? 0);
}

/**
 * Whether a step that failed with `failure` on its `attemptsUsed`-th attempt of this pipeline
 * attempt gets another one. Permanent and cancelled failures never retry.
 */
export function shouldRetry(policy: RetryPolicy, failure: FailureInfo, attemptsUsed: number): boolean {
  if (attemptsUsed >= policy.attempts) return false;
  if (failure.class !== 'transient' && failure.class !== 'timeout') return false;
  return policy.retryOn.includes(failure.class);
}
