/**
 * Telemetry as Application Insights would store it, captured where the app hands it over: the
 * `InvocationContext` log calls that src/logging/invocation.ts makes inside each activity, HTTP
 * and timer invocation. Each call becomes the `traces` row the Functions host writes for it,
 * following the sources (read 2026-11-29):
 *
 * - azure-functions-nodejs-library `src/InvocationContext.ts`: `log`/`info` → level
 *   `information`, `warn` → `warning`, `error`, `debug`, `trace`; `src/InvocationModel.ts`
 *   `#log`: the message is `util.format(...args)`, category `user`.
 * - azure-functions-nodejs-worker `src/eventHandlers/InvocationHandler.ts` `log()`: an `RpcLog`
 *   with `invocationId`, `message`, `level`, `logCategory` — no `propertiesMap`.
 * - azure-functions-host `src/WebJobs.Script.Grpc/Channel/GrpcWorkerChannel.cs` `Log()`: a `User`
 *   log is `context.Logger.Log(level, …, rpcLog.Message, …)` — the state is the message string
 *   alone (only `CustomMetric` logs read `PropertiesMap`); the logger's category is
 *   `Function.<name>.User` (`LogCategories.CreateFunctionUserCategory`).
 * - azure-webjobs-sdk `ApplicationInsightsLogger.cs` `LogTrace`: a TraceTelemetry whose message is
 *   the formatted message; properties are the scope's (`InvocationId`, operation name = function
 *   name), `Category`, `LogLevel`, plus `prop__<key>` for each key of a *structured* state — a
 *   string state has none. `WebJobsTelemetryInitializer.cs` adds `ProcessId`.
 * - host.json `logging.logLevel`: the host drops lines below the level of the longest matching
 *   category prefix (Microsoft.Extensions.Logging filter rules), before Application Insights.
 */
import { format } from 'node:util';
import { readFileSync } from 'node:fs';
import type { InvocationContext } from '@azure/functions';
import type { ActivityHandler, HttpDurableClientHandler } from 'durable-functions';
import type { Registration, TimerHandler } from '../../src/app/registry';

/** One `traces` row, with the columns the queries read. */
export interface TraceRow {
  readonly timestamp: string;
  readonly message: string;
  /** Application Insights SeverityLevel: Verbose 0, Information 1, Warning 2, Error 3, Critical 4. */
  readonly severityLevel: number;
  readonly operation_Name: string;
  readonly customDimensions: Readonly<Record<string, string>>;
}

type RpcLevel = 'trace' | 'debug' | 'information' | 'warning' | 'error';

/** InvocationContext method → the level the library sends (InvocationContext.ts). */
const METHOD_LEVEL: Readonly<Record<string, RpcLevel>> = { trace: 'trace', debug: 'debug', log: 'information', info: 'information', warn: 'warning', error: 'error' };
/** RpcLog level → .NET LogLevel name (the `LogLevel` custom dimension) and its rank. */
const DOTNET_LEVEL: Readonly<Record<RpcLevel, { name: string; rank: number; severity: number }>> = {
  trace: { name: 'Trace', rank: 0, severity: 0 },
  debug: { name: 'Debug', rank: 1, severity: 0 },
  information: { name: 'Information', rank: 2, severity: 1 },
  warning: { name: 'Warning', rank: 3, severity: 2 },
  error: { name: 'Error', rank: 4, severity: 3 },
};
const RANK_BY_NAME: Readonly<Record<string, number>> = { trace: 0, debug: 1, information: 2, warning: 3, error: 4, critical: 5, none: 6 };

interface HostJsonLogging {
  logging?: { logLevel?: Record<string, string>; applicationInsights?: { samplingSettings?: { isEnabled?: boolean; excludedTypes?: string } } };
}

/** The minimum level host.json sets for a category: the longest matching prefix, else `default`. */
export function minimumLevel(logLevel: Readonly<Record<string, string>>, category: string): number {
  let best: { key: string; level: string } | undefined;
  for (const [key, level] of Object.entries(logLevel)) {
    if (key === 'default') continue;
    if ((category === key || category.startsWith(`${key}.`)) && (!best || key.length > best.key.length)) best = { key, level };
  }
  const name = (best?.level ?? logLevel['default'] ?? 'Information').toLowerCase();
  return RANK_BY_NAME[name] ?? 2;
}

export class TelemetryCapture {
  readonly rows: TraceRow[] = [];
  /** Lines host.json's levels filtered out before Application Insights. */
  readonly dropped: TraceRow[] = [];
  private readonly logLevel: Readonly<Record<string, string>>;

  constructor(hostJsonPath = 'host.json', private readonly clock: () => Date = () => new Date()) {
    const hostJson = JSON.parse(readFileSync(hostJsonPath, 'utf8')) as HostJsonLogging;
    this.logLevel = hostJson.logging?.logLevel ?? {};
  }

  /** The registrations with each invocation's context recording what is logged through it. */
  wrap = (registrations: readonly Registration[]): Registration[] => registrations.map((r) => this.wrapOne(r));

  /** The events in the rows: each message that parses as JSON with an `event` field. */
  events(): { row: TraceRow; fields: Record<string, unknown> }[] {
    const out: { row: TraceRow; fields: Record<string, unknown> }[] = [];
    for (const row of this.rows) {
      if (!row.message.startsWith('{')) continue;
      const parsed = JSON.parse(row.message) as Record<string, unknown>;
      if (typeof parsed['event'] === 'string') out.push({ row, fields: parsed });
    }
    return out;
  }

  private wrapOne(registration: Registration): Registration {
    switch (registration.kind) {
      case 'orchestration':
        return registration; // orchestrators log nothing through pino (replayed code does no I/O)
      case 'activity': {
        const handler = registration.handler;
        const tapped: ActivityHandler = async (input, context) => {
          const result: unknown = await handler(input, this.tap(registration.name, context));
          return result;
        };
        return { ...registration, handler: tapped };
      }
      case 'http': {
        const handler = registration.handler;
        const tapped: HttpDurableClientHandler = (request, client, context) => handler(request, client, this.tap(registration.name, context));
        return { ...registration, handler: tapped };
      }
      case 'timer': {
        const handler = registration.handler;
        const tapped: TimerHandler = (timer, client, context) => handler(timer, client, this.tap(registration.name, context));
        return { ...registration, handler: tapped };
      }
    }
  }

  /** The same context, its log methods recording the row the host would write, then logging as before. */
  private tap(functionName: string, context: InvocationContext): InvocationContext {
    const record = (method: string, args: unknown[]): void => this.record(functionName, context.invocationId, method, args);
    return new Proxy(context, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof property === 'string' && property in METHOD_LEVEL && typeof value === 'function') {
          return (...args: unknown[]) => {
            record(property, args);
            (value as (...a: unknown[]) => void).apply(target, args);
          };
        }
        // InvocationContext keeps private fields: its own methods must run on the real object.
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  private record(functionName: string, invocationId: string, method: string, args: unknown[]): void {
    const level = METHOD_LEVEL[method] ?? 'information';
    const dotnet = DOTNET_LEVEL[level];
    const category = `Function.${functionName}.User`;
    const row: TraceRow = {
      timestamp: this.clock().toISOString(),
      message: format(...args),
      severityLevel: dotnet.severity,
      operation_Name: functionName,
      customDimensions: { Category: category, LogLevel: dotnet.name, InvocationId: invocationId, ProcessId: String(process.pid) },
    };
    (dotnet.rank >= minimumLevel(this.logLevel, category) ? this.rows : this.dropped).push(row);
  }
}
