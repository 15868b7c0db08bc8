/**
 * The secret canary: a unique value handed out as EVERY secret, so a test can run an adapter's
 * success and failure paths and then prove the value reached no output, error (message, stack,
 * cause chain), log line or status. Reusable by every step kind's tests:
 *
 *   const canary = withCanary({ values: { 'azure-function-url': (c) => `${base}/api/export?code=${c}` } });
 *   … run the adapter with canary.secrets and canary.log …
 *   canary.assertNoCanary(outcome, caughtError, canary.logLines());
 *
 * The resolver is the real settings-based one (secrets from `SECRET_*` settings), so values are
 * registered for masking exactly as in production.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { REQUESTED_AT, seedDefaultParameters } from './seedParameters';
import { createLogger, type Logger } from '../../src/logging/logger';
import { createSecretResolver } from '../../src/secrets/resolver';
import { SECRET_SETTING_PREFIX } from '../../src/secrets/settings';
import type { SecretResolver } from '../../src/secrets/types';
import type { StepContext } from '../../src/steps/adapter';

export interface Canary {
  /** The unique value; letters and digits only, so URL- and JSON-encoding leave it as is. */
  readonly value: string;
  /** Every secret resolves to the canary (or to `values[name](canary)`). */
  readonly secrets: SecretResolver;
  /** Names asked for, in order. */
  readonly requested: readonly string[];
  /** A pino logger (the app's createLogger) writing to memory. */
  readonly log: Logger;
  logLines(): string[];
  /** A StepContext whose secrets are the canary and whose log is captured. */
  stepContext(overrides?: Partial<StepContext>): StepContext;
  /** Fails, naming the path, if the canary occurs anywhere inside any of `things`. */
  assertNoCanary(...things: unknown[]): void;
}

export interface CanaryOptions {
  /** Secrets that must have a shape (a URL, a PEM key): built around the canary. */
  readonly values?: Readonly<Record<string, (canary: string) => string>>;
}

export function withCanary(options: CanaryOptions = {}): Canary {
  const value = `canary${randomBytes(12).toString('hex')}`;
  const requested: string[] = [];
  const builders = new Map(Object.entries(options.values ?? {}).map(([k, f]) => [k.toLowerCase(), f]));
  const settings = (setting: string): string | undefined => {
    if (!setting.startsWith(SECRET_SETTING_PREFIX)) return undefined;
    const name = setting.slice(SECRET_SETTING_PREFIX.length).toLowerCase().replace(/_/g, '-');
    requested.push(name);
    return builders.get(name)?.(value) ?? value;
  };
  const secrets = createSecretResolver({ settings, ttlSeconds: 300 });
  const { logger, lines } = memoryLogger();
  return {
    value,
    secrets,
    requested,
    log: logger,
    logLines: lines,
    stepContext: (overrides = {}) => ({
      runId: 'run-canary',
      pipeline: 'data-pipeline',
      stepId: 'step',
      attempt: 1,
      // A manual run requested at a fixed instant: `day` is its logical date, 2026-01-01.
      parameters: seedDefaultParameters(REQUESTED_AT),
      trigger: { kind: 'manual', requestedAt: REQUESTED_AT },
      secrets,
      settings: () => undefined,
      log: logger.child({ runId: overrides.runId ?? 'run-canary' }),
      ...overrides,
    }),
    assertNoCanary(...things: unknown[]) {
      things.forEach((thing, i) => {
        const found = findString(thing, value, `[${i}]`, new Set());
        assert.equal(found, undefined, `the secret canary leaked at ${found ?? ''}`);
      });
    },
  };
}

/** A logger from the app's own createLogger, writing JSON lines to memory. */
export function memoryLogger(level = 'debug'): { logger: Logger; lines: () => string[] } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const logger = createLogger({ level, destination });
  return { logger, lines: () => chunks.join('').split('\n').filter((l) => l !== '') };
}

/** Where `needle` occurs inside `thing` (strings, errors with stack and cause, objects, maps, buffers), or undefined. */
function findString(thing: unknown, needle: string, path: string, seen: Set<unknown>): string | undefined {
  if (typeof thing === 'string') return thing.includes(needle) ? path : undefined;
  if (typeof thing === 'number' || typeof thing === 'boolean' || typeof thing === 'bigint') return undefined;
  if (typeof thing === 'function') return String(thing).includes(needle) ? path : undefined;
  if (thing === null || thing === undefined || typeof thing !== 'object') return undefined;
  if (seen.has(thing)) return undefined;
  seen.add(thing);
  if (Buffer.isBuffer(thing) || thing instanceof Uint8Array) return Buffer.from(thing).toString('utf8').includes(needle) ? path : undefined;
  if (thing instanceof Error) {
    for (const part of ['message', 'stack', 'name'] as const) {
      if (String(thing[part] ?? '').includes(needle)) return `${path}.${part}`;
    }
    const inCause = findString(thing.cause, needle, `${path}.cause`, seen);
    if (inCause) return inCause;
    if (String(thing).includes(needle)) return `${path}.toString()`;
  }
  if (thing instanceof Map) {
    for (const [k, v] of thing) {
      const hit = findString(k, needle, `${path}<key>`, seen) ?? findString(v, needle, `${path}.get(${String(k)})`, seen);
      if (hit) return hit;
    }
    return undefined;
  }
  if (thing instanceof Set || Array.isArray(thing)) {
    let i = 0;
    for (const v of thing as Iterable<unknown>) {
      const hit = findString(v, needle, `${path}[${i++}]`, seen);
      if (hit) return hit;
    }
    return undefined;
  }
  if (typeof (thing as { entries?: unknown }).entries === 'function' && thing instanceof Headers) {
    for (const [k, v] of thing.entries()) if (v.includes(needle) || k.includes(needle)) return `${path}.headers(${k})`;
    return undefined;
  }
  for (const key of Object.getOwnPropertyNames(thing)) {
    if (key.includes(needle)) return `${path}<key ${key}>`;
    const descriptor = Object.getOwnPropertyDescriptor(thing, key);
    if (descriptor && 'value' in descriptor) {
      const hit = findString(descriptor.value, needle, `${path}.${key}`, seen);
      if (hit) return hit;
    }
  }
  return undefined;
}
