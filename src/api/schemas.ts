/** One schema per API input: bodies and query strings. The OpenAPI document is built from them. */
import { z } from 'zod';
import { namedRecord } from '../pipelines/names';
import { tagSchema } from '../pipelines/schema';
import { projectNameSchema } from '../projects/schema';

/** Filters that may be given more than once (`?project=a&project=b`, `?tag=x&tag=y`). */
export const REPEATABLE_FILTERS = ['project', 'tag'] as const;

/** Runs or pipelines of any of these projects. */
export const projectsFilter = z.array(projectNameSchema).max(20).optional();
/** Runs or pipelines carrying every one of these tags. */
export const tagsFilter = z.array(tagSchema).max(10).optional();

export const startRunBody = z
  .object({
    // Parameter names are checked as the body's own keys: zod would drop `__proto__` silently.
    parameters: namedRecord(z.json(), 'parameter').optional(),
    idempotencyKey: z.string().min(1).max(200).optional(),
    /** Added to the tags the run inherits from its pipeline. */
    tags: z.array(tagSchema).max(20).optional(),
  })
  .strict();

export const listPipelinesQuery = z.object({ project: projectsFilter, tag: tagsFilter }).strict();

export const rerunBody = z
  .object({
    from: z.string().min(1).default('failed'),
    idempotencyKey: z.string().min(1).max(200).optional(),
  })
  .strict();

export const RUN_STATUSES = ['pending', 'running', 'succeeded', 'failed', 'cancelled'] as const;

export const listRunsQuery = z
  .object({
    pipeline: z.string().min(1).optional(),
    project: projectsFilter,
    tag: tagsFilter,
    status: z.enum(RUN_STATUSES).optional(),
    since: z.iso.datetime({ offset: true }).optional(),
    until: z.iso.datetime({ offset: true }).optional(),
    limit: z
      .string()
      .regex(/^\d+$/, 'expected a whole number')
      .transform(Number)
      .pipe(z.number().int().min(1).max(100))
      .default(20),
    cursor: z.string().min(1).optional(),
  })
  .strict();

export const logsQuery = z
  .object({
    after: z.string().min(1).optional(),
    limit: z.string().regex(/^\d+$/, 'expected a whole number').transform(Number).pipe(z.number().int().min(1).max(1000)).default(200),
  })
  .strict();

/**
 * `GET runs/{runId}`: a forEach step's items (up to 10,000 a step) only when asked for —
 * `counts` (default) gives each forEach step its counts by status, `all` every item with its
 * attempts. So the answer a view polls stays the size of the definition.
 */
export const runViewQuery = z.object({ items: z.enum(['counts', 'all']).default('counts') }).strict();

/** `GET …/schedules/{schedule}/slots`: the newest `limit` slots of the ledger, optionally in a time range. */
export const slotsQuery = z
  .object({
    since: z.iso.datetime({ offset: true }).optional(),
    until: z.iso.datetime({ offset: true }).optional(),
    limit: z.string().regex(/^\d+$/, 'expected a whole number').transform(Number).pipe(z.number().int().min(1).max(1000)).default(50),
  })
  .strict();

export const emptyBody = z.object({}).strict();

