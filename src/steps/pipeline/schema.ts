/**
 * `kind: 'pipeline'`: a step that runs another pipeline of the catalog as a run of its own (ADF's
 * Execute Pipeline with "wait on completion", Airflow's TriggerDagRunOperator with
 * `wait_for_completion`, a Prefect subflow) and takes its outcome. The child is a normal run —
 * its own record, attempts, logs — linked both ways (docs/pipelines.md, section 4).
 */
import { z } from 'zod';
import { slug, stepBase } from '../../pipelines/fields';

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
  })
  .strict();

export type PipelineStep = z.output<typeof pipelineStepSchema>;
