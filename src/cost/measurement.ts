/**
 * What one run of a pipeline costs in counted operations, measured from a development-host run
 * with the stand-ins (test/support/measureRun.ts, refreshed by `npm run bench -- runStore`), once
 * with every long job done at its first poll and once with MEASURED_POLLS[1] polls each. The
 * difference is what one more poll of each long job adds, so the estimate prices any N (polls per
 * long job) from two real runs. A test re-measures both and fails when the file is stale.
 */
import { z } from 'zod';
import measuredSeed from './seed-run.measured.json';

/** The polls per long job the two committed runs were measured with. */
export const MEASURED_POLLS = [1, 10] as const;

const count = z.number().int().min(0);

export const runCountsSchema = z
  .object({
    /** Polls each long job took (the stand-ins answered Running until then). */
    pollsPerJob: z.number().int().min(1),
    /** `pollStep` activities per step id: what the run really polled. */
    pollsByStep: z.record(z.string(), count),
    /** Run-store Table Storage requests (reads, writes, transactions; retries included). */
    tableOperations: count,
    tableOperationsByTable: z.record(z.string(), count),
    /** Key Vault reads of the run on one warm instance (the app's 300 s secret cache). */
    keyVaultReads: count,
    /**
     * Key Vault reads when a burst of work 30 s or more after the last lands on a new instance
     * (secrets cached only as long as an idle Flex instance lives): each poll of a step re-reads
     * that step's secrets.
     */
    keyVaultReadsColdPolls: count,
    /** Activity function executions (TaskScheduled events): one work-item queue message each. */
    activityExecutions: count,
    /** Orchestrator episodes (OrchestratorStarted events): one control-queue work item each. */
    orchestratorExecutions: count,
    timersCreated: count,
    timersFired: count,
    /** Timers still pending when their execution ended: they fire later all the same. */
    timersPendingAtEnd: count,
    /** Messages the orchestrations consumed from control queues (starts, answers, timers, events). */
    controlQueueMessages: count,
    workItemMessages: count,
    historyEvents: count,
    /** Orchestration instances (the run and its sub-orchestrations). */
    instances: count,
    /** Executions (an instance continued as new has several). */
    executions: count,
    /** Virtual seconds from the start request to the last history event. */
    runSeconds: z.number().min(0),
    /** Virtual seconds (from the start) at which something happened: an instance is busy then. */
    workInstants: z.array(z.number().min(0)),
    /** Virtual seconds at which the timers pending at the end fire (each wakes the app). */
    pendingTimerOffsets: z.array(z.number().min(0)),
    /** Log lines the app sent through InvocationContext that host.json's levels keep. */
    appLogLines: count,
    appLogBytes: count,
  })
  .strict();

export const runMeasurementSchema = z
  .object({
    pipeline: z.string().min(1),
    steps: z.number().int().min(1),
    /** The steps that start a job and poll it. */
    longJobs: z.array(z.string()),
    /** One run per MEASURED_POLLS entry, in that order. */
    runs: z.array(runCountsSchema).length(MEASURED_POLLS.length),
  })
  .strict();

export type RunCounts = z.infer<typeof runCountsSchema>;
export type RunMeasurement = z.infer<typeof runMeasurementSchema>;

/** The committed measurement of the seed. */
export function seedRunMeasurement(): RunMeasurement {
  return runMeasurementSchema.parse(measuredSeed);
}

/** Counts that grow by the same amount with each poll of each long job. */
export const PER_POLL_FIELDS = [
  'tableOperations',
  'keyVaultReads',
  'keyVaultReadsColdPolls',
  'activityExecutions',
  'orchestratorExecutions',
  'timersCreated',
  'timersFired',
  'timersPendingAtEnd',
  'controlQueueMessages',
  'workItemMessages',
  'historyEvents',
  'executions',
  'appLogLines',
  'appLogBytes',
] as const satisfies readonly (keyof RunCounts)[];
export type PerRunField = (typeof PER_POLL_FIELDS)[number];

/**
 * A run's counts at `polls` per long job: the first measurement plus (polls − 1) × the measured
 * increment. `activePeriods`: the separate instants at which the run does work (workInstants), each
 * a burst an instance spends executing.
 */
export function countsAtPolls(m: RunMeasurement, polls: number): Record<PerRunField, number> & { runSeconds: number; activePeriods: number } {
  const [one, many] = m.runs as [RunCounts, RunCounts];
  const span = many.pollsPerJob - one.pollsPerJob;
  const at = (a: number, b: number): number => a + ((b - a) / span) * (polls - one.pollsPerJob);
  const out = Object.fromEntries(PER_POLL_FIELDS.map((f) => [f, at(one[f], many[f])])) as Record<PerRunField, number>;
  return { ...out, runSeconds: at(one.runSeconds, many.runSeconds), activePeriods: at(one.workInstants.length, many.workInstants.length) };
}
