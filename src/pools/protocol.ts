/** What the orchestrator and the pool activities say to each other (no I/O: the engine imports it). */

/** Event raised to a waiter promoted to holder: `pool:<name>`. */
export const POOL_EVENT_PREFIX = 'pool:';
export const poolEventName = (pool: string): string => `${POOL_EVENT_PREFIX}${pool}`;

export interface PoolClaimInput {
  /** `<runId>|run` or `<runId>|<stepId>#<attempt>`. */
  readonly id: string;
  readonly runId: string;
  /** The orchestration that waits and is woken. */
  readonly instanceId: string;
  /** The step whose attempt claims (absent: the whole run). */
  readonly stepId?: string;
}

export interface AcquirePoolInput {
  readonly pool: string;
  readonly claim: PoolClaimInput;
}

export interface ReleasePoolsInput {
  readonly pools: readonly string[];
  readonly runId: string;
  /** One claim's id (a step attempt); absent: everything the run holds or waits for. */
  readonly claimId?: string;
}

export type AcquirePoolResult =
  | { readonly granted: true }
  | { readonly granted: false; readonly position: number; readonly recheckAtMs: number }
  | { readonly granted: false; readonly closed: true };
