/**
 * One zod schema per activity input. Activities run at least once and their input crosses a
 * storage queue, so it is parsed on entry; an input that does not parse is a bug or a tampered
 * message, and retrying cannot fix it (PermanentError). Inputs carry ids, never definitions:
 * `strict()` refuses a `step`, `alerts` or `title` smuggled in (deployedStep.ts says why).
 */
import { z } from 'zod';

const jsonObject = z.record(z.string(), z.json());

// Loose on purpose: a field added to RunTrigger later must not fail every step of running runs.
export const triggerSchema = z.looseObject({
  kind: z.enum(['manual', 'schedule', 'rerun', 'api', 'backfill', 'pipeline', 'event']),
  origin: z.string().optional(),
  scheduledFor: z.string().optional(),
  requestedAt: z.string().optional(),
});

export const stepActivityInputSchema = z
  .object({
    runId: z.string().min(1),
    pipeline: z.string().min(1),
    definitionVersion: z.string().min(1),
    stepId: z.string().min(1),
    attempt: z.number().int().min(1),
    parameters: jsonObject,
    trigger: triggerSchema,
    upstream: jsonObject.optional(),
    item: z.json().optional(),
  })
  .strict();

export const pollActivityInputSchema = stepActivityInputSchema
  .extend({ handle: jsonObject, elapsedSeconds: z.number().min(0) })
  .strict();

export const cancelActivityInputSchema = stepActivityInputSchema
  .extend({ handle: jsonObject, reason: z.enum(['cancelled', 'timeout', 'runTimedOut']) })
  .strict();

const failureSchema = z.object({
  class: z.enum(['transient', 'permanent', 'timeout', 'cancelled']),
  message: z.string(),
  retryAfterSeconds: z.number().optional(),
  code: z.string().optional(),
});

const metricsSchema = z.record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.null()]));

const attemptSchema = z.object({
  attempt: z.number().int().min(1),
  startedAt: z.string(),
  endedAt: z.string().optional(),
  durationSeconds: z.number().optional(),
  status: z.enum(['running', 'succeeded', 'failed', 'cancelled']),
  error: failureSchema.optional(),
});

const stepStateSchema = z.object({
  id: z.string(),
  status: z.enum(['pending', 'running', 'waiting', 'succeeded', 'failed', 'skipped', 'cancelled', 'reused']),
  attempts: z.array(attemptSchema),
  output: z.json().optional(),
  metrics: metricsSchema.optional(),
  error: failureSchema.optional(),
  nextAt: z.string().optional(),
});

export const runStateSchema = z.object({
  runId: z.string().min(1),
  pipeline: z.string().min(1),
  status: z.enum(['pending', 'running', 'succeeded', 'failed', 'cancelled']),
  pipelineAttempt: z.number().int().min(1),
  startedAt: z.string(),
  endedAt: z.string().optional(),
  durationSeconds: z.number().optional(),
  steps: z.array(stepStateSchema),
  error: failureSchema.extend({ stepId: z.string().optional() }).optional(),
});

export const finishRunInputSchema = z
  .object({
    run: runStateSchema,
    trigger: triggerSchema,
    parameters: jsonObject,
  })
  .strict();
