/**
 * What the HTTP API needs from the rest of the app. The Table-backed run store and the Durable
 * client implement these; tests and the development host pass the same real implementations.
 */
import type { DurableClient } from 'durable-functions';
import type { PendingRuns } from '../app/durableStarter';
import type { PinnedDefinitions } from '../activities/deployedStep';
import type { Catalog } from '../pipelines/catalog';
import type { CursorSigner } from './cursors';
import type { RunEndings } from './terminatedRuns';
import type { RunStatus } from '../engine/types';
import type { ScheduleState, SlotEntry } from '../scheduler/ports';
import type { BackfillStore } from '../backfill/store';
import type { ApprovalStore } from '../steps/approval/store';
import type { TriggerHistory } from '../triggers/history';
import type { AttemptRecord, LogLine, RunRecord } from '../runs/recorder';

export interface RunPage {
  readonly runs: readonly RunRecord[];
  readonly nextCursor?: string;
  /** The page stopped at the store's scan budget, not at `limit`: fewer runs, and more may follow the cursor. */
  readonly partial?: boolean;
}

/** A `cursor` / `after` the store did not issue makes it throw an error named `InvalidCursorError` (answered 400). */
export interface RunQueries {
  getRun(runId: string): Promise<RunRecord | undefined>;
  /** `projects`: runs of any of them; `tags`: runs carrying every one. */
  listRuns(query: { pipeline?: string; projects?: readonly string[]; tags?: readonly string[]; status?: RunStatus; since?: string; until?: string; limit: number; cursor?: string }): Promise<RunPage>;
  getAttempts(runId: string): Promise<readonly AttemptRecord[]>;
  getLogs(runId: string, query: { after?: string; limit: number }): Promise<{ lines: readonly (LogLine & { cursor: string })[]; nextCursor?: string }>;
}

export interface ScheduleControl {
  isPaused(pipeline: string, schedule: string): Promise<boolean>;
  /** Paused, and the latest slot that could not start its run (until a later one starts). */
  getScheduleState(pipeline: string, schedule: string): Promise<Pick<ScheduleState, 'paused' | 'lastStartFailure'>>;
  setPaused(pipeline: string, schedule: string, paused: boolean, by?: string): Promise<void>;
  /** The scheduler's slot ledger (fired, missed, skipped…), oldest first, between two instants. */
  listSlots(pipeline: string, schedule: string, range?: { since?: string; until?: string }): Promise<readonly SlotEntry[]>;
}

export interface IdempotencyKeys {
  /**
   * Records key → runId (and the request's fingerprint) if absent; returns the run id the key
   * belongs to. A key already held for another fingerprint throws an error named
   * `IdempotencyKeyReusedError` (answered 409); keys recorded without one match any request.
   */
  claim(scope: string, key: string, runId: string, fingerprint?: string): Promise<string>;
}

/** The first cancel of a run wins; later ones learn when it was asked for. */
export interface CancelRequests {
  /** Records the run's cancel request if none exists (one atomic conditional write). */
  claimCancel(runId: string, requestedAt: string, by?: string): Promise<{ readonly first: boolean; readonly requestedAt: string }>;
  /** When the run's cancel was asked for, if it was. */
  findCancel(runId: string): Promise<string | undefined>;
  /** Drops the request again when raising the cancel event failed, so a retry can raise it. */
  releaseCancel(runId: string): Promise<void>;
}

export interface HealthCheck {
  readonly name: string;
  /** `missing`: the names (secrets, app settings) whose absence failed the check. */
  check(): Promise<{ ok: boolean; detail?: string; missing?: readonly string[] }>;
}

export type DurableControl = Pick<DurableClient, 'startNew' | 'getStatus' | 'getStatusBy' | 'raiseEvent' | 'terminate'>;

export interface ApiDeps {
  readonly catalog: Catalog;
  /** Definitions pinned when runs started (src/runs/definitionStore.ts); none without a run store. */
  readonly definitions?: PinnedDefinitions;
  readonly runs: RunQueries;
  /** Where reads close the record of a run Durable terminated (src/api/terminatedRuns.ts); none without a run store. */
  readonly endings?: RunEndings;
  /** Where a start records the run before it begins (src/app/durableStarter.ts). */
  readonly starts: PendingRuns;
  readonly schedules: ScheduleControl;
  readonly idempotency: IdempotencyKeys;
  readonly cancels: CancelRequests;
  /** Signs and checks the list cursors handed to callers. */
  readonly cursors: CursorSigner;
  readonly durable: DurableControl;
  readonly health: readonly HealthCheck[];
  readonly now: () => Date;
  /** Random part of new run ids (injectable for tests). */
  readonly randomSuffix: () => string;
  /** Base URL for links in responses, e.g. https://app.azurewebsites.net. */
  readonly baseUrl?: string;
  /** False when the app's scheduler is off (SCHEDULER_ENABLED=false); GET /api/pipelines says so. Default true. */
  readonly schedulerEnabled?: boolean;
  /** READ_ONLY=true: GET /api/me tells the console to show no change buttons. */
  readonly readOnly?: boolean;
  /** The Application Insights resource's Portal link, for the console's "records" link. */
  readonly appInsightsUrl?: string;
  /** Backfills and the slot ledger they read (src/backfill); absent without a run store. */
  readonly backfills?: BackfillStore;
  /** Approval requests and decisions (src/steps/approval); absent without a run store. */
  readonly approvals?: ApprovalStore;
  /** What each event trigger heard and did (src/triggers/history.ts). */
  readonly triggerHistory?: TriggerHistory;
  readonly slotLedger?: { getSlot(pipeline: string, schedule: string, slot: string): Promise<SlotEntry | undefined> };
}
