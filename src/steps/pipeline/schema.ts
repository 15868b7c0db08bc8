/**
 * `kind: 'pipeline'`: a step that runs another pipeline of the catalog as a run of its own (ADF's
 * Execute Pipeline with "wait on completion", Airflow's TriggerDagRunOperator with
 * `wait_for_completion`, a Prefect subflow) and takes its outcome. The child is a normal run —
 * its own record, attempts, logs — linked both ways (docs/pipelines.md, section 4).
 */
import { z } from 'zod';
import { durationSchema } from '../../pipelines/durationSchema';
import { slug, stepBase } from '../../pipelines/fields';

/** Default `pollInterval` of a pipeline step: its fallback check for a lost wake. */
export const PIPELINE_POLL_INTERVAL_SECONDS = 300;

export const pipelineStepSchema = z
  .object({
    ...stepBase,
    kind: z.literal('pipeline'),
    /** The child pipeline's name in the catalog (same project: checked when the catalog loads). */
    pipeline: slug.max(63),
    /**
     * The child's parameters. Values may be run values like any step's: `{ param: 'day' }`,
     * `{ step: 'load', path: 'metrics.rowsLoaded' }`, `'{run.logicalDate}'`, `{ item: '' }`.
     * Checked at load against the child's declared parameters (names, required, literal types).
     */
    parameters: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'parameter names are identifiers'), z.json()).default({}),
    /**
     * The fallback check only: a child that ends wakes the step at once (wakeParent.ts), so polls
     * only catch a lost wake (rare: the wake failing or landing mid-`continueAsNew`). 5 min bounds
     * that delay at a few minutes, short beside a child run's own length, while a child running
     * 6 h costs 72 polls instead of 720 at the 30 s default of other steps.
     */
    pollInterval: durationSchema.default(PIPELINE_POLL_INTERVAL_SECONDS),
  })
  .strict();

export type PipelineStep = z.output<typeof pipelineStepSchema>;
