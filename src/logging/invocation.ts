/**
 * Routes log lines to the Functions invocation that produced them.
 *
 * The Node worker forwards `context.log`/`context.warn`/`context.error` over its RPC channel to the
 * host, which sends them to Application Insights as traces tagged with the invocation id and
 * operation id (so a run's lines show up under the invocation in the Portal). Plain stdout only
 * reaches the host's console/system log, uncorrelated. So while an invocation runs, our pino
 * lines go through its context; outside one (start-up, the dev host, tests) they go to stdout.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Writable } from 'node:stream';

/** The part of `InvocationContext` we log through. */
export interface InvocationLog {
  log(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

const current = new AsyncLocalStorage<InvocationLog>();

/** Runs `work` with log lines routed to `context`. */
export function withInvocation<T>(context: InvocationLog, work: () => Promise<T>): Promise<T> {
  return current.run(context, work);
}

/** A pino destination: the current invocation's logger, else `fallback` (stdout). */
export function invocationDestination(fallback: NodeJS.WritableStream = process.stdout): Writable {
  return new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      const line = chunk.toString().trimEnd();
      const context = current.getStore();
      if (!context) {
        fallback.write(line + '\n');
        return done();
      }
      const level = /"level":"(\w+)"/.exec(line)?.[1];
      if (level === 'error' || level === 'fatal') context.error(line);
      else if (level === 'warn') context.warn(line);
      else context.log(line);
      done();
    },
  });
}
