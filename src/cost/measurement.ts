/**
 * What one run of a pipeline costs in counted operations, measured from a development-host run
 * with the stand-ins (test/support/measureRun.ts, refreshed by `npm run bench -- runStore`). The
 * seed's measurement is committed next to this file; a test re-measures and fails when it is stale.
 */
import { z } from 'zod';
import measuredSeed from './seed-run.measured.json';

export const runMeasurementSchema = z
  .object({
    pipeline: z.string().min(1),
    steps: z.number().int().min(1),
    /** Table Storage requests for one run (reads, writes, transactions; retries included). */
    tableOperations: z.number().int().min(0),
    tableOperationsByTable: z.record(z.string(), z.number().int().min(0)),
    keyVaultReads: z.number().int().min(0),
    /** Activity function executions (TaskScheduled events). */
    activityExecutions: z.number().int().min(0),
    /** Orchestrator function executions: every replay is one. */
    orchestratorExecutions: z.number().int().min(0),
    durableTimers: z.number().int().min(0),
    historyEvents: z.number().int().min(0),
    /** Orchestration instances (the run and its sub-orchestrations). */
    instances: z.number().int().min(1),
  })
  .strict();

export type RunMeasurement = z.infer<typeof runMeasurementSchema>;

/** The committed measurement of one seed run. */
export function seedRunMeasurement(): RunMeasurement {
  return runMeasurementSchema.parse(measuredSeed);
}
