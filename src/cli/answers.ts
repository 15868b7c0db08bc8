/**
 * The shapes the CLI reads from the API, checked before use: a server that is not the API (or an
 * older one, or a hostile one) gets a clear "unexpected answer" instead of a crash or a line that
 * claims something happened ("cancelling " with no run). Objects are loose: fields the CLI does not
 * read may come and go.
 */
import { z } from 'zod';

const text = z.string();
const nullableText = z.string().nullable();

const attempt = z.looseObject({ attempt: z.number(), status: text });
const step = z.looseObject({ id: text, status: text, attempts: z.array(attempt) });

export const runViewAnswer = z.looseObject({ runId: text, pipeline: text, status: text, steps: z.array(step) });
export const runPageAnswer = z.looseObject({
  runs: z.array(z.looseObject({ runId: text, pipeline: text, status: text })),
  nextCursor: nullableText.optional(),
});
export const logPageAnswer = z.looseObject({
  lines: z.array(z.looseObject({ time: text, level: text, msg: text, cursor: text })),
  nextCursor: nullableText.optional(),
});
export const pipelinesAnswer = z.looseObject({
  pipelines: z.array(
    z.looseObject({
      name: text,
      steps: z.array(z.looseObject({ id: text, dependsOn: z.array(text) })),
      schedules: z.array(z.looseObject({ name: text })),
      parameters: z.record(z.string(), z.looseObject({ type: text })),
    }),
  ),
});
export const startAnswer = z.looseObject({ runId: text, created: z.boolean() });
export const cancelAnswer = z.looseObject({ runId: text, status: text });
export const rerunAnswer = z.looseObject({ runId: text, rerunSteps: z.array(text), reusedSteps: z.array(text) });
export const pausedAnswer = z.looseObject({ paused: z.boolean() });
export const slotsAnswer = z.looseObject({
  timezone: text,
  lateAfterSeconds: z.number(),
  slots: z.array(z.looseObject({ slot: text, outcome: text })),
});
