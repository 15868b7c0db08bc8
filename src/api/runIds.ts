/**
 * Run ids are Durable instance ids and Table keys: letters, digits and `-` only. A run started with
 * an idempotency key gets an id derived from the key, so a repeated request lands on the same run
 * even before the key's ledger row exists.
 */
import { createHash, randomBytes } from 'node:crypto';

function stamp(now: Date): string {
  return now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/** `data-pipeline-20261126T060000Z-a1b2c3` */
export function newRunId(pipeline: string, now: Date, suffix: string): string {
  return `${pipeline}-${stamp(now)}-${suffix}`;
}

export function idempotentRunId(pipeline: string, key: string): string {
  const digest = createHash('sha256').update(`${pipeline}\u0000${key}`).digest('hex').slice(0, 24);
  return `${pipeline}-key-${digest}`;
}

/**
 * A rerun's id from its idempotency key, scoped to its source run. Its own prefix (`-rerun-`, never
 * `-key-`) and hash input keep it apart from every start's id, whatever key a start sends.
 */
export function idempotentRerunId(pipeline: string, sourceRunId: string, key: string): string {
  const digest = createHash('sha256').update(`rerun\u0000${pipeline}\u0000${sourceRunId}\u0000${key}`).digest('hex').slice(0, 24);
  return `${pipeline}-rerun-${digest}`;
}

/**
 * The idempotency ledger's partition for a pipeline's reruns: `~` is no slug character, so no
 * pipeline's start keys live there and no start key can take a rerun's place.
 */
export const rerunKeyScope = (pipeline: string): string => `${pipeline}~rerun`;

export const randomSuffix = (): string => randomBytes(3).toString('hex');

/** Ids we hand out match this; anything else in a URL is answered 404 without a lookup. */
export const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9:_-]{0,199}$/;
