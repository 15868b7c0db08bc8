/**
 * The task hub in memory: orchestration instances, their executions' histories and the work the
 * orchestrators asked for (activities, timers, sub-orchestrations). One wake-up at a time runs the
 * orchestrator over the whole history of its current execution through the SDK's replay engine;
 * activities run concurrently as promises and report back through the instance's inbox.
 */
import { randomUUID } from 'node:crypto';
import { InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import type { ActivityHandler, OrchestrationHandler } from 'durable-functions';
import type { HostClock } from './clock';
import { InstanceFileStore, type PersistedInstance } from './durable-store';
import type { DurableHostSettings } from './host-json';
import {
  EventType,
  historyEvent,
  parseJsonString,
  toJsonString,
  type FailureDetailsPayload,
  type HistoryEvent,
} from './history';
import { activityFailureReason, customStatusFailure, customStatusSizeError, friendlyOutOfProcMessage, rpcExceptionMessage } from './extension-rules';
import { MAXIMUM_SHORT_TIMER_MS, runEpisode, toSdkEvent, type SequencedAction } from './replay';
import { admit, deletedLine, openWindow, type ContinueAsNewEvents, type ContinueWindow } from './continue-window';
import { TERMINAL_STATUSES, type InstanceStats, type InstanceStatusJson, type RuntimeStatus, type StatusQuery, type TaskFailureShape } from './types';

interface Execution {
  readonly executionId: string;
  readonly history: HistoryEvent[];
  /** The same events as the SDK holds them (see runEpisode's sdkHistory), kept in step with history. */
  readonly sdkView: Record<string, unknown>[];
  /** ExecutionStarted.Input: the execution's input as JSON text. */
  readonly input: string | undefined;
  scheduled: number;
  subOrchestrationCounter: number;
}

interface Instance {
  readonly instanceId: string;
  readonly name: string;
  readonly createdTime: Date;
  lastUpdatedTime: Date;
  status: RuntimeStatus;
  /** The first execution's input (JSON text), what the status API shows. */
  readonly input: string | undefined;
  output: string | undefined;
  customStatus: unknown;
  /**
   * The parent's task this instance answers, and the parent's execution that scheduled it (its
   * number of earlier executions): an answer to an execution that has since continued as new is
   * dropped, as DurableTask.Core does (`TaskOrchestrationDispatcher.ReconcileMessagesWithState`,
   * "ExecutionId of event does not match current executionId"). Absent in older saved state.
   */
  readonly parent: { readonly instanceId: string; readonly taskScheduledId: number; readonly execution?: number } | undefined;
  execution: Execution;
  readonly pastExecutions: HistoryEvent[][];
  inbox: HistoryEvent[];
  /** Pending durable timers of the current execution: TimerId → fire time. */
  timers: Map<number, Date>;
  /** Events raised since the instance continued as new, held (continue-window.ts); undefined: none. */
  continueWindow: ContinueWindow | undefined;
  /** Bumped when an execution ends, so late activity results of an old execution are dropped. */
  generation: number;
  replays: number;
  replayCpuMs: number;
}

export class StartConflictError extends Error {
  override readonly name = 'StartConflictError';
  constructor(readonly existingStatus: RuntimeStatus) {
    super(`An Orchestration instance with the status ${existingStatus} already exists.`);
  }
}

export class UnknownFunctionError extends Error {
  override readonly name = 'UnknownFunctionError';
}

export interface HubOptions {
  readonly clock: HostClock;
  readonly settings: DurableHostSettings;
  readonly orchestrators: ReadonlyMap<string, OrchestrationHandler>;
  /**
   * Awaited before each wake-up, given the input (`OrchestrationRegistration.prepare`): what the
   * Functions host does through the Node worker's pre-invocation hooks. A throw fails the wake-up
   * like a failed function invocation, which the extension records as the orchestration's failure.
   */
  readonly prepare?: ReadonlyMap<string, (input: unknown) => Promise<void>>;
  readonly activities: ReadonlyMap<string, ActivityHandler>;
  /**
   * Binding data of the Durable client input, handed to the activities declared with one
   * (`registerClientActivity`); read when the activity runs, since the host knows its URL only
   * after it listens.
   */
  readonly activityClientBinding?: { readonly names: ReadonlySet<string>; readonly data: () => unknown };
  readonly taskFailureShape: TaskFailureShape;
  readonly log: (line: string) => void;
  /** Called when a durable timer is created (the real clock arms a setTimeout). */
  readonly onTimerCreated: (fireAt: Date) => void;
  /** Keeps every instance on disk here (see durable-store.ts); unset = in memory only. */
  readonly stateDirectory?: string;
  /** How external events near a continue-as-new are delivered (`ContinueAsNewEvents`). */
  readonly continueAsNewEvents?: ContinueAsNewEvents;
}

export class TaskHub {
  private readonly instances = new Map<string, Instance>();
  private readonly ready = new Set<string>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private pumping = false;
  private readonly changeListeners = new Set<() => void>();
  private readonly store: InstanceFileStore | undefined;
  /** Instances whose orchestrator is running: saved once its episode ends, never half-way through. */
  private readonly inEpisode = new Set<string>();

  constructor(private readonly options: HubOptions) {
    this.store = options.stateDirectory === undefined ? undefined : new InstanceFileStore(options.stateDirectory);
  }

  // ---- client operations -------------------------------------------------------------------

  startNew(name: string, instanceId: string | undefined, inputJson: string | undefined): string {
    if (!this.options.orchestrators.has(name)) {
      throw new UnknownFunctionError(`The function '${name}' doesn't exist, is disabled, or is not an orchestrator function.`);
    }
    const id = instanceId ?? randomUUID().replace(/-/g, '');
    const existing = this.instances.get(id);
    if (existing && this.options.settings.overridableExistingInstanceStates === 'NonRunningStates' && !isTerminal(existing.status)) {
      throw new StartConflictError(existing.status);
    }
    if (existing) this.dropInstance(existing);
    this.createInstance(name, id, inputJson, undefined);
    return id;
  }

  terminate(instanceId: string, reason: string): 'terminated' | 'notFound' | 'gone' {
    const instance = this.instances.get(instanceId);
    if (!instance) return 'notFound';
    if (isTerminal(instance.status)) return 'gone';
    const now = this.options.clock.now();
    const output = toJsonString(reason);
    append(instance.execution, historyEvent.executionTerminated(now, reason), historyEvent.executionCompleted(now, 'Terminated', output));
    this.finish(instance, 'Terminated', output);
    this.persist(instance);
    this.log(`${instance.name} ${instanceId} terminated: ${reason}`);
    this.notifyParent(instance, 'Terminated', output);
    return 'terminated';
  }

  raiseEvent(instanceId: string, name: string, dataJson: string | undefined): 'raised' | 'notFound' | 'gone' {
    const instance = this.instances.get(instanceId);
    if (!instance) return 'notFound';
    if (isTerminal(instance.status)) return 'gone';
    this.deliver(instance, instance.generation, historyEvent.eventRaised(this.options.clock.now(), name, dataJson));
    return 'raised';
  }

  purge(instanceId: string): number {
    const instance = this.instances.get(instanceId);
    if (!instance || !isTerminal(instance.status)) return 0;
    this.instances.delete(instanceId);
    this.store?.remove(instanceId);
    return 1;
  }

  purgeBy(query: StatusQuery): number {
    let count = 0;
    for (const instance of this.query(query)) {
      if (isTerminal(instance.status)) {
        this.instances.delete(instance.instanceId);
        this.store?.remove(instance.instanceId);
        count++;
      }
    }
    return count;
  }

  status(instanceId: string, options: { showHistory?: boolean; showHistoryOutput?: boolean; showInput?: boolean } = {}): InstanceStatusJson | undefined {
    const instance = this.instances.get(instanceId);
    return instance ? this.toStatus(instance, options) : undefined;
  }

  statuses(query: StatusQuery, showInput: boolean): InstanceStatusJson[] {
    return this.query(query).map((instance) => this.toStatus(instance, { showInput }));
  }

  // ---- inspection ----------------------------------------------------------------------------

  history(instanceId: string): readonly HistoryEvent[] {
    return this.require(instanceId).execution.history;
  }

  allExecutions(instanceId: string): readonly (readonly HistoryEvent[])[] {
    const instance = this.require(instanceId);
    return [...instance.pastExecutions, instance.execution.history];
  }

  orchestratorName(instanceId: string): string {
    return this.require(instanceId).name;
  }

  stats(instanceId: string): InstanceStats {
    const instance = this.require(instanceId);
    const perExecution = [...instance.pastExecutions, instance.execution.history].map((h) => h.length);
    return {
      executions: perExecution.length,
      historyEventsPerExecution: perExecution,
      maxHistoryEvents: Math.max(...perExecution),
      totalHistoryEvents: perExecution.reduce((a, b) => a + b, 0),
      replays: instance.replays,
      replayCpuMs: instance.replayCpuMs,
    };
  }

  instanceIds(): string[] {
    return [...this.instances.keys()];
  }

  // ---- scheduling ----------------------------------------------------------------------------

  /** True when no wake-up is queued and no activity or wake-up is running. */
  isQuiet(): boolean {
    return this.inFlight.size === 0 && this.ready.size === 0 && !this.pumping;
  }

  /** Waits until every queued wake-up and running activity (and what they cause) has finished. */
  async settle(): Promise<void> {
    for (;;) {
      if (this.ready.size > 0 && !this.pumping) this.kick();
      if (this.inFlight.size > 0) {
        await Promise.allSettled([...this.inFlight]);
        continue;
      }
      // let I/O callbacks (e.g. an RPC request half-way through) land before calling it quiet
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.isQuiet()) return;
    }
  }

  /** The earliest pending durable timer of any running instance. */
  nextTimerDue(): Date | undefined {
    let next: Date | undefined;
    for (const instance of this.instances.values()) {
      if (isTerminal(instance.status)) continue;
      for (const fireAt of instance.timers.values()) if (!next || fireAt < next) next = fireAt;
    }
    return next;
  }

  /** Delivers TimerFired for every timer due at the current time. Returns how many fired. */
  fireDueTimers(): number {
    const now = this.options.clock.now();
    let fired = 0;
    for (const instance of this.instances.values()) {
      if (isTerminal(instance.status)) continue;
      for (const [timerId, fireAt] of [...instance.timers]) {
        if (fireAt.getTime() > now.getTime()) continue;
        instance.timers.delete(timerId);
        this.deliver(instance, instance.generation, historyEvent.timerFired(now, timerId, fireAt));
        fired++;
      }
    }
    return fired;
  }

  /** Runs `work` as host work that settle() waits for. */
  track(work: Promise<unknown>): void {
    const tracked = work.catch((error: unknown) => this.log(`host work failed: ${describe(error)}`));
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
  }

  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  // ---- persistence ---------------------------------------------------------------------------

  /**
   * Loads the instances a previous process saved and resumes the unfinished ones, as a task hub
   * worker does when it takes its partitions back: queued messages are processed, pending durable
   * timers re-armed (due ones fire at the next check), activities scheduled but never answered run
   * again (activities are at-least-once in Azure too: a work item whose lease expired is
   * redelivered), and sub-orchestrations started but never answered are started or re-answered.
   * Call once, after the host can arm timers. Returns how many unfinished instances it resumed.
   */
  resume(): number {
    if (!this.store) return 0;
    const { instances, unreadable } = this.store.load();
    for (const bad of unreadable) this.log(`durable state: ${bad.file} could not be read and was set aside as ${bad.file}.unreadable: ${bad.reason}`);
    for (const record of instances) this.instances.set(record.instanceId, fromRecord(record));
    let resumed = 0;
    for (const instance of this.instances.values()) {
      if (isTerminal(instance.status)) continue;
      resumed++;
      for (const fireAt of instance.timers.values()) this.options.onTimerCreated(fireAt);
      const answered = answeredTaskIds(instance);
      for (const event of instance.execution.history) {
        if (answered.has(event.EventId)) continue;
        if (event.EventType === EventType.TaskScheduled) {
          const name = String(event['Name']);
          const input = typeof event['Input'] === 'string' ? event['Input'] : undefined;
          this.log(`${instance.name} ${instance.instanceId}: activity ${name} (#${event.EventId}) had not answered before the restart; running it again`);
          this.track(this.runActivity(instance, instance.generation, event.EventId, name, input));
        } else if (event.EventType === EventType.SubOrchestrationInstanceCreated) {
          const childId = String(event['InstanceId']);
          const child = this.instances.get(childId);
          if (!child) {
            const input = typeof event['Input'] === 'string' ? event['Input'] : undefined;
            this.createInstance(String(event['Name']), childId, input, { instanceId: instance.instanceId, taskScheduledId: event.EventId });
          } else if (isTerminal(child.status)) {
            this.notifyParent(child, child.status, child.output ?? toJsonString(null));
          }
        }
      }
      if (instance.inbox.length > 0) this.ready.add(instance.instanceId);
    }
    if (this.ready.size > 0) this.kick();
    return resumed;
  }

  private persist(instance: Instance): void {
    if (!this.store || this.instances.get(instance.instanceId) !== instance) return;
    this.store.save(toRecord(instance));
  }

  // ---- internals -----------------------------------------------------------------------------

  private require(instanceId: string): Instance {
    const instance = this.instances.get(instanceId);
    if (!instance) throw new Error(`no instance "${instanceId}"`);
    return instance;
  }

  private log(line: string): void {
    this.options.log(line);
  }

  private changed(): void {
    for (const listener of this.changeListeners) listener();
  }

  private createInstance(name: string, instanceId: string, inputJson: string | undefined, parent: Instance['parent']): Instance {
    const now = this.options.clock.now();
    const instance: Instance = {
      instanceId,
      name,
      createdTime: now,
      lastUpdatedTime: now,
      status: 'Pending',
      input: inputJson,
      output: undefined,
      customStatus: undefined,
      parent,
      execution: newExecution(inputJson),
      pastExecutions: [],
      inbox: [historyEvent.executionStarted(now, name, inputJson, parent)],
      timers: new Map(),
      continueWindow: undefined,
      generation: 0,
      replays: 0,
      replayCpuMs: 0,
    };
    this.instances.set(instanceId, instance);
    this.persist(instance);
    this.ready.add(instanceId);
    this.kick();
    this.changed();
    return instance;
  }

  private dropInstance(instance: Instance): void {
    instance.generation++;
    instance.timers.clear();
    this.instances.delete(instance.instanceId);
    this.ready.delete(instance.instanceId);
    this.store?.remove(instance.instanceId);
  }

  private deliver(instance: Instance, generation: number, event: HistoryEvent): void {
    if (this.instances.get(instance.instanceId) !== instance || instance.generation !== generation || isTerminal(instance.status)) return;
    let events: readonly HistoryEvent[] = [event];
    if (instance.continueWindow) {
      const admitted = admit(instance.continueWindow, event, this.options.clock.now());
      instance.continueWindow = admitted.window;
      for (const deleted of admitted.deleted) this.log(deletedLine(instance.name, instance.instanceId, instance.execution.executionId, deleted));
      events = admitted.deliver;
      if (events.length === 0) {
        if (!this.inEpisode.has(instance.instanceId)) this.persist(instance);
        return;
      }
    }
    instance.inbox.push(...events);
    if (!this.inEpisode.has(instance.instanceId)) this.persist(instance);
    this.ready.add(instance.instanceId);
    this.kick();
  }

  /** A new execution that scheduled nothing gets no answer: its history is committed, the held events arrive. */
  private releaseHeldEvents(instance: Instance): void {
    const held = instance.continueWindow?.held ?? [];
    instance.continueWindow = undefined;
    if (held.length === 0) return;
    instance.inbox.push(...held);
    this.ready.add(instance.instanceId);
  }

  private kick(): void {
    if (this.pumping) return;
    this.pumping = true;
    this.track(this.pump());
  }

  private async pump(): Promise<void> {
    try {
      for (;;) {
        const next = this.ready.values().next();
        if (next.done) break;
        this.ready.delete(next.value);
        const instance = this.instances.get(next.value);
        if (!instance) continue;
        this.inEpisode.add(instance.instanceId);
        try {
          await this.wakeUp(instance);
        } finally {
          this.inEpisode.delete(instance.instanceId);
          this.persist(instance);
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  private async wakeUp(instance: Instance): Promise<void> {
    if (isTerminal(instance.status) || instance.inbox.length === 0) return;
    const handler = this.options.orchestrators.get(instance.name);
    const now = this.options.clock.now();
    const execution = instance.execution;
    for (const event of execution.history) event.IsPlayed = true;
    for (const event of execution.sdkView) event['IsPlayed'] = true;
    const newEvents = instance.inbox;
    instance.inbox = [];
    append(execution, historyEvent.orchestratorStarted(now), ...newEvents);
    if (instance.status === 'Pending') instance.status = 'Running';

    if (!handler) {
      this.fail(instance, `The function '${instance.name}' doesn't exist, is disabled, or is not an orchestrator function.`);
      return;
    }
    const generation = instance.generation;
    let result: Awaited<ReturnType<typeof runEpisode>>;
    try {
      await this.options.prepare?.get(instance.name)?.(parseJsonString(execution.input) ?? undefined);
      result = await runEpisode(handler, {
        name: instance.name,
        instanceId: instance.instanceId,
        ...(instance.parent ? { parentInstanceId: instance.parent.instanceId } : {}),
        history: execution.history,
        sdkHistory: execution.sdkView,
        newActionsFrom: execution.scheduled,
        input: parseJsonString(execution.input) ?? undefined,
        log: this.options.log,
      });
    } catch (error) {
      instance.replays++;
      this.fail(instance, describe(error));
      return;
    }
    instance.replays++;
    instance.replayCpuMs += result.cpuMs;
    // terminated or overwritten while the orchestrator ran: the wake-up's results are discarded
    if (instance.generation !== generation || this.instances.get(instance.instanceId) !== instance) return;
    // the worker sends the status as JSON and the extension keeps it serialized
    const customStatus = result.customStatus === undefined ? undefined : (JSON.parse(JSON.stringify(result.customStatus) ?? 'null') as unknown);
    const sizeError = customStatusSizeError(customStatus);
    if (sizeError !== undefined) {
      // refused before any action is scheduled; the last accepted custom status stays
      this.fail(instance, customStatusFailure(instance.name, sizeError, result.error !== undefined));
      return;
    }
    instance.customStatus = customStatus;

    if (result.error !== undefined) {
      this.fail(instance, `Orchestrator function '${instance.name}' failed: ${result.error}`);
      return;
    }
    try {
      result.newActions.forEach((action, i) => this.schedule(instance, execution.scheduled + i, action, now));
    } catch (error) {
      this.fail(instance, describe(error));
      return;
    }
    execution.scheduled = Math.max(execution.scheduled, result.actionCount);
    append(execution, historyEvent.orchestratorCompleted(now));
    if (instance.continueWindow && result.newActions.length === 0 && !result.continueAsNew) this.releaseHeldEvents(instance);

    if (result.continueAsNew) {
      this.continueAsNew(instance, result.continueAsNew.input);
    } else if (result.completed) {
      const output = toJsonString(result.output);
      append(execution, historyEvent.executionCompleted(now, 'Completed', output));
      this.finish(instance, 'Completed', output);
      this.notifyParent(instance, 'Completed', output);
    } else {
      instance.lastUpdatedTime = now;
      this.changed();
    }
  }

  private schedule(instance: Instance, seq: number, action: SequencedAction, now: Date): void {
    const execution = instance.execution;
    switch (action.kind) {
      case 'activity':
        if (!this.options.activities.has(action.name)) {
          this.swallowUnknownFunction(instance, 'activity', action.name);
          return;
        }
        append(execution, historyEvent.taskScheduled(now, seq, action.name, action.input));
        this.track(this.runActivity(instance, instance.generation, seq, action.name, action.input));
        return;
      case 'timer': {
        if (action.fireAt.getTime() - now.getTime() > MAXIMUM_SHORT_TIMER_MS) {
          throw new Error('the development host does not split timers longer than 6 days (maximumShortTimerDuration)');
        }
        append(execution, historyEvent.timerCreated(now, seq, action.fireAt));
        instance.timers.set(seq, action.fireAt);
        this.options.onTimerCreated(action.fireAt);
        return;
      }
      case 'subOrchestration': {
        if (!this.options.orchestrators.has(action.name)) {
          this.swallowUnknownFunction(instance, 'orchestrator', action.name);
          return;
        }
        const childId = action.instanceId ?? `${instance.instanceId}:${(execution.subOrchestrationCounter++).toString(16).toUpperCase().padStart(4, '0')}`;
        append(execution, historyEvent.subOrchestrationCreated(now, seq, action.name, childId, action.input));
        this.startChild(instance, seq, action.name, childId, action.input);
        return;
      }
    }
  }

  private startChild(parent: Instance, seq: number, name: string, childId: string, input: string | undefined): void {
    const generation = parent.generation;
    const failChild = (message: string): void => {
      const failure = orchestrationFailure(message);
      this.deliver(parent, generation, historyEvent.subOrchestrationFailed(this.options.clock.now(), seq, failure.reason, failure.details, this.failureDetails(failure.errorType, message)));
    };
    const existing = this.instances.get(childId);
    // The same start replayed after a restart (the child was saved, the parent's episode was not):
    // the child already running for this very task is the one the parent waits for.
    if (existing?.parent?.instanceId === parent.instanceId && existing.parent.taskScheduledId === seq && existing.name === name) {
      if (isTerminal(existing.status)) this.notifyParent(existing, existing.status, existing.output ?? toJsonString(null));
      return;
    }
    if (existing && !isTerminal(existing.status)) {
      failChild(`An Orchestration instance with the status ${existing.status} already exists.`);
      return;
    }
    if (existing) this.dropInstance(existing);
    this.createInstance(name, childId, input, { instanceId: parent.instanceId, taskScheduledId: seq, execution: parent.pastExecutions.length });
  }

  private async runActivity(instance: Instance, generation: number, seq: number, name: string, input: string | undefined): Promise<void> {
    const handler = this.options.activities.get(name);
    let event: HistoryEvent;
    if (!handler) {
      throw new Error(`activity '${name}' is not registered (schedule() should have dropped it)`);
    } else {
      const binding = this.options.activityClientBinding;
      const clientInput = binding?.names.has(name) === true ? df.input.durableClient() : undefined;
      const context = new InvocationContext({
        functionName: name,
        invocationId: randomUUID(),
        triggerMetadata: { instanceId: instance.instanceId, name },
        options: { trigger: { type: 'activityTrigger', name: 'input' }, ...(clientInput ? { extraInputs: [clientInput] } : {}) },
        logHandler: (level, ...args) => this.log(`[${name} ${instance.instanceId}#${seq}] ${level}: ${args.map(describe).join(' ')}`),
      });
      if (clientInput && binding) context.extraInputs.set(clientInput, binding.data());
      try {
        const result: unknown = await handler(input === undefined ? undefined : parseJsonString(input), context);
        event = historyEvent.taskCompleted(this.options.clock.now(), seq, toJsonString(result));
      } catch (error) {
        const failure = activityFailure(name, error);
        event = historyEvent.taskFailed(this.options.clock.now(), seq, failure.reason, failure.details, this.failureDetails(failure.errorType, failure.message, failure.stack));
      }
    }
    this.deliver(instance, generation, event);
  }

  /**
   * An activity or sub-orchestrator nobody registered. The extension's `CallDurableTaskFunctionAsync`
   * throws `ThrowIfFunctionDoesNotExist`'s ArgumentException inside an async method, and
   * `OutOfProcOrchestrationShim.ProcessAsyncActionsV2` awaits each action's task in a
   * `catch (Exception) { }` ("Silently ignore exceptions thrown by user code"): nothing is
   * scheduled, no event ever arrives, and the orchestration waits forever (durable-js #197).
   */
  private swallowUnknownFunction(instance: Instance, kind: 'activity' | 'orchestrator', name: string): void {
    this.log(
      `${instance.name} ${instance.instanceId}: The function '${name}' doesn't exist, is disabled, or is not an ${kind} function. ` +
        'Azure ignores this call and the orchestration never hears back; so does the development host.',
    );
  }

  private failureDetails(errorType: string, message: string, stack?: string): FailureDetailsPayload | undefined {
    if (this.options.taskFailureShape !== 'failureDetails') return undefined;
    return { ErrorType: errorType, ErrorMessage: message, ...(stack ? { StackTrace: stack } : {}), IsNonRetriable: false };
  }

  private continueAsNew(instance: Instance, inputJson: string | undefined): void {
    const now = this.options.clock.now();
    append(instance.execution, historyEvent.executionCompleted(now, 'ContinuedAsNew', inputJson));
    instance.pastExecutions.push(instance.execution.history);
    instance.generation++;
    instance.timers.clear(); // pending timers are dropped with the old execution
    instance.execution = newExecution(inputJson);
    // Events raised while that last episode ran were not part of it: the extension delivers them to
    // the new execution (a raised event names no execution: DurableClient clears its ExecutionId) —
    // or, before Azure/durabletask#1399, may delete them with its first answer (ContinueAsNewEvents).
    // Answers to the old execution's tasks are not carried over.
    const raised = instance.inbox.filter((event) => event.EventType === EventType.EventRaised);
    instance.continueWindow = openWindow(this.options.continueAsNewEvents, raised, now);
    instance.inbox = [historyEvent.executionStarted(now, instance.name, inputJson, instance.parent), ...(instance.continueWindow ? [] : raised)];
    instance.lastUpdatedTime = now;
    this.ready.add(instance.instanceId);
    this.changed();
  }

  private fail(instance: Instance, message: string): void {
    const now = this.options.clock.now();
    const output = toJsonString(message);
    append(instance.execution, historyEvent.executionCompleted(now, 'Failed', output));
    this.finish(instance, 'Failed', output);
    this.log(`${instance.name} ${instance.instanceId} failed: ${message}`);
    this.notifyParent(instance, 'Failed', output);
  }

  private finish(instance: Instance, status: RuntimeStatus, output: string): void {
    instance.status = status;
    instance.output = output;
    instance.lastUpdatedTime = this.options.clock.now();
    instance.generation++;
    instance.timers.clear();
    instance.inbox = [];
    instance.continueWindow = undefined;
    this.ready.delete(instance.instanceId);
    this.changed();
  }

  private notifyParent(child: Instance, status: RuntimeStatus, output: string): void {
    if (!child.parent) return;
    const parent = this.instances.get(child.parent.instanceId);
    if (!parent) return;
    if (child.parent.execution !== undefined && child.parent.execution !== parent.pastExecutions.length) return;
    const now = this.options.clock.now();
    const seq = child.parent.taskScheduledId;
    if (status === 'Completed') {
      this.deliver(parent, parent.generation, historyEvent.subOrchestrationCompleted(now, seq, output));
      return;
    }
    const message = String(parseJsonString(output));
    const failure = orchestrationFailure(status === 'Terminated' ? `Orchestration '${child.instanceId}' was terminated: ${message}` : message);
    this.deliver(parent, parent.generation, historyEvent.subOrchestrationFailed(now, seq, failure.reason, failure.details, this.failureDetails(failure.errorType, message)));
  }

  private query(query: StatusQuery): Instance[] {
    const wanted = query.runtimeStatus?.map((s) => s.toLowerCase());
    return [...this.instances.values()]
      .filter((i) => !wanted || wanted.length === 0 || wanted.includes(i.status.toLowerCase()))
      .filter((i) => !query.createdTimeFrom || i.createdTime >= query.createdTimeFrom)
      .filter((i) => !query.createdTimeTo || i.createdTime <= query.createdTimeTo)
      .sort((a, b) => a.createdTime.getTime() - b.createdTime.getTime() || a.instanceId.localeCompare(b.instanceId));
  }

  private toStatus(instance: Instance, options: { showHistory?: boolean; showHistoryOutput?: boolean; showInput?: boolean }): InstanceStatusJson {
    const history = options.showHistory ? summarizeHistory(instance, options.showHistoryOutput === true) : undefined;
    return {
      name: instance.name,
      instanceId: instance.instanceId,
      runtimeStatus: instance.status,
      input: options.showInput === false ? null : (parseJsonString(instance.input) ?? null),
      customStatus: instance.customStatus ?? null,
      output: parseJsonString(instance.output) ?? null,
      createdTime: instance.createdTime.toISOString(),
      lastUpdatedTime: instance.lastUpdatedTime.toISOString(),
      // HttpApiHandler.ConvertFrom writes `historyEvents` only (durable-functions reads `history`,
      // so DurableOrchestrationStatus.history stays undefined against the real extension too)
      ...(history ? { historyEvents: history } : {}),
    };
  }
}

/** Scheduled ids (activities, sub-orchestrations) whose answer is in the history or waiting in the inbox. */
function answeredTaskIds(instance: Instance): Set<number> {
  const answered = new Set<number>();
  for (const event of [...instance.execution.history, ...instance.inbox]) {
    const id = event['TaskScheduledId'];
    if (typeof id === 'number') answered.add(id);
  }
  return answered;
}

function toRecord(instance: Instance): PersistedInstance {
  return {
    version: 1,
    instanceId: instance.instanceId,
    name: instance.name,
    createdTime: instance.createdTime.toISOString(),
    lastUpdatedTime: instance.lastUpdatedTime.toISOString(),
    status: instance.status,
    input: instance.input,
    output: instance.output,
    customStatus: instance.customStatus,
    parent: instance.parent,
    execution: {
      executionId: instance.execution.executionId,
      history: instance.execution.history,
      input: instance.execution.input,
      scheduled: instance.execution.scheduled,
      subOrchestrationCounter: instance.execution.subOrchestrationCounter,
    },
    pastExecutions: instance.pastExecutions,
    inbox: instance.inbox,
    timers: [...instance.timers].map(([id, fireAt]) => [id, fireAt.toISOString()] as const),
    ...(instance.continueWindow ? { heldAtContinue: instance.continueWindow.held, heldSince: instance.continueWindow.since.toISOString() } : {}),
    replays: instance.replays,
    replayCpuMs: instance.replayCpuMs,
  };
}

function fromRecord(record: PersistedInstance): Instance {
  const history = record.execution.history.map((event) => ({ ...event }));
  return {
    instanceId: record.instanceId,
    name: record.name,
    createdTime: new Date(record.createdTime),
    lastUpdatedTime: new Date(record.lastUpdatedTime),
    status: record.status,
    input: record.input,
    output: record.output,
    customStatus: record.customStatus,
    parent: record.parent,
    execution: {
      executionId: record.execution.executionId,
      history,
      sdkView: history.map(toSdkEvent),
      input: record.execution.input,
      scheduled: record.execution.scheduled,
      subOrchestrationCounter: record.execution.subOrchestrationCounter,
    },
    pastExecutions: record.pastExecutions.map((events) => [...events]),
    inbox: [...record.inbox],
    timers: new Map(record.timers.map(([id, fireAt]) => [id, new Date(fireAt)])),
    continueWindow: record.heldAtContinue ? { held: [...record.heldAtContinue], since: new Date(record.heldSince ?? 0) } : undefined,
    generation: 0,
    replays: record.replays,
    replayCpuMs: record.replayCpuMs,
  };
}

function newExecution(inputJson: string | undefined): Execution {
  return { executionId: randomUUID().replace(/-/g, ''), history: [], sdkView: [], input: inputJson, scheduled: 0, subOrchestrationCounter: 0 };
}

function append(execution: Execution, ...events: HistoryEvent[]): void {
  for (const event of events) {
    execution.history.push(event);
    execution.sdkView.push(toSdkEvent(event));
  }
}

export function isTerminal(status: RuntimeStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

function describe(value: unknown): string {
  if (value instanceof Error) return value.message;
  return typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
}

/**
 * An activity failure the way the extension records it for a Node worker. The worker reports
 * `{ message: error.message, stackTrace: error.stack }` after `ensureErrorType` (strings as they
 * are, other objects as JSON; azure-functions-nodejs-worker src/errors.ts); the host wraps it in an
 * RpcException; TaskActivityShim extracts the friendly message and records Reason / Details (see
 * extension-rules.ts). The SDK then throws `new Error(`${Reason} \n ${Details}`)` into the
 * orchestrator, so the activity's own message appears verbatim in the caught error's text.
 */
function activityFailure(name: string, thrown: unknown): { reason: string; details: string; errorType: string; message: string; stack: string | undefined } {
  const error = workerError(thrown);
  const rpcMessage = rpcExceptionMessage(error.message, error.stack);
  return {
    reason: activityFailureReason(name, rpcMessage),
    details: serializedFriendlyException(friendlyOutOfProcMessage(rpcMessage) ?? error.message, serializedRpcException(rpcMessage, error.message, error.stack)),
    errorType: error.name,
    message: error.message,
    stack: error.stack,
  };
}

/** azure-functions-nodejs-worker `ensureErrorType`. */
function workerError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  if (thrown === undefined || thrown === null) return new Error('Unknown error');
  if (typeof thrown === 'string') return new Error(thrown);
  if (typeof thrown === 'number' || typeof thrown === 'boolean' || typeof thrown === 'bigint' || typeof thrown === 'symbol') return new Error(String(thrown));
  return new Error(JSON.stringify(thrown)); // objects (functions stringify to undefined there too)
}

function orchestrationFailure(message: string): { reason: string; details: string; errorType: string } {
  return {
    reason: message,
    details: JSON.stringify({
      $type: 'Microsoft.Azure.WebJobs.Extensions.DurableTask.OrchestrationFailureException, Microsoft.Azure.WebJobs.Extensions.DurableTask',
      ClassName: 'Microsoft.Azure.WebJobs.Extensions.DurableTask.OrchestrationFailureException',
      Message: message,
      Data: null,
      InnerException: null,
      HResult: -2146233088,
    }),
    errorType: 'OrchestrationFailureException',
  };
}

/** A .NET exception as Newtonsoft serializes it (ISerializable fields, `$type` first). */
function dotnetException(type: string, className: string, message: string, inner: Record<string, unknown> | null, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    $type: type,
    ...extra,
    ClassName: className,
    Message: message,
    Data: null,
    InnerException: inner,
    HelpURL: null,
    StackTraceString: null,
    RemoteStackTraceString: null,
    RemoteStackIndex: 0,
    ExceptionMethod: null,
    HResult: -2146233088,
    Source: null,
    WatsonBuckets: null,
  };
}

/** `Utils.SerializeCause(friendlyMessageException)`: a System.Exception whose inner exception is the RpcException. */
function serializedFriendlyException(message: string, inner: Record<string, unknown>): string {
  return JSON.stringify(dotnetException('System.Exception, System.Private.CoreLib', 'System.Exception', message, inner));
}

function serializedRpcException(rpcMessage: string, remoteMessage: string, stack: string | undefined): Record<string, unknown> {
  return dotnetException('Microsoft.Azure.WebJobs.Script.Workers.Rpc.RpcException, Microsoft.Azure.WebJobs.Script', 'Microsoft.Azure.WebJobs.Script.Workers.Rpc.RpcException', rpcMessage, null, {
    IsUserException: false,
    RemoteStackTrace: stack ?? null,
    RemoteMessage: remoteMessage,
    RemoteTypeName: null,
  });
}

/** The status API's `historyEvents`: event names, function names and (optionally) payloads. */
function summarizeHistory(instance: Instance, withOutput: boolean): unknown[] {
  const names = new Map<number, string>();
  const out: unknown[] = [];
  for (const event of instance.execution.history) {
    if (event.EventType === EventType.OrchestratorStarted || event.EventType === EventType.OrchestratorCompleted) continue;
    const type = Object.entries(EventType).find(([, v]) => v === event.EventType)?.[0] ?? String(event.EventType);
    const entry: Record<string, unknown> = { EventType: type, Timestamp: event.Timestamp };
    if (event.EventType === EventType.TaskScheduled || event.EventType === EventType.SubOrchestrationInstanceCreated) {
      names.set(event.EventId, String(event['Name']));
      continue; // the extension folds scheduling into the completion entry
    }
    if (event.EventType === EventType.ExecutionStarted) entry['FunctionName'] = instance.name;
    const scheduledId = event['TaskScheduledId'];
    if (typeof scheduledId === 'number') entry['FunctionName'] = names.get(scheduledId);
    if (event.EventType === EventType.TimerCreated || event.EventType === EventType.TimerFired) entry['FireAt'] = event['FireAt'];
    if (event.EventType === EventType.EventRaised) entry['Name'] = event['Name'];
    if (event.EventType === EventType.TaskFailed || event.EventType === EventType.SubOrchestrationInstanceFailed) {
      entry['Reason'] = event['Reason'];
      entry['Details'] = event['Details'];
    }
    if (withOutput && typeof event['Result'] === 'string') entry['Result'] = parseJsonString(event['Result']);
    if (event.EventType === EventType.ExecutionCompleted) entry['OrchestrationStatus'] = event['OrchestrationStatus'];
    out.push(entry);
  }
  return out;
}
