/**
 * A StepContext for adapter tests: secrets from a map (our own SecretResolver interface, with a
 * record of reads and invalidations), settings from a map, and a real pino logger whose lines are
 * kept so tests can look for leaks.
 */
import { Writable } from 'node:stream';
import { createLogger } from '../../../src/logging/logger';
import { rememberSecretValue } from '../../../src/logging/mask';
import type { StepContext } from '../../../src/steps/adapter';
import type { SecretResolver } from '../../../src/secrets/types';
import { REQUESTED_AT, seedDefaultParameters } from '../seedParameters';

export interface TestStepContext {
  readonly ctx: StepContext;
  readonly logLines: string[];
  readonly secretReads: string[];
  readonly invalidated: string[];
  /** Changes a secret's value (rotation in the vault). */
  setSecret(name: string, value: string): void;
  /** A context for another attempt of the same step. */
  forAttempt(attempt: number): StepContext;
}

export function createTestStepContext(options: {
  secrets?: Record<string, string>;
  settings?: Record<string, string>;
  runId?: string;
  stepId?: string;
  attempt?: number;
}): TestStepContext {
  const values = new Map(Object.entries(options.secrets ?? {}));
  const cache = new Map<string, string>();
  const secretReads: string[] = [];
  const invalidated: string[] = [];
  const logLines: string[] = [];
  const secrets: SecretResolver = {
    get(name) {
      const cached = cache.get(name);
      if (cached !== undefined) return Promise.resolve(cached);
      secretReads.push(name);
      const value = values.get(name);
      if (value === undefined) return Promise.reject(new Error(`secret ${name} not found`));
      rememberSecretValue(value);
      cache.set(name, value);
      return Promise.resolve(value);
    },
    invalidate(name) {
      invalidated.push(name);
      cache.delete(name);
    },
  };
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
      done();
    },
  });
  const log = createLogger({ level: 'debug', destination });
  const settings = options.settings ?? {};
  const make = (attempt: number): StepContext => ({
    runId: options.runId ?? 'run-2026-01-01-0200-abcd',
    pipeline: 'data-pipeline',
    stepId: options.stepId ?? 'transform',
    attempt,
    // A manual run requested at a fixed instant: `day` is its logical date, 2026-01-01.
    parameters: seedDefaultParameters(REQUESTED_AT),
    trigger: { kind: 'manual', requestedAt: REQUESTED_AT },
    secrets,
    settings: (name) => settings[name],
    log: log.child({ stepId: options.stepId ?? 'transform', attempt }),
  });
  return {
    ctx: make(options.attempt ?? 1),
    logLines,
    secretReads,
    invalidated,
    setSecret(name, value) {
      values.set(name, value);
    },
    forAttempt: make,
  };
}
