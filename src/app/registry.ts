/**
 * The one place functions are registered. Each call registers with the Functions host (through
 * `@azure/functions` / `durable-functions`) *and* keeps the registration in a list, because outside
 * the host `@azure/functions` runs in "test mode" and drops registrations: the development host and
 * the tests serve this list instead. Activity, HTTP and timer handlers run with their invocation's
 * logger bound (logging/invocation.ts), so their log lines reach Application Insights correlated.
 */
import { app, type HttpMethod, type InvocationContext, type Timer } from '@azure/functions';
import * as df from 'durable-functions';
import type { ActivityHandler, DurableClient, HttpDurableClientHandler, OrchestrationHandler } from 'durable-functions';
import { withInvocation } from '../logging/invocation';

export interface HttpRegistration {
  readonly kind: 'http';
  readonly name: string;
  readonly options: { readonly route: string; readonly methods: readonly HttpMethod[]; readonly authLevel: 'anonymous' | 'function' | 'admin' };
  readonly handler: HttpDurableClientHandler;
}

export type TimerHandler = (timer: Timer, client: DurableClient, context: InvocationContext) => Promise<void>;

export interface TimerRegistration {
  readonly kind: 'timer';
  readonly name: string;
  /**
   * NCRONTAB, six fields, evaluated in UTC on Linux plans. `useMonitor`: the host records each
   * fire and, when the listener starts, fires once past due if a fire was missed — unless the
   * schedule changed (Azure/azure-webjobs-sdk-extensions, Extensions/Timers/Scheduling/ScheduleMonitor.cs).
   * `runOnStartup`: otherwise, one invocation at that start (Listener/TimerListener.cs `StartAsync`).
   */
  readonly options: { readonly schedule: string; readonly runOnStartup: boolean; readonly useMonitor?: boolean };
  readonly handler: TimerHandler;
}

export interface OrchestrationRegistration {
  readonly kind: 'orchestration';
  readonly name: string;
  readonly handler: OrchestrationHandler;
  /**
   * Runs before each invocation, given the orchestration's input, so the orchestrator (which does
   * no I/O) finds what it looks up in memory — the pinned definition of a run started before a
   * deploy (src/app/definitions.ts `prepareOrchestration`). In the Functions host: a pre-invocation
   * hook (`app.hook.preInvocation`), which the Node worker awaits before calling the function
   * (azure-functions-nodejs-worker `src/hooks/executeHooks.ts`); the dev host calls it itself.
   */
  readonly prepare?: (input: unknown) => Promise<void>;
}

export interface ActivityRegistration {
  readonly kind: 'activity';
  readonly name: string;
  readonly handler: ActivityHandler;
  /**
   * Declared with a Durable client input binding (`df.input.durableClient()`), so the invocation
   * context carries the client's binding data and `df.getClient(context)` works: the way an
   * activity raises events to other instances (durable-js orchestrators cannot).
   */
  readonly durableClient?: true;
}

export type ClientActivityHandler = (input: unknown, client: DurableClient, context: InvocationContext) => unknown;

export type Registration = HttpRegistration | TimerRegistration | OrchestrationRegistration | ActivityRegistration;

const registered = new Map<string, Registration>();

/**
 * Whether a Functions worker hosts this process: it provides `@azure/functions-core`. Outside it
 * (dev host, tests, CLI) we keep the list only, instead of letting `@azure/functions` print a
 * "test mode" warning per function.
 */
let hosted: boolean | undefined;
function inFunctionsHost(): boolean {
  if (hosted === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- a probe: the worker injects this module
      require('@azure/functions-core');
      hosted = true;
    } catch {
      hosted = false;
    }
  }
  return hosted;
}

function remember(registration: Registration): void {
  if (registered.has(registration.name)) throw new Error(`function "${registration.name}" is registered twice`);
  registered.set(registration.name, registration);
}

export function registerHttp(name: string, options: HttpRegistration['options'], handler: HttpDurableClientHandler): void {
  const routed: HttpDurableClientHandler = (request, client, context) => withInvocation(context, async () => handler(request, client, context));
  remember({ kind: 'http', name, options, handler: routed });
  if (inFunctionsHost()) df.app.client.http(name, { route: options.route, methods: [...options.methods], authLevel: options.authLevel, handler: routed });
}

export function registerTimer(name: string, options: TimerRegistration['options'], handler: TimerHandler): void {
  const routed: TimerHandler = (timer, client, context) => withInvocation(context, () => handler(timer, client, context));
  remember({ kind: 'timer', name, options, handler: routed });
  if (inFunctionsHost()) df.app.client.timer(name, { schedule: options.schedule, runOnStartup: options.runOnStartup, useMonitor: options.useMonitor ?? true, handler: routed });
}

export function registerOrchestration(name: string, handler: OrchestrationHandler, prepare?: (input: unknown) => Promise<void>): void {
  remember({ kind: 'orchestration', name, handler, ...(prepare ? { prepare } : {}) });
  if (!inFunctionsHost()) return;
  df.app.orchestration(name, handler);
  if (prepare) preparedOrchestrations.set(name, prepare);
  preparingHook ??= app.hook.preInvocation(async (context) => {
    const run = preparedOrchestrations.get(context.invocationContext.functionName);
    // The orchestration trigger's payload (durable-js DurableOrchestrationBindingInfo) carries the input.
    const payload = context.inputs[0] as { input?: unknown } | undefined;
    if (run) await run(payload?.input);
  });
}

const preparedOrchestrations = new Map<string, (input: unknown) => Promise<void>>();
let preparingHook: { dispose(): void } | undefined;

export function registerActivity(name: string, handler: ActivityHandler): void {
  const routed: ActivityHandler = (input, context) =>
    withInvocation(context, async () => {
      const result: unknown = await handler(input, context);
      return result;
    });
  remember({ kind: 'activity', name, handler: routed });
  if (inFunctionsHost()) df.app.activity(name, { handler: routed });
}

/**
 * An activity that gets a Durable client, like HTTP and timer handlers do
 * (`df.app.activity(name, { extraInputs: [df.input.durableClient()] })`, durable-functions
 * types/activity.d.ts `ActivityOptions.extraInputs`).
 */
export function registerClientActivity(name: string, handler: ClientActivityHandler): void {
  const registration = clientActivityRegistration(name, handler);
  remember(registration);
  if (inFunctionsHost()) df.app.activity(name, { handler: registration.handler, extraInputs: [df.input.durableClient()] });
}

/** The registration `registerClientActivity` keeps, for hosts that serve their own list (tests). */
export function clientActivityRegistration(name: string, handler: ClientActivityHandler): ActivityRegistration {
  const routed: ActivityHandler = (input, context) =>
    withInvocation(context, async () => {
      const result: unknown = await handler(input, df.getClient(context), context);
      return result;
    });
  return { kind: 'activity', name, handler: routed, durableClient: true };
}

/** Every registration made so far, in registration order. */
export function registrations(): readonly Registration[] {
  return [...registered.values()];
}

export function findRegistration(name: string): Registration | undefined {
  return registered.get(name);
}

/** Keeps the host from setting up HTTP streaming etc. we do not use; called once from index.ts. */
export function configureApp(): void {
  if (inFunctionsHost()) app.setup({ enableHttpStream: false });
}
