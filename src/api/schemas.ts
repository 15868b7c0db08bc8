/** One schema per API input: bodies and query strings. The OpenAPI document is built from them. */
import { z } from 'zod';
import { namedRecord } from '../pipelines/names';

export const startRunBody = z
  .object({
    // Parameter names are checked as the body's own keys: zod would drop `__proto__` silently.
    parameters: namedRecord(z.json(), 'parameter').optional(),
    idempotencyKey: z.string().min(1).max(200).optional(),
  })
  .strict();

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

export const emptyBody = z.object({}).strict();


const wholeNumber = (max: number, fallback: number) =>
  z.string().regex(/^\d+$/, 'expected a whole number').transform(Number).pipe(z.number().int().min(1).max(max)).default(fallback);

export const slotsQuery = z
  .object({
    since: z.iso.datetime({ offset: true }).optional(),
    until: z.iso.datetime({ offset: true }).optional(),
    limit: wholeNumber(500, 100),
  })
  .strict();
