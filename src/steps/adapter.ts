import type { DurableClient } from 'durable-functions';
import type { Logger } from '../logging/logger';
import type { Json, JsonObject } from '../core/json';
import type { StepDefinition } from '../pipelines/schema';
import type { SecretResolver, SettingsReader } from '../secrets/types';
import type { RunTrigger, StepOutcome } from './protocol';
import type { StepLogLine } from './resultLines';

/** What a `pipeline` step starts, reads and cancels its child run through: the activity's Durable client. */
export type ChildRunClient = Pick<DurableClient, 'startNew' | 'getStatus' | 'getStatusBy' | 'raiseEvent'>;

/** What an adapter gets besides its step definition. */
export interface StepContext {
  readonly runId: string;
  readonly pipeline: string;
  readonly stepId: string;
  readonly attempt: number;
  readonly parameters: JsonObject;
  readonly trigger: RunTrigger;
  /** Upstream results this step refers to, by `<stepId>.<path>` (docs/pipelines.md, section 1). */
  readonly upstream?: JsonObject;
  /** The current item of a forEach step. */
  readonly item?: Json;
  readonly secrets: SecretResolver;
  readonly settings: SettingsReader;
  /** Child logger bound to run, pipeline, step and attempt. */
  readonly log: Logger;
  /**
   * Adds a line to the run's log (what `logs --follow` shows): the step's own results. Lines are
   * masked and written in one batch when the attempt's call ends, failed or not. Absent where no
   * run log is kept.
   */
  readonly report?: (line: StepLogLine) => void;
  /** The activity's Durable client (`df.input.durableClient()`): how a `pipeline` step starts its child run. */
  readonly durable?: ChildRunClient;
}

/** One step kind's I/O. `start` finishes or returns a poll handle; `poll` advances a handle. */
export interface StepAdapter<S extends StepDefinition = StepDefinition> {
  start(step: S, ctx: StepContext): Promise<StepOutcome>;
  poll?(step: S, handle: JsonObject, ctx: StepContext): Promise<StepOutcome>;
  /** Best-effort stop of a running job (cancel or timeout). Never throws to the caller. */
  cancel?(step: S, handle: JsonObject, ctx: StepContext): Promise<void>;
}

export type AdapterFor<K extends StepDefinition['kind']> = StepAdapter<Extract<StepDefinition, { kind: K }>>;
