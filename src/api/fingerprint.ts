/**
 * What an idempotency key promises: the same request gets the same run. The fingerprint of a
 * request is the SHA-256 of its canonical JSON (keys sorted at every level), so `{a, b}` and
 * `{b, a}` are one request and other parameters (or another rerun `from`) are another.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../pipelines/version';

export function requestFingerprint(request: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalJson(request) ?? '', 'utf8').digest('hex')}`;
}
