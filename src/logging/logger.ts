/**
 * The one logger. JSON lines with structured fields; a child per run carries run id, pipeline,
 * step and attempt on every line. Values of known secrets are masked wherever they appear.
 */
import pino, { type Logger } from 'pino';
import { maskSecrets, maskUrlCredentials } from './mask';
import { invocationDestination } from './invocation';

export type { Logger };

/** Field names whose values are never logged, whatever they hold. */
export const REDACTED_PATHS = [
  'password', '*.password', 'token', '*.token', 'secret', '*.secret', 'privateKey', '*.privateKey',
  'functionKey', '*.functionKey', 'authorization', '*.authorization', 'headers.authorization',
  'headers["x-functions-key"]', '*.headers["x-functions-key"]', 'headers.Authorization',
];

export function createLogger(options: { level?: string; destination?: pino.DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? process.env['LOG_LEVEL'] ?? 'info',
      base: { app: 'durable-pipelines' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      hooks: {
        // Masks secret values that slipped into a message or an error text.
        logMethod(args, method) {
          method.apply(this, args.map((a) => (typeof a === 'string' ? maskSecrets(a) : a)) as Parameters<typeof method>);
        },
        // The last line of defence: a secret inside a logged object, error stack or cause is
        // masked in the serialized line (JSON-escaped forms included), and so is any credential a
        // URL carries (a request's `?code=` function key, a SAS `sig`, `user:password@`).
        streamWrite: (line) => maskUrlCredentials(maskSecrets(line)),
      },
    },
    options.destination ?? invocationDestination(),
  );
}

let root: Logger | undefined;

/** The process-wide logger, created on first use. */
export function logger(): Logger {
  root ??= createLogger();
  return root;
}

export interface RunBindings {
  runId: string;
  pipeline: string;
  stepId?: string;
  attempt?: number;
}

export function runLogger(bindings: RunBindings, parent: Logger = logger()): Logger {
  return parent.child(bindings);
}
