/**
 * A step's retry policy. Two ways to count, side by side, because our users come from Prefect:
 * `retries: 3` is Prefect's `@task(retries=3)` — one try plus three retries, four tries in all —
 * and `attempts: 4` says the same as the total. A step gives one or the other; both at once is
 * refused rather than guessed. The app runs on `attempts` (the output always carries it).
 */
import { z } from 'zod';
import { durationSchema } from './durationSchema';

const failureClassSchema = z.enum(['transient', 'timeout']);

const backoffSchema = z
  .object({
    initial: durationSchema,
    factor: z.number().min(1).default(2),
    max: durationSchema.optional(),
  })
  .strict();

export const retryPolicySchema = z
  .object({
    /** Tries in all, the first included (`attempts: 4` = `retries: 3`). */
    attempts: z.number().int().min(1).max(100).optional(),
    /** Retries after the first try, as Prefect counts them (`retries: 3` = 4 tries). */
    retries: z.number().int().min(0).max(99).optional(),
    /** One delay for every retry, a list (the last repeats), or exponential backoff. */
    delays: z.union([durationSchema, z.array(durationSchema).min(1), backoffSchema]).default(0),
    /** Up to this fraction of each delay is added, derived from the run id (replay-safe). */
    jitter: z.number().min(0).max(1).default(0),
    /** Which failure classes are retried; permanent failures never are. */
    retryOn: z.array(failureClassSchema).default(['transient', 'timeout']),
  })
  .strict()
  .superRefine((policy, ctx) => {
    if (policy.attempts !== undefined && policy.retries !== undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `give attempts or retries, not both (attempts: ${policy.attempts} counts the first try; retries: ${policy.retries} does not, as in Prefect: retries: ${policy.retries} = attempts: ${policy.retries + 1})`,
      });
    } else if (policy.attempts === undefined && policy.retries === undefined) {
      ctx.addIssue({ code: 'custom', message: 'say how many times: retries: 3 (as in Prefect: 3 retries after the first try) or attempts: 4 (tries in all)' });
    }
  })
  .transform(({ attempts, retries, ...rest }) => ({ attempts: attempts ?? (retries ?? 0) + 1, ...rest }));

export type RetryPolicy = z.output<typeof retryPolicySchema>;

export const NO_RETRY: RetryPolicy = { attempts: 1, delays: 0, jitter: 0, retryOn: ['transient', 'timeout'] };
