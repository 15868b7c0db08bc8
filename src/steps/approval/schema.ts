/**
 * `kind: 'approval'`: a step that waits for a person with the Operate role to approve or reject,
 * from the console, the CLI (`durable-pipelines approve|reject <run> <step>`) or the API. Approved,
 * the step succeeds and the run goes on; rejected, it fails permanently with who rejected it and
 * why; nobody deciding within `timeout` fails it with a timeout. Prefect's `pause_flow_run`, an
 * Airflow task held for sign-off, ADF's approval through a Logic App.
 */
import { z } from 'zod';
import { durationSchema } from '../../pipelines/durationSchema';
import { stepBase } from '../../pipelines/fields';

export const approvalStepSchema = z
  .object({
    ...stepBase,
    kind: z.literal('approval'),
    /** What the approver is asked; may hold run values (`Load {param.day} into production?`). */
    message: z.string().min(1).max(500).default('Approve to let the run continue'),
    /** Only these people (their sign-in names) may decide; absent, anyone with the Operate role. */
    approvers: z.array(z.string().min(1).max(256)).min(1).optional(),
    /** How long to wait for a decision; then the step fails with a timeout. Default seven days. */
    timeout: durationSchema.default(7 * 86_400),
    /**
     * How often the waiting step reads whether a decision was recorded: a decision takes effect
     * within this long. Between reads a durable timer waits, nothing runs.
     */
    pollInterval: durationSchema.default(60),
  })
  .strict();

export type ApprovalStep = z.output<typeof approvalStepSchema>;
