/**
 * The development host: serves function registrations locally the way the Functions host with the
 * Durable extension does — HTTP triggers on a port, timer triggers from their NCRONTAB schedules,
 * orchestrations replayed by durable-functions' own engine over histories built like the
 * extension's, activities as concurrent promises — with a virtual or real clock.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomBytes, randomUUID } from 'node:crypto';
import { InvocationContext, type Timer } from '@azure/functions';
import * as df from 'durable-functions';
import type { ActivityHandler, DurableClient, DurableOrchestrationStatus, OrchestrationHandler } from 'durable-functions';
import { DurableClient as SdkDurableClient, type ClientBindingData } from 'durable-functions/lib/src/durableClient/DurableClient';
import { registrations as registryList, type HttpRegistration, type Registration, type TimerRegistration } from '../app/registry';
import { HostClock } from './clock';
import type { HistoryEvent } from './history';
import { loadHostJson, readDurableSettings, type DurableHostSettings } from './host-json';
import { ApiProblem } from '../api/problem';
import { isJsonMediaType } from '../api/request';
import { oneLine } from '../core/visibleText';
import { maskUrlCredentials } from '../logging/mask';
import { fromHandlerResult, isAuthorized, keyMatches, presentedKey, routePrefixOf, safeDecode, toHttpRequest } from './http-triggers';
import { assertValidFunctionName, compileRoutes, findRoute, type CompiledRoute } from './http-routes';
import { hostAllowed, requestAuthority } from './hostNames';
import { isTerminal, TaskHub } from './instances';
import { NcrontabSchedule } from './ncrontab';
import { checkPastDue, type TimerStatus } from './schedule-monitor';
import { handleDurableRequest, MAX_REQUEST_BODY_BYTES, readBodyCapped, RPC_PREFIX, sendProblem, sendResult, WEBHOOK_PREFIX } from './rpc-server';
import type { DevHostOptions, InstanceStats, InstanceStatusJson } from './types';

interface TimerTrigger {
  readonly registration: TimerRegistration;
  schedule: NcrontabSchedule;
  next: Date | undefined;
  last: Date | undefined;
  lastUpdated: Date | undefined;
}

/**
 * Why a timer trigger runs: its schedule, the monitor's past-due check, `runOnStartup`, or a
 * manual run (the portal's Test/Run goes through the admin API, not the listener: no status change).
 */
type TimerInvocation = 'schedule' | 'pastDue' | 'startup' | 'manual';

/** The longest delay setTimeout honours (2^31 − 1 ms, about 24.8 days). */
const MAX_TIMEOUT_MS = 2_147_483_647;

export type { TimerStatus } from './schedule-monitor';

export interface WaitOptions {
  /** Wall-clock time to wait before giving up (default 30 s). */
  readonly timeoutMs?: number;
}

export class DevHost {
  /** durable-functions' DurableClient, talking to this host's extension endpoints over HTTP. */
  readonly client: DurableClient;
  /** `http://127.0.0.1:<port>` when HTTP triggers are served. */
  readonly baseUrl: string | undefined;
  readonly rpcBaseUrl: string;
  readonly settings: DurableHostSettings;

  private readonly realTimers = new Set<NodeJS.Timeout>();
  private stopped = false;

  private constructor(
    private readonly clock: HostClock,
    private readonly hub: TaskHub,
    private readonly server: Server,
    private readonly timerTriggers: readonly TimerTrigger[],
    private readonly clientData: ClientBindingData,
    settings: DurableHostSettings,
    baseUrl: string | undefined,
    private readonly log: (line: string) => void,
    private readonly counters: { readonly bodyBytesRead: number; readonly socketBytesClosed: number; readonly sockets: ReadonlySet<Socket> },
  ) {
    this.settings = settings;
    this.baseUrl = baseUrl;
    this.rpcBaseUrl = clientData.rpcBaseUrl;
    this.client = new SdkDurableClient(clientData);
  }

  static async start(options: DevHostOptions = {}): Promise<DevHost> {
    // A request's URL can carry the function key (`?code=`): no line this host logs shows one.
    const log = (line: string): void => options.log?.(maskUrlCredentials(line));
    const hostJson = loadHostJson(options);
    const settings = readDurableSettings(hostJson);
    const routePrefix = routePrefixOf(hostJson);
    const clockMode = options.clock ?? 'virtual';
    const startTime = options.startTime ?? new Date(Math.floor(Date.now() / 1000) * 1000);
    const clock = new HostClock(clockMode, startTime);
    const list = (options.registrations ?? registryList()).map((r) => withReplacement(r, options.replaceHandlers));

    const orchestrators = new Map<string, OrchestrationHandler>();
    const prepare = new Map<string, (input: unknown) => Promise<void>>();
    const activities = new Map<string, ActivityHandler>();
    const clientActivities = new Set<string>();
    const httpRegistrations: HttpRegistration[] = [];
    const timers: TimerTrigger[] = [];
    for (const registration of list) {
      assertValidFunctionName(registration.name);
      switch (registration.kind) {
        case 'orchestration':
          orchestrators.set(registration.name, registration.handler);
          if (registration.prepare) prepare.set(registration.name, registration.prepare);
          break;
        case 'activity':
          activities.set(registration.name, registration.handler);
          if (registration.durableClient) clientActivities.add(registration.name);
          break;
        case 'http':
          httpRegistrations.push(registration);
          break;
        case 'timer': {
          const schedule = new NcrontabSchedule(registration.options.schedule);
          timers.push({ registration, schedule, next: schedule.next(clock.now()), last: undefined, lastUpdated: undefined });
          break;
        }
      }
    }

    // Tried in function-name order, first match wins, as the Functions host does (http-routes.ts).
    const routes: CompiledRoute[] = compileRoutes(httpRegistrations);
    const holder: { host?: DevHost } = {};
    const hub = new TaskHub({
      clock,
      settings,
      orchestrators,
      prepare,
      activities,
      taskFailureShape: options.taskFailureShape ?? 'reasonDetails',
      log,
      onTimerCreated: (fireAt) => holder.host?.armRealTimer(fireAt.getTime()),
      activityClientBinding: {
        names: clientActivities,
        data: () => {
          if (!state.clientData) throw new Error('the dev host ran an activity before it listened');
          return state.clientData;
        },
      },
      ...(options.stateDirectory === undefined ? {} : { stateDirectory: options.stateDirectory }),
      ...(options.continueAsNewEvents === undefined ? {} : { continueAsNewEvents: options.continueAsNewEvents }),
    });

    const serveTriggers = options.httpPort !== false;
    const allowedHosts = options.allowedHosts ?? [];
    const state: { baseUrl: string; clientData?: ClientBindingData; routes: CompiledRoute[] } = { baseUrl: '', routes };
    const counters = { bodyBytesRead: 0, socketBytesClosed: 0, sockets: new Set<Socket>() };
    // The worker-facing RPC endpoint of the extension (its LocalHttpListener) listens on localhost for
    // the language worker only, and the SDK sends no key to it (DurableClient resolves every call
    // relative to `rpcBaseUrl`). Here it shares the port with the HTTP triggers, so it is reachable
    // only under an unguessable per-process path segment that only this host's client knows.
    const rpcToken = randomBytes(24).toString('base64url');
    const rpcPrefix = `${RPC_PREFIX}${rpcToken}/`;
    const server = createServer((req, res) => {
      void handle(req, res).catch((error: unknown) => {
        log(`request ${req.method ?? ''} ${req.url ?? ''} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        if (res.headersSent) {
          res.end();
          return;
        }
        sendProblem(res, new ApiProblem(500, 'Internal error', 'the request failed; see the host log'), '/', { closeConnection: true });
      });
    });
    // Node closes an idle keep-alive socket after 5 s by default, and a client (undici's fetch)
    // that picks that socket for its next request at the same moment gets ECONNRESET — seen here
    // under load with clients polling every few seconds. A long idle timeout, as the Azure front
    // end has (minutes), leaves the client's pool to close idle sockets first.
    server.keepAliveTimeout = 120_000;
    server.headersTimeout = 125_000;
    server.on('connection', (socket: Socket) => {
      counters.sockets.add(socket);
      socket.once('close', () => {
        counters.sockets.delete(socket);
        counters.socketBytesClosed += socket.bytesRead;
      });
    });
    const pageSize = options.statusPageSize ?? 100;
    /** Where a caller is refused before its body is read: the answer closes the connection. */
    const refuse = (res: ServerResponse, url: URL, status: number, title: string, detail: string): void =>
      sendProblem(res, new ApiProblem(status, title, detail), url.pathname, { closeConnection: true });
    const unauthorized = (res: ServerResponse, url: URL): void =>
      refuse(res, url, 401, 'Unauthorized', 'this endpoint needs the function key: header x-functions-key or query parameter code');
    /** The body under the size cap, or undefined once a 413 was answered. */
    const bodyOf = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<Buffer | undefined> => {
      const read = await readBodyCapped(req, MAX_REQUEST_BODY_BYTES, (n) => (counters.bodyBytesRead += n));
      if (read.ok) return read.body;
      refuse(res, url, 413, 'Body too large', `request bodies are limited to ${MAX_REQUEST_BODY_BYTES / 1024} KiB`);
      return undefined;
    };

    const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
      const authority = requestAuthority(req);
      if (!hostAllowed(authority, allowedHosts)) {
        return refuse(res, new URL(state.baseUrl), 403, 'Host not allowed',
          `this dev host answers requests to loopback names only (localhost, 127.0.0.1, [::1]), not to ${JSON.stringify(oneLine((authority ?? '').slice(0, 100)))}; ` +
          'start it with --allow-host <name> to serve another name');
      }
      // The URL a handler sees is the one the client used (the Functions host builds it from `Host`
      // too), so a same-origin check compares like with like.
      const url = new URL(req.url ?? '/', `http://${authority ?? ''}`);
      const method = (req.method ?? 'GET').toUpperCase();
      if (url.pathname.startsWith(RPC_PREFIX)) {
        const token = url.pathname.slice(RPC_PREFIX.length).split('/')[0];
        if (!keyMatches(token, rpcToken)) return unauthorized(res, url);
        await serveDurable(req, res, url, method, url.pathname.slice(rpcPrefix.length));
        return;
      }
      if (url.pathname.startsWith(WEBHOOK_PREFIX)) {
        // In Azure these webhooks need the durabletask_extension system key (or the master key):
        // "extensibility webhooks authorized by the Functions host" (learn.microsoft.com, Durable
        // Functions HTTP API reference, `systemKey`). The dev host's one key stands for both.
        if (options.functionKey !== undefined && !keyMatches(presentedKey(req.headers, url.searchParams), options.functionKey)) return unauthorized(res, url);
        await serveDurable(req, res, url, method, url.pathname.slice(WEBHOOK_PREFIX.length));
        return;
      }
      // `/api` is under the prefix `api` as much as `/api/` is (a template `api/{*rest}` takes both).
      if (serveTriggers && (url.pathname.startsWith(routePrefix) || `${url.pathname}/` === routePrefix)) {
        await serveHttpTrigger(req, res, url, method);
        return;
      }
      refuse(res, url, 404, 'Not found', `nothing is served at ${url.pathname}`);
    };

    const serveDurable = async (req: IncomingMessage, res: ServerResponse, url: URL, method: string, path: string): Promise<void> => {
      // Only JSON starts or signals anything: a form or text/plain POST (what a browser sends
      // cross-site without a preflight), even an empty one, is refused before its body is read.
      const type = req.headers['content-type'];
      if ((type !== undefined || hasBody(req)) && !isJsonMediaType(type)) {
        return refuse(res, url, 415, 'Unsupported media type', 'request bodies must be application/json');
      }
      const malformed = path.split('/').filter((part) => safeDecode(part) === undefined);
      if (malformed.length > 0) {
        return sendProblem(res, new ApiProblem(400, 'Invalid input', `malformed percent-encoding in the path: ${malformed.join(', ')}`), url.pathname, { closeConnection: true });
      }
      const body = await bodyOf(req, res, url);
      if (!body) return;
      const result = handleDurableRequest(hub, method, path, url.searchParams, body.toString('utf8'), req.headers, {
        pageSize,
        managementUrls: (id) => managementPayload(state.baseUrl, settings.hubName, id, options.functionKey),
      });
      sendResult(res, result);
    };

    const serveHttpTrigger = async (req: IncomingMessage, res: ServerResponse, url: URL, method: string): Promise<void> => {
      const path = url.pathname.slice(routePrefix.length);
      const match = findRoute(state.routes, method, path);
      // No route took it (a wrong method included: the method is a route constraint in the host).
      if (!match) return refuse(res, url, 404, 'Not found', `no route ${method} ${url.pathname}`);
      const { route } = match;
      if (!isAuthorized(route.registration, options.functionKey, req.headers, url.searchParams)) return unauthorized(res, url);
      if (match.malformed.length > 0) {
        return sendProblem(res, new ApiProblem(400, 'Invalid input', `malformed percent-encoding in the path (${match.malformed.join(', ')})`,
          match.malformed.map((name) => ({ field: `path.${name}`, message: 'malformed percent-encoding' }))), url.pathname, { closeConnection: true });
      }
      const body = await bodyOf(req, res, url);
      if (!body) return;
      const host = holder.host;
      if (!host) throw new Error('host not started');
      // A principal header is the platform's to set: without emulated sign-in the host still
      // drops what a client sent, as App Service does (local settings copied from Azure may say
      // WEBSITE_AUTH_ENABLED=True, and the app would then believe the client).
      const request = toHttpRequest(req, url, body, match.params, options.platformPrincipal ?? noPrincipal);
      const context = host.invocationContext(route.registration.name, 'httpTrigger');
      const result = await route.registration.handler(request, host.client, context);
      const response = await fromHandlerResult(result);
      res.writeHead(response.status, response.headers);
      res.end(response.body);
    };

    const port = options.httpPort === false ? 0 : (options.httpPort ?? 0);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    const address = server.address() as AddressInfo;
    state.baseUrl = `http://127.0.0.1:${address.port}`;
    const clientData = clientBindingData(state.baseUrl, settings.hubName, options.functionKey, rpcToken);
    state.clientData = clientData;
    const host = new DevHost(clock, hub, server, timers, clientData, settings, serveTriggers ? state.baseUrl : undefined, log, counters);
    holder.host = host;
    const resumed = hub.resume();
    if (options.stateDirectory !== undefined) log(`durable state in ${options.stateDirectory}: ${resumed} unfinished instance(s) resumed`);
    host.startTimerTriggers(options.timerStatus);
    log(`dev host on ${state.baseUrl} (${clockMode} clock at ${clock.now().toISOString()}), ${orchestrators.size} orchestrators, ${activities.size} activities, ${routes.length} http routes, ${timers.length} timers`);
    return host;
  }

  now(): Date {
    return this.clock.now();
  }

  /** Request-body bytes this host has collected in memory since it started (refused bodies stop at the cap). */
  bodyBytesRead(): number {
    return this.counters.bodyBytesRead;
  }

  /** Every byte this host's server has read from its connections (headers and bodies, kept or not). */
  bytesReceived(): number {
    let open = 0;
    for (const socket of this.counters.sockets) open += socket.bytesRead;
    return this.counters.socketBytesClosed + open;
  }

  /** Moves virtual time forward by `ms`, firing every durable timer and timer trigger due on the way, in order. */
  async advance(ms: number): Promise<void> {
    this.requireVirtual('advance');
    const target = this.clock.nowMs() + ms;
    for (;;) {
      await this.settleAndFireDue();
      const next = this.nextEventMs(true);
      if (next === undefined || next > target) break;
      this.clock.jumpTo(next);
    }
    this.clock.jumpTo(target);
    await this.settleAndFireDue();
  }

  /**
   * Runs until nothing is left to do: no activity in flight and no durable timer pending (virtual
   * time jumps from timer to timer). Timer triggers fire when time passes them; with `maxVirtualMs`
   * time also jumps to timer-trigger occurrences, up to that bound, and never beyond it.
   */
  async runUntilIdle(options: { maxVirtualMs?: number } = {}): Promise<void> {
    if (this.clock.mode === 'real') {
      for (;;) {
        await this.settleAndFireDue();
        const next = this.hub.nextTimerDue();
        if (!next) return;
        await sleep(Math.max(0, next.getTime() - Date.now()) + 5);
      }
    }
    const limit = options.maxVirtualMs === undefined ? undefined : this.clock.nowMs() + options.maxVirtualMs;
    for (;;) {
      await this.settleAndFireDue();
      const timer = this.hub.nextTimerDue()?.getTime();
      if (timer === undefined && limit === undefined) return;
      const next = this.nextEventMs(true);
      if (next === undefined || (limit !== undefined && next > limit)) return;
      this.clock.jumpTo(next);
    }
  }

  /** Waits until the instance is Completed, Failed or Terminated, moving virtual time as needed. */
  async waitFor(instanceId: string, options: WaitOptions = {}): Promise<DurableOrchestrationStatus> {
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    for (;;) {
      await this.settleAndFireDue();
      const status = this.hub.status(instanceId);
      if (status && isTerminal(status.runtimeStatus)) return this.client.getStatus(instanceId, { showInput: true });
      if (Date.now() > deadline) {
        throw new Error(`instance ${instanceId} did not finish in time (status ${status?.runtimeStatus ?? 'unknown'}, virtual time ${this.now().toISOString()})`);
      }
      const nextTimer = this.hub.nextTimerDue()?.getTime();
      if (this.clock.mode === 'virtual' && nextTimer !== undefined) {
        this.clock.jumpTo(Math.min(nextTimer, this.nextEventMs(true) ?? nextTimer));
        continue;
      }
      // nothing scheduled: wait for the outside world (an event, a terminate, a real timer)
      await this.waitForChange(Math.min(50, Math.max(1, deadline - Date.now())));
    }
  }

  /** The current execution's history, as the orchestrator last saw it plus what it scheduled. */
  history(instanceId: string): readonly HistoryEvent[] {
    return this.hub.history(instanceId);
  }

  /** Every execution's history (continueAsNew starts a new one), oldest first. */
  executions(instanceId: string): readonly (readonly HistoryEvent[])[] {
    return this.hub.allExecutions(instanceId);
  }

  orchestratorName(instanceId: string): string {
    return this.hub.orchestratorName(instanceId);
  }

  stats(instanceId: string): InstanceStats {
    return this.hub.stats(instanceId);
  }

  /** Snapshot without going through HTTP. */
  status(instanceId: string): InstanceStatusJson | undefined {
    return this.hub.status(instanceId);
  }

  instanceIds(): string[] {
    return this.hub.instanceIds();
  }

  /** Fires the durable timers and timer triggers due at the current time (no time moves). */
  async fireTimers(): Promise<void> {
    await this.settleAndFireDue();
  }

  /** Runs a timer trigger now, as the portal's "Test/Run" does. */
  async invokeTimer(name: string): Promise<void> {
    const trigger = this.timerTriggers.find((t) => t.registration.name === name);
    if (!trigger) throw new Error(`no timer trigger "${name}"`);
    await this.invokeTimerTrigger(trigger, 'manual');
  }

  /**
   * Gives a timer trigger a new NCRONTAB schedule, as a redeploy whose registrations changed it
   * does (the scheduler's timer follows the definitions): the next fire is computed afresh.
   * Virtual clock only (tests swap definitions at runtime).
   */
  setTimerSchedule(name: string, schedule: string): void {
    this.requireVirtual('setTimerSchedule');
    const trigger = this.timerTriggers.find((t) => t.registration.name === name);
    if (!trigger) throw new Error(`no timer trigger "${name}"`);
    if (trigger.schedule.expression === schedule) return;
    trigger.schedule = new NcrontabSchedule(schedule);
    trigger.next = trigger.schedule.next(this.clock.now());
  }

  /** What the schedule monitor records per timer trigger: its expression, last and next fire. */
  timerStatus(): TimerStatus[] {
    return this.timerTriggers.map((t) => ({ name: t.registration.name, schedule: t.schedule.expression, last: t.last, next: t.next, lastUpdated: t.lastUpdated }));
  }

  /**
   * The schedule monitor's past-due check as a timer listener starting on another instance makes
   * it, given the status recorded before (`timerStatus()` of an earlier host): fires once, with
   * `isPastDue`, every monitored timer whose recorded next fire passed — unless its schedule
   * changed meanwhile (src/devhost/schedule-monitor.ts). A host started with `timerStatus` makes
   * this check itself at start-up; this one never makes the `runOnStartup` invocation.
   */
  async resumeTimers(previous: readonly TimerStatus[]): Promise<void> {
    for (const status of previous) {
      const trigger = this.timerTriggers.find((t) => t.registration.name === status.name);
      if (!trigger || trigger.registration.options.useMonitor === false) continue;
      const decision = checkPastDue(status, trigger.schedule, this.clock.now());
      if (!decision.pastDue) continue;
      trigger.last = status.last;
      trigger.next = decision.next;
      await this.invokeTimerTrigger(trigger, 'pastDue');
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const handle of this.realTimers) clearTimeout(handle);
    this.realTimers.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** An InvocationContext carrying the durable client binding, so `df.getClient(context)` works too. */
  invocationContext(functionName: string, triggerType: string): InvocationContext {
    const clientInput = df.input.durableClient();
    const context = new InvocationContext({
      functionName,
      invocationId: randomUUID(),
      options: { trigger: { type: triggerType, name: triggerType }, extraInputs: [clientInput] },
      logHandler: (level, ...args) => this.log(`[${functionName}] ${level}: ${args.map(String).join(' ')}`),
    });
    context.extraInputs.set(clientInput, this.clientData);
    return context;
  }

  // ---- internals -----------------------------------------------------------------------------

  private requireVirtual(what: string): void {
    if (this.clock.mode !== 'virtual') throw new Error(`${what}() needs the virtual clock`);
  }

  private async settleAndFireDue(): Promise<void> {
    for (;;) {
      await this.hub.settle();
      let fired = this.hub.fireDueTimers();
      if (this.clock.mode === 'virtual') fired += await this.fireDueTriggers();
      if (fired === 0) return;
    }
  }

  /** Earliest pending durable timer or (optionally) timer-trigger occurrence. */
  private nextEventMs(includeTriggers: boolean): number | undefined {
    let next = this.hub.nextTimerDue()?.getTime();
    if (includeTriggers) {
      for (const trigger of this.timerTriggers) {
        const at = trigger.next?.getTime();
        if (at !== undefined && (next === undefined || at < next)) next = at;
      }
    }
    return next;
  }

  private async fireDueTriggers(): Promise<number> {
    const now = this.clock.nowMs();
    let fired = 0;
    for (const trigger of this.timerTriggers) {
      if (trigger.next && trigger.next.getTime() <= now) {
        await this.invokeTimerTrigger(trigger, 'schedule');
        fired++;
      }
    }
    return fired;
  }

  /**
   * One invocation, as TimerListener.InvokeJobFunction makes it: the handler sees the status as it
   * stood (`next` = the occurrence being fired), then `last` becomes the occurrence (or now, for a
   * past-due or start-up invocation) and `next` the following occurrence.
   */
  private async invokeTimerTrigger(trigger: TimerTrigger, reason: TimerInvocation): Promise<void> {
    const now = this.clock.now();
    const timer: Timer = {
      isPastDue: reason === 'pastDue',
      schedule: { adjustForDST: false },
      scheduleStatus: {
        last: (trigger.last ?? new Date(0)).toISOString(),
        next: (trigger.next ?? now).toISOString(),
        lastUpdated: (trigger.lastUpdated ?? now).toISOString(),
      },
    };
    if (reason !== 'manual') {
      // A fire a moment early counts as its occurrence, so the next is not the same one again.
      const last = reason === 'schedule' && trigger.next && trigger.next.getTime() > now.getTime() ? trigger.next : now;
      trigger.last = last;
      trigger.next = trigger.schedule.next(last);
      trigger.lastUpdated = last;
    }
    const context = this.invocationContext(trigger.registration.name, 'timerTrigger');
    try {
      await trigger.registration.handler(timer, this.client, context);
    } catch (error) {
      // failed timer runs are not retried by the Functions host either
      this.log(`timer ${trigger.registration.name} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /**
   * Each timer listener's start (TimerListener.StartAsync): with a recorded status and
   * `useMonitor`, the past-due check; then one immediate invocation — past due, or else
   * `runOnStartup` — and the schedule from there on.
   */
  private startTimerTriggers(recorded: readonly TimerStatus[] | undefined): void {
    const now = this.clock.now();
    for (const trigger of this.timerTriggers) {
      const status = recorded?.find((s) => s.name === trigger.registration.name);
      const monitored = trigger.registration.options.useMonitor !== false;
      const decision = monitored && status ? checkPastDue(status, trigger.schedule, now) : undefined;
      if (status && decision) {
        trigger.last = status.last;
        trigger.next = decision.next;
        trigger.lastUpdated = status.lastUpdated;
      } else if (monitored) {
        // A first start writes the initial record: next computed now (CheckPastDueAsync).
        trigger.lastUpdated = now;
      }
      const startup: TimerInvocation | undefined = decision?.pastDue ? 'pastDue' : trigger.registration.options.runOnStartup ? 'startup' : undefined;
      // The listener schedules the start-up invocation instead of making it inside StartAsync
      // (it must not delay the host's start): here, once start() has returned.
      if (startup) this.hub.track(new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.invokeTimerTrigger(trigger, startup)));
      if (this.clock.mode === 'real') this.armRealTrigger(trigger);
    }
  }

  private armRealTrigger(trigger: TimerTrigger): void {
    if (!trigger.next || this.stopped) return;
    const due = trigger.next.getTime();
    const wait = Math.max(0, due - Date.now());
    const handle = setTimeout(() => {
      this.realTimers.delete(handle);
      // The scheduler timer can be weeks away (a monthly schedule); Node caps a timeout at
      // 2^31 − 1 ms (it would fire at once), so long waits are taken in steps.
      if (Date.now() < due) return this.armRealTrigger(trigger);
      // A late regular fire is not `isPastDue`: only the listener's start-up check sets that.
      this.hub.track(this.invokeTimerTrigger(trigger, 'schedule').finally(() => this.armRealTrigger(trigger)));
    }, Math.min(wait, MAX_TIMEOUT_MS));
    this.realTimers.add(handle);
  }

  private armRealTimer(fireAtMs: number): void {
    if (this.clock.mode !== 'real' || this.stopped) return;
    const handle = setTimeout(() => {
      this.realTimers.delete(handle);
      // Node counts a timeout from the event loop's cached time, which lags the wall clock after
      // long synchronous work: the callback can come before Date.now() reaches fireAt. Then no
      // timer is due yet, and one not armed again would never fire (the run waits forever: the
      // fault suite saw two runs stuck so under load). Arm it again for what is left.
      if (Date.now() < fireAtMs) {
        this.armRealTimer(fireAtMs);
        return;
      }
      this.hub.fireDueTimers();
    }, Math.max(0, fireAtMs - Date.now()));
    this.realTimers.add(handle);
  }

  private waitForChange(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const off = this.hub.onChange(() => {
        clearTimeout(handle);
        off();
        resolve();
      });
      const handle = setTimeout(() => {
        off();
        resolve();
      }, ms);
    });
  }
}

function withReplacement(registration: Registration, replacements: DevHostOptions['replaceHandlers']): Registration {
  const replacement = replacements?.[registration.name];
  if (!replacement) return registration;
  return { ...registration, handler: replacement } as Registration;
}

/** A request carries a body when it declares a length above 0 or is chunked (RFC 9112 §6.3). */
function hasBody(req: IncomingMessage): boolean {
  return Number(req.headers['content-length'] ?? '0') > 0 || req.headers['transfer-encoding'] !== undefined;
}

const noPrincipal = (): undefined => undefined;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function clientBindingData(baseUrl: string, hubName: string, functionKey: string | undefined, rpcToken: string): ClientBindingData {
  const webhook = `${baseUrl}${WEBHOOK_PREFIX}`;
  const query = `taskHub=${hubName}&connection=Storage${functionKey ? `&code=${functionKey}` : ''}`;
  return {
    taskHubName: hubName,
    creationUrls: {
      createNewInstancePostUri: `${webhook}orchestrators/{functionName}[/{instanceId}]?code=${functionKey ?? ''}`,
      createAndWaitOnNewInstancePostUri: `${webhook}orchestrators/{functionName}[/{instanceId}]?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}&code=${functionKey ?? ''}`,
    },
    managementUrls: managementPayload(baseUrl, hubName, 'INSTANCEID', functionKey),
    baseUrl: webhook,
    requiredQueryStringParameters: query,
    rpcBaseUrl: `${baseUrl}${RPC_PREFIX}${rpcToken}/`,
  };
}

function managementPayload(baseUrl: string, hubName: string, id: string, functionKey: string | undefined): Record<string, string> {
  const base = `${baseUrl}${WEBHOOK_PREFIX}instances/${id}`;
  const query = `taskHub=${hubName}&connection=Storage${functionKey ? `&code=${functionKey}` : ''}`;
  return {
    id,
    purgeHistoryDeleteUri: `${base}?${query}`,
    sendEventPostUri: `${base}/raiseEvent/{eventName}?${query}`,
    statusQueryGetUri: `${base}?${query}`,
    terminatePostUri: `${base}/terminate?reason={text}&${query}`,
    rewindPostUri: `${base}/rewind?reason={text}&${query}`,
    suspendPostUri: `${base}/suspend?reason={text}&${query}`,
    resumePostUri: `${base}/resume?reason={text}&${query}`,
  };
}
