/**
 * Approval requests and decisions in Table Storage:
 *
 * - in the run's partition of the runs table, row `approval~<stepId>`: what is asked, since when,
 *   by which attempt, and once decided the decision, who made it, when and why — purged with the
 *   run;
 * - in the schedules table, partition `approvals~waiting`, one row per step waiting, so the console
 *   and `durable-pipelines approvals` list them without scanning runs.
 *
 * A decision is a compare-and-set on the request row's etag: of two people deciding at once, one
 * wins and the other is told who did.
 */
import type { TableClient } from '@azure/data-tables';
import { odataString, SEP } from '../../runs/keys';
import { statusOf } from '../../runs/tables';

export interface ApprovalRequest {
  readonly runId: string;
  readonly pipeline: string;
  readonly stepId: string;
  readonly attempt: number;
  readonly message: string;
  /** Sign-in names allowed to decide; absent = anyone with the Operate role. */
  readonly approvers?: readonly string[];
  readonly since: string;
  /** When the step stops waiting (its timeout). */
  readonly until?: string;
  readonly decision?: 'approved' | 'rejected';
  /** `user:<name>` or `key`. */
  readonly decidedBy?: string;
  readonly decidedAt?: string;
  readonly comment?: string;
}

export type DecideResult =
  | { readonly outcome: 'decided'; readonly request: ApprovalRequest }
  | { readonly outcome: 'already-decided'; readonly request: ApprovalRequest }
  | { readonly outcome: 'not-waiting' };

const rowKey = (stepId: string): string => `approval${SEP}${stepId}`;
const WAITING = `approvals${SEP}waiting`;
const waitingKey = (runId: string, stepId: string): string => `${runId}${SEP}${stepId}`;

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

function toProps(r: ApprovalRequest): Record<string, string | number> {
  const props: Record<string, string | number | undefined> = {
    runId: r.runId, pipeline: r.pipeline, stepId: r.stepId, attempt: r.attempt, message: r.message,
    approvers: r.approvers ? JSON.stringify(r.approvers) : undefined, since: r.since, until: r.until,
    decision: r.decision, decidedBy: r.decidedBy, decidedAt: r.decidedAt, comment: r.comment,
  };
  return Object.fromEntries(Object.entries(props).filter((e): e is [string, string | number] => e[1] !== undefined));
}

function fromRow(e: Record<string, unknown>): ApprovalRequest {
  let approvers: string[] | undefined;
  try {
    const parsed: unknown = JSON.parse(str(e['approvers']) ?? 'null');
    if (Array.isArray(parsed)) approvers = parsed.filter((a): a is string => typeof a === 'string');
  } catch {
    approvers = undefined;
  }
  const decision = str(e['decision']);
  return {
    runId: str(e['runId']) ?? '',
    pipeline: str(e['pipeline']) ?? '',
    stepId: str(e['stepId']) ?? '',
    attempt: typeof e['attempt'] === 'number' ? e['attempt'] : 1,
    message: str(e['message']) ?? '',
    ...(approvers ? { approvers } : {}),
    since: str(e['since']) ?? '',
    ...(str(e['until']) ? { until: str(e['until'])! } : {}),
    ...(decision === 'approved' || decision === 'rejected' ? { decision } : {}),
    ...(str(e['decidedBy']) ? { decidedBy: str(e['decidedBy'])! } : {}),
    ...(str(e['decidedAt']) ? { decidedAt: str(e['decidedAt'])! } : {}),
    ...(str(e['comment']) ? { comment: str(e['comment'])! } : {}),
  };
}

export class ApprovalStore {
  constructor(private readonly runs: TableClient, private readonly schedules: TableClient, private readonly ready: () => Promise<void>) {}

  /**
   * Records that an attempt waits for a decision; keeps a request already made by this attempt (a
   * retried start). A later attempt (the step retried after a timeout) asks afresh.
   */
  async request(request: ApprovalRequest): Promise<ApprovalRequest> {
    await this.ready();
    const existing = await this.get(request.runId, request.stepId);
    if (existing && existing.attempt >= request.attempt) return existing;
    await this.runs.upsertEntity({ partitionKey: request.runId, rowKey: rowKey(request.stepId), ...toProps(request) }, 'Replace');
    await this.schedules.upsertEntity({ partitionKey: WAITING, rowKey: waitingKey(request.runId, request.stepId), ...toProps(request) }, 'Replace');
    return request;
  }

  async get(runId: string, stepId: string): Promise<ApprovalRequest | undefined> {
    const row = await this.row(runId, stepId);
    return row ? fromRow(row) : undefined;
  }

  /** Records the first decision on a waiting request. */
  async decide(runId: string, stepId: string, decision: Required<Pick<ApprovalRequest, 'decision' | 'decidedBy' | 'decidedAt'>> & { comment?: string }): Promise<DecideResult> {
    for (let round = 0; round < 3; round++) {
      const row = await this.row(runId, stepId);
      if (!row) return { outcome: 'not-waiting' };
      const current = fromRow(row);
      if (current.decision) return { outcome: 'already-decided', request: current };
      const decided: ApprovalRequest = { ...current, ...decision };
      try {
        await this.runs.updateEntity({ partitionKey: runId, rowKey: rowKey(stepId), ...toProps(decided) }, 'Replace', { etag: row.etag });
      } catch (error) {
        if (statusOf(error) === 412) continue; // someone decided (or the attempt asked afresh) meanwhile: read again
        throw error;
      }
      await this.dropWaiting(runId, stepId);
      return { outcome: 'decided', request: decided };
    }
    const latest = await this.get(runId, stepId);
    return latest?.decision ? { outcome: 'already-decided', request: latest } : { outcome: 'not-waiting' };
  }

  /** The step stopped waiting without a decision (timeout, cancel): it leaves the waiting list. */
  async dropWaiting(runId: string, stepId: string): Promise<void> {
    await this.ready();
    try {
      await this.schedules.deleteEntity(WAITING, waitingKey(runId, stepId));
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
  }

  /** Steps waiting for a decision, oldest first. */
  async listWaiting(limit = 100): Promise<ApprovalRequest[]> {
    await this.ready();
    const out: ApprovalRequest[] = [];
    for await (const row of this.schedules.listEntities<Record<string, unknown>>({ queryOptions: { filter: `PartitionKey eq ${odataString(WAITING)}` } })) {
      out.push(fromRow(row));
      if (out.length >= limit) break;
    }
    return out.sort((a, b) => (a.since < b.since ? -1 : 1));
  }

  private async row(runId: string, stepId: string) {
    await this.ready();
    try {
      return await this.runs.getEntity<Record<string, unknown>>(runId, rowKey(stepId));
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }
}
