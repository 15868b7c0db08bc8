/**
 * Reading an Azure Function's answer: failure classes by HTTP status, a bounded copy of the body
 * for the run record, counts found in the body as metrics. Every text is masked before it leaves.
 */
import type { Json } from '../../core/json';
import { PermanentError, RetryAfterError, TransientError, type ClassifiedError } from '../../core/errors';
import { parseRetryAfterSeconds } from '../../core/retryAfter';
import { maskDeep, maskSecrets } from '../../logging/mask';
import { maskCredentialText, maskCredentials } from '../../logging/serviceCredentials';
import type { StepMetrics } from '../protocol';

export const DEFAULT_MAX_OUTPUT_BYTES = 8 * 1024;
/**
 * The most of an answer read: 1 MiB, far above the 8 KiB kept and any summary an export answers
 * (status, counts, file names), far below what a 512 MB instance can hold while other runs work.
 */
export const DEFAULT_MAX_ANSWER_BYTES = 1024 * 1024;
const EXCERPT_CHARS = 300;

export function parseJson(text: string): Json | undefined {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as Json;
  } catch {
    return undefined;
  }
}

export function isObject(value: Json | undefined): value is { [key: string]: Json } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The body as kept in the run record: the JSON itself when small, else a marked, cut preview. */
export function boundedOutput(value: Json | undefined, text: string, maxBytes: number): Json | undefined {
  if (text.trim() === '') return undefined;
  if (value !== undefined) {
    // Credentials the function answered are masked before the cut, so no prefix of one survives it.
    const masked = maskCredentials(maskDeep(value));
    const serialized = JSON.stringify(masked);
    if (Buffer.byteLength(serialized) <= maxBytes) return masked;
    return { truncated: true, totalBytes: Buffer.byteLength(serialized), preview: cutToBytes(serialized, maxBytes) };
  }
  const masked = maskCredentialText(maskSecrets(text));
  if (Buffer.byteLength(masked) <= maxBytes) return masked;
  return { truncated: true, totalBytes: Buffer.byteLength(masked), preview: cutToBytes(masked, maxBytes) };
}

function cutToBytes(text: string, maxBytes: number): string {
  const cut = Buffer.from(text, 'utf8').subarray(0, maxBytes).toString('utf8');
  // A cut through a multi-byte character leaves U+FFFD at the end.
  return cut.endsWith('\uFFFD') ? cut.slice(0, -1) : cut;
}

const COUNT_KEY = /(count|rows?|files?|records?|blobs?|items?|bytes|size|exported|loaded|written)$/i;
const MAX_METRICS = 20;

/** Top-level numbers whose names say they count something: `{ "files_exported": 12, "rowCount": 5400 }`. */
export function metricsFrom(value: Json | undefined): StepMetrics | undefined {
  if (!isObject(value)) return undefined;
  const metrics: StepMetrics = {};
  let n = 0;
  for (const [key, v] of Object.entries(value)) {
    if (typeof v === 'number' && Number.isFinite(v) && COUNT_KEY.test(key) && n < MAX_METRICS) {
      metrics[maskSecrets(key)] = v;
      n += 1;
    }
  }
  return n === 0 ? undefined : metrics;
}

export function excerpt(text: string): string {
  const flat = maskCredentialText(maskSecrets(text)).replace(/\s+/g, ' ').trim();
  return flat.length > EXCERPT_CHARS ? `${flat.slice(0, EXCERPT_CHARS)}…` : flat;
}

/**
 * 408/429/5xx → transient (429 and 503 with Retry-After → RetryAfterError); 401/403 and other
 * 4xx → permanent; a redirect is not followed (it would carry the key elsewhere) → permanent.
 */
export function httpFailure(what: string, status: number, retryAfter: string | null, bodyText: string, now: number): ClassifiedError {
  const detail = excerpt(bodyText);
  const message = `${what} answered HTTP ${status}${detail ? `: ${detail}` : ''}`;
  const code = `HTTP_${status}`;
  if (status === 429 || status === 503) {
    const seconds = parseRetryAfterSeconds(retryAfter, now);
    if (seconds !== undefined) return new RetryAfterError(message, seconds, { code });
    return new TransientError(message, { code });
  }
  if (status === 408 || status >= 500) return new TransientError(message, { code });
  if (status >= 300 && status < 400) return new PermanentError(`${what} answered a redirect (HTTP ${status}), which is not followed; point the URL at the final address`, { code });
  return new PermanentError(message, { code });
}
