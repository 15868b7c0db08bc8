/**
 * `kind: 'waitFor'`: a step that waits until a condition holds — a blob exists, or an HTTP endpoint
 * answers a status (and, optionally, a JSON value) — checking with growing intervals on durable
 * timers (nothing runs between checks), and fails with a timeout when the condition never held.
 * Airflow's sensors in `mode='reschedule'`, ADF's Until/Validation activities.
 */
import { z } from 'zod';
import { durationSchema } from '../../pipelines/durationSchema';
import { configValueSchema, stepBase } from '../../pipelines/fields';
import { jsonPathSchema } from '../../pipelines/outputRef';

const backoffSchema = z
  .object({
    initial: durationSchema,
    factor: z.number().min(1).max(10).default(2),
    max: durationSchema.optional(),
  })
  .strict();

export const blobConditionSchema = z
  .object({
    /** The container's URL, e.g. https://exportsacct.blob.core.windows.net/exports, or a setting holding it. */
    container: configValueSchema,
    /** The blob's path in the container; may hold run values (`daily/{param.day}/done.json`). */
    path: z
      .string()
      .min(1)
      .max(1024)
      .refine((p) => !p.startsWith('/'), "a blob path inside the container: no leading '/'"),
  })
  .strict();

export const httpConditionSchema = z
  .object({
    url: configValueSchema,
    /** Header values may be secrets (`{ secret: 'status-api-key' }`), resolved in the activity. */
    headers: z.record(z.string().regex(/^[A-Za-z0-9-]+$/, 'header names are letters, digits and -'), configValueSchema).default({}),
    /** Met when the status is one of these and, with `json`, the answer's value at `json.path` equals `json.equals`. */
    until: z
      .object({
        status: z.array(z.number().int().min(100).max(599)).min(1).default([200]),
        json: z.object({ path: jsonPathSchema, equals: z.json() }).strict().optional(),
      })
      .strict()
      .default({ status: [200] }),
  })
  .strict();

export const DEFAULT_CHECK_EVERY = { initial: 60, factor: 2, max: 900 } as const;

export const waitForStepSchema = z
  .object({
    ...stepBase,
    kind: z.literal('waitFor'),
    blob: blobConditionSchema.optional(),
    http: httpConditionSchema.optional(),
    /** Time between checks: a duration, or growing: `{ initial: '1m', factor: 2, max: '15m' }` (the default). */
    checkEvery: z.union([durationSchema, backoffSchema]).default(DEFAULT_CHECK_EVERY),
    /** How long to wait in all; then the step fails with a timeout. Default one day. */
    timeout: durationSchema.default(86_400),
  })
  .strict()
  .superRefine((step, ctx) => {
    if ((step.blob === undefined) === (step.http === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'a waitFor step waits for one thing: blob: { container, path } or http: { url, until } (exactly one)' });
    }
  });

export type WaitForStep = z.output<typeof waitForStepSchema>;
