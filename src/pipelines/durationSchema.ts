/** The schema of a duration field: `'90s'`, `'5m'`, `'2h'` or a number of seconds; parsed to seconds. */
import { z } from 'zod';
import { parseDuration } from './duration';

export const durationSchema = z
  .union([z.number(), z.string()])
  .transform((value, ctx) => {
    const seconds = parseDuration(value);
    if (seconds === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `not a duration: ${JSON.stringify(value)} (use seconds or '90s', '5m', '2h', '1d')`,
      });
      return z.NEVER;
    }
    return seconds;
  });
