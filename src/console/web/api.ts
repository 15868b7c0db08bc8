/**
 * The console's only way to the app: the API's console door (`/api/console/…`). Changes carry the
 * JSON content type and the custom header the app requires of this door (src/api/access.ts), so no
 * other site can make a signed-in browser send them. Errors come back as problem details.
 */
export const CONSOLE_HEADER = 'x-requested-with';
export const CONSOLE_HEADER_VALUE = 'durable-pipelines-console';

export interface Problem {
  readonly status: number;
  readonly title: string;
  readonly detail?: string;
  readonly invalidFields?: readonly { field: string; message: string }[];
}

export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title);
  }
}

async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const response = await fetch(`/api/console/${path}`, {
    method,
    credentials: 'same-origin',
    headers: { accept: 'application/json', ...(method === 'POST' ? { 'content-type': 'application/json', [CONSOLE_HEADER]: CONSOLE_HEADER_VALUE } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON (a proxy's error page): the status line says enough.
  }
  if (!response.ok) {
    const problem = (json ?? {}) as Partial<Problem>;
    throw new ApiError({ status: response.status, title: problem.title ?? `HTTP ${response.status}`, ...(problem.detail ? { detail: problem.detail } : {}), ...(problem.invalidFields ? { invalidFields: problem.invalidFields } : {}) });
  }
  return json as T;
}

export const get = <T>(path: string): Promise<T> => call<T>('GET', path);
export const post = <T>(path: string, body: unknown = {}): Promise<T> => call<T>('POST', path, body);

// ── Shapes the API answers (src/api/routes.ts) ─────────────────────────────────────────────────

export interface Me {
  readonly name: string | null;
  /** Every project (a global role or a key). */
  readonly canRead: boolean;
  readonly canOperate: boolean;
  /** Projects granted by their own roles (absent from servers that predate projects). */
  readonly projects?: Readonly<Record<string, 'read' | 'operate'>>;
  readonly readOnly: boolean;
  readonly appInsightsUrl: string | null;
}

/** May `me` change what belongs to this project (a global operate role, or the project's own)? The API decides; this only hides buttons. */
export function operates(me: Me, project: string | undefined): boolean {
  return me.canOperate || (project !== undefined && me.projects?.[project] === 'operate');
}

export interface ParameterSpec {
  readonly type: 'string' | 'number' | 'integer' | 'boolean' | 'date';
  readonly default?: unknown;
  readonly description?: string;
  readonly required?: boolean;
  readonly enum?: readonly unknown[];
}

export interface ScheduleJson {
  readonly name: string;
  readonly cron: string;
  readonly timezone: string;
  readonly enabled: boolean;
  readonly paused: boolean;
  /** The API's word (src/core/scheduleState.ts), the one `schedules ls` shows. */
  readonly state: 'active' | 'failing' | 'paused' | 'disabled' | 'scheduler off';
  readonly lastStartFailure: { slot: string; reason: string } | null;
  readonly tags: readonly string[];
  readonly nextRun: { utc: string; local: string; dst: string } | null;
}

export interface ProjectJson {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly canOperate: boolean;
}

export interface PipelineJson {
  readonly name: string;
  readonly title?: string;
  readonly description?: string;
  readonly project?: string;
  /** May the caller start it (its project's operate role, or a global one)? */
  readonly canOperate?: boolean;
  readonly tags: readonly string[];
  readonly pools?: readonly string[];
  readonly parameters: Readonly<Record<string, ParameterSpec>>;
  readonly steps: readonly {
    id: string;
    kind: string;
    title: string;
    dependsOn: readonly string[];
    /** docs/pipelines.md: what a dependency waits for when not `succeeded`, a `when`, a forEach. */
    conditions?: Readonly<Record<string, string>>;
    when?: string;
    forEach?: { readonly maxParallel: number; readonly onItemFailure: string };
    /** A pipeline step: the pipeline it runs as a child run. */
    calls?: string;
  }[];
  readonly schedules: readonly ScheduleJson[];
  readonly lastRun: { runId: string; status: string; createdAt: string; endedAt: string | null } | null;
}

export interface RunTriggerJson {
  readonly kind: string;
  readonly origin?: string;
  readonly scheduledFor?: string;
  readonly by?: string;
}

export interface RunSummary {
  readonly runId: string;
  readonly pipeline: string;
  readonly project?: string;
  readonly tags?: readonly string[];
  readonly status: string;
  readonly trigger: RunTriggerJson;
  readonly createdAt: string;
  readonly startedAt?: string;
  readonly endedAt?: string;
  readonly durationSeconds?: number;
}

export interface AttemptJson {
  readonly attempt: number;
  readonly startedAt: string;
  readonly endedAt?: string;
  readonly status: string;
  readonly error?: { class: string; message: string };
}

export interface StepJson {
  readonly id: string;
  readonly status: string;
  readonly attempts: readonly AttemptJson[];
  readonly output?: unknown;
  readonly error?: { class: string; message: string };
  readonly nextAt?: string;
  /** A forEach step: its items counted by status (the items are steps `<id>[<index>]`). */
  readonly items?: Readonly<Record<string, number>>;
  /** Waiting for a slot of a shared pool: which, and its place in the queue. */
  readonly pool?: PoolWaitJson;
  /** A pipeline step: the child run its last attempt started. */
  readonly childRun?: { readonly runId: string; readonly pipeline: string };
}

export interface PoolWaitJson {
  readonly name: string;
  readonly position: number;
}

/** A run just accepted exists only in Durable for a moment: no trigger nor creation time yet. */
export interface RunJson extends Omit<RunSummary, 'trigger'> {
  readonly trigger?: RunTriggerJson;
  readonly parameters?: Record<string, unknown>;
  readonly pipelineAttempt?: number;
  /** While a failed round waits for its pipeline retry (the engine's state): the attempt that comes and when. */
  readonly pipelineRetry?: { attempt: number; at: string };
  /** While the run waits for a slot of a run-level pool. */
  readonly pool?: PoolWaitJson;
  readonly error?: { class: string; message: string; stepId?: string };
  readonly rerunOf?: string;
  /** A run a pipeline step started: the parent run and its step. */
  readonly parent?: { readonly runId: string; readonly stepId: string };
  /** The definition version the run follows (pinned at its start) and the deployed one. */
  readonly definition?: { readonly version: string | null; readonly currentVersion: string | null; readonly current: boolean };
  readonly steps: readonly StepJson[];
  readonly metrics: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

/** GET runs/{id}/definition: what changed from the run's definition to the deployed one. */
export interface RunDefinitionJson {
  readonly version: string | null;
  readonly currentVersion: string | null;
  readonly current: boolean;
  readonly changes: readonly { readonly path: string; readonly change: 'added' | 'removed' | 'changed'; readonly before?: unknown; readonly after?: unknown }[] | null;
}

export interface LogLineJson {
  readonly time: string;
  readonly level: string;
  readonly msg: string;
  readonly stepId?: string;
  readonly attempt?: number;
  /** Structured fields; `alert` on the line that says an alert could not be delivered. */
  readonly fields?: { readonly alert?: { readonly channel: string; readonly webhook: string; readonly error: string } };
  readonly cursor: string;
}

export interface SlotJson {
  readonly slot: string;
  readonly local: string;
  readonly scheduledLocal: string;
  readonly dst: string;
  readonly outcome: string;
  readonly reason?: string;
  readonly runId?: string;
  readonly lateBySeconds: number;
}

export interface BackfillJson {
  readonly id: string;
  readonly pipeline: string;
  /** Its pipeline's project (absent from servers that predate projects). */
  readonly project?: string;
  readonly schedule: string;
  readonly from: string;
  readonly to: string;
  readonly mode: string;
  readonly maxParallel: number;
  readonly state: string;
  readonly createdBy?: string;
  readonly createdAt: string;
  readonly cancelledBy?: string;
  readonly counts: Readonly<Record<'queued' | 'starting' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'skipped', number>>;
  readonly slots?: readonly { slot: string; local: string; dst?: string; state: string; runId: string | null; reason?: string }[];
}

export interface ApprovalJson {
  readonly runId: string;
  readonly pipeline: string;
  /** Its run's project (absent from servers that predate projects). */
  readonly project?: string;
  readonly stepId: string;
  readonly message: string;
  readonly approvers: readonly string[] | null;
  readonly since: string;
  readonly until: string | null;
  readonly decision: string | null;
  readonly decidedBy: string | null;
  readonly decidedAt: string | null;
}
