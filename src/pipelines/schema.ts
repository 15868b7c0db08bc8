/**
 * The one schema of a pipeline definition. Leaf rules (cron, time zone, secret names, Snowflake
 * identifiers, durations) live on their fields so zod reports each where it stands; rules that
 * need the whole step graph live in `graph.ts` and run even when a field is wrong, so a user sees
 * every problem at once.
 */
import { z } from 'zod';
import { cronProblems } from './cron';
import { durationSchema } from './durationSchema';
import { valueRefSchema } from './runValues';
import { configValueSchema, notReserved, secretRefSchema, settingRefSchema, slug, stepBase } from './fields';
import { waitForStepSchema } from '../steps/waitFor/schema';
import { approvalStepSchema } from '../steps/approval/schema';
import { pipelineStepSchema } from '../steps/pipeline/schema';
import { triggerSchema } from '../triggers/schema';
import { checkIdentifier, literalTextProblem } from './snowflakeIdentifier';
import { outputTypeSchema } from './stepOutputs';
import { MAX_ITEMS } from './items';

// ── Leaves ────────────────────────────────────────────────────────────────────────────────────────

export { durationSchema } from './durationSchema';

export { secretNameSchema, secretRefSchema, settingRefSchema, configValueSchema, type SecretRef, type SettingRef, type ConfigValue } from './fields';

/** True when `name` passes the one identifier rule (snowflakeIdentifier.ts) in at most `maxParts` parts. */
export function isSnowflakeIdentifier(name: string, maxParts = 3): boolean {
  return checkIdentifier(name, maxParts).ok;
}

const identifier = (maxParts: number, what: string) =>
  z.string().superRefine((value, ctx) => {
    const check = checkIdentifier(value, maxParts);
    if (!check.ok) {
      ctx.addIssue({
        code: 'custom',
        message: `not a valid Snowflake ${what} identifier: ${check.problem} (letters, digits, _ and $, starting with a letter or _, or a "quoted" name; at most ${maxParts} dot-separated parts)`,
      });
    }
  });

/** Text that becomes a SQL string literal: the builder's rule, checked when the definition loads. */
const literalText = z.string().superRefine((value, ctx) => {
  const problem = literalTextProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: `not usable in SQL: ${problem}` });
});

/** An identifier written in the definition, or one read from a secret/setting (checked at run time). */
const identifierValue = (maxParts: number, what: string) =>
  z.union([identifier(maxParts, what), secretRefSchema, settingRefSchema]);

// Quote the value: "unknown IANA time zone" alone leaves the user to find which string is wrong.
const timeZoneSchema = z.string().refine(isTimeZone, { error: (issue) => `unknown IANA time zone ${JSON.stringify(issue.input)} (names like "Europe/Paris" or "UTC")` });

export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const jsonSchema: z.ZodType<unknown> = z.json();

/**
 * A tag: what runs are filtered by (`runs ls --tag production`). Tags are parts of the run index's
 * keys (docs/run-store.md; encoded there), so they are short and printable: 1–63 characters, no
 * control characters, no leading or trailing space.
 */
export const tagSchema = z
  .string()
  .min(1, 'a tag is not empty')
  .max(63, 'tags are at most 63 characters')
  // eslint-disable-next-line no-control-regex
  .regex(/^(?!\s)[^\u0000-\u001f\u007f]*(?<!\s)$/u, 'tags hold no control characters and no leading or trailing space');

// ── Retry and timeouts ────────────────────────────────────────────────────────────────────────────

export { retryPolicySchema, type RetryPolicy } from './retryPolicy';

export const pipelineRetrySchema = z
  .object({
    /** Extra runs of the steps that did not succeed (Prefect's flow `retries`). */
    retries: z.number().int().min(0).max(10),
    delay: durationSchema.default(0),
    /**
     * Retry a run whose every failed step failed permanently (rejected credentials, a missing
     * secret, SQL that does not compile)? Off: such a run fails at once, since a retry fails alike.
     */
    retryPermanent: z.boolean().default(false),
  })
  .strict();

// ── Steps ─────────────────────────────────────────────────────────────────────────────────────────

const httpMethod = z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);

export const azureFunctionStepSchema = z
  .object({
    ...stepBase,
    kind: z.literal('azureFunction'),
    url: configValueSchema,
    /** Sent as `x-functions-key`. */
    functionKey: secretRefSchema.optional(),
    method: httpMethod.default('POST'),
    body: jsonSchema.optional(),
    headers: z.record(z.string(), z.string()).default({}),
    requestTimeout: durationSchema.default(230),
    /**
     * The function honours the `Idempotency-Key` header the step sends (src/steps/azureFunction/
     * README.md: a key whose work runs answers 409, one that succeeded answers its stored response).
     * Then an answer lost to Azure's 230-second HTTP limit is recovered by sending the same request
     * again; without it, such a step fails rather than call the function a second time.
     */
    honoursIdempotencyKey: z.boolean().default(false),
    /** The shape of the function's JSON answer, for later steps' references (stepOutputs.ts). */
    output: outputTypeSchema.optional(),
  })
  .strict();

const snowflakeAuthSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('keyPair'), privateKey: secretRefSchema, passphrase: secretRefSchema.optional() }).strict(),
  z.object({ type: z.literal('oauth'), token: secretRefSchema }).strict(),
  z.object({ type: z.literal('workloadIdentity') }).strict(),
  z.object({ type: z.literal('password'), password: secretRefSchema }).strict(),
]);

const snowflakeConnectionSchema = z
  .object({
    account: configValueSchema,
    user: configValueSchema,
    auth: snowflakeAuthSchema,
    role: identifierValue(1, 'role').optional(),
    warehouse: identifierValue(1, 'warehouse'),
    database: identifierValue(1, 'database'),
    schema: identifierValue(1, 'schema'),
  })
  .strict();

const fileFormatSchema = z.union([
  z
    .object({
      type: z.enum(['CSV', 'JSON', 'AVRO', 'ORC', 'PARQUET', 'XML']),
      /** Format options, e.g. `{ SKIP_HEADER: 1 }`; keys are checked, values are bound as literals. */
      options: z.record(z.string().regex(/^[A-Z_]+$/, 'format option names are upper-case words'), z.union([literalText, z.number(), z.boolean()])).default({}),
    })
    .strict(),
  z.object({ name: identifier(3, 'file format') }).strict(),
]);

const onErrorSchema = z.union([
  z.enum(['CONTINUE', 'SKIP_FILE', 'ABORT_STATEMENT']),
  z.string().regex(/^SKIP_FILE_\d+%?$/, "ON_ERROR is CONTINUE, SKIP_FILE, SKIP_FILE_<n>, SKIP_FILE_<n>% or ABORT_STATEMENT"),
]);

export const copyIntoSchema = z
  .object({
    table: identifier(3, 'table'),
    stage: identifier(3, 'stage'),
    /**
     * Path under the stage; letters, digits and `/._-=`, and run values as `{param.day}` or
     * `{run.logicalDate}`. The path with its values filled in is quoted into the SQL (copyInto.ts).
     */
    path: z
      .string()
      .regex(
        /^(?:[A-Za-z0-9/._=-]|\{(?:param|run)\.[A-Za-z_][A-Za-z0-9_]*\}|\{steps\.[A-Za-z][A-Za-z0-9_-]*(?:\.(?:[A-Za-z_][A-Za-z0-9_]*|\d+))+\}|\{item(?:\.[A-Za-z_][A-Za-z0-9_]*)?\})*$/,
        'stage paths hold letters, digits, / . _ - = and {param.name}, {run.name}, {steps.id.path} or {item.field} only',
      )
      .optional(),
    fileFormat: fileFormatSchema,
    pattern: literalText.optional(),
    onError: onErrorSchema.default('ABORT_STATEMENT'),
    purge: z.boolean().default(false),
    matchByColumnName: z.enum(['CASE_SENSITIVE', 'CASE_INSENSITIVE', 'NONE']).optional(),
    force: z.boolean().default(false),
  })
  .strict();
export type CopyIntoSpec = z.output<typeof copyIntoSchema>;

/** A bind variable: a literal, or a run value (`{ param: 'day' }`, `{ run: 'id' }`) sent as a bind. */
const bindValue = z.union([z.string(), z.number(), z.boolean(), z.null(), valueRefSchema]);

export const snowflakeStepSchema = z
  .object({
    ...stepBase,
    kind: z.literal('snowflake'),
    connection: snowflakeConnectionSchema,
    statement: z.union([
      z.object({ copyInto: copyIntoSchema }).strict(),
      z.object({ sql: z.string().min(1), binds: z.array(bindValue).default([]) }).strict(),
    ]),
    /** Fail the step when COPY INTO saw more errors than this, even with ON_ERROR = CONTINUE. */
    maxErrors: z.number().int().min(0).optional(),
  })
  .strict();

const dbtRunnerSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('cloud'),
      accountId: configValueSchema,
      jobId: configValueSchema,
      token: secretRefSchema,
      /** Access URL of the dbt Cloud region, e.g. https://cloud.getdbt.com or https://emea.dbt.com. */
      baseUrl: configValueSchema.default('https://cloud.getdbt.com'),
    })
    .strict(),
  z
    .object({
      type: z.literal('containerAppsJob'),
      /** `/subscriptions/…/resourceGroups/…/providers/Microsoft.App/jobs/<name>`. */
      jobResourceId: configValueSchema,
      /** Blob container URL the job uploads `run_results.json` to. */
      resultsContainerUrl: configValueSchema,
    })
    .strict(),
]);

export const dbtStepSchema = z
  .object({
    ...stepBase,
    kind: z.literal('dbt'),
    runner: dbtRunnerSchema,
    command: z.enum(['run', 'build', 'test', 'seed', 'snapshot', 'source freshness']).default('run'),
    args: z.array(z.string()).default([]),
    /**
     * dbt's `--vars` (read in models with `var('day')`); values may be run values:
     * `{ day: { param: 'day' }, run_id: '{run.id}' }`.
     */
    vars: z.record(z.string().min(1), jsonSchema).optional(),
    /** Fail the step when dbt tests fail (models may still succeed). */
    failOnTestFailure: z.boolean().default(true),
  })
  .strict();

export const activityStepSchema = z
  .object({
    ...stepBase,
    kind: z.literal('activity'),
    /** Name of an activity the app registered with `registerStepActivity`. */
    activity: z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/, 'activity names are letters, digits, _ and -'),
    input: jsonSchema.optional(),
    /** The shape of the activity's result, for later steps' references (stepOutputs.ts). */
    output: outputTypeSchema.optional(),
  })
  .strict();

export const STEP_KINDS = ['azureFunction', 'snowflake', 'dbt', 'activity', 'waitFor', 'approval', 'pipeline'] as const;

export const stepSchema = z.discriminatedUnion('kind', [
  azureFunctionStepSchema,
  snowflakeStepSchema,
  dbtStepSchema,
  activityStepSchema,
  waitForStepSchema,
  approvalStepSchema,
  pipelineStepSchema,
]);
export type StepDefinition = z.output<typeof stepSchema>;
export type StepKind = StepDefinition['kind'];

// ── Parameters, schedules, alerts ─────────────────────────────────────────────────────────────────

const parameterSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('string'), default: z.string().optional(), enum: z.array(z.string()).min(1).optional(), description: z.string().optional() }).strict(),
  z.object({ type: z.literal('number'), default: z.number().optional(), min: z.number().optional(), max: z.number().optional(), description: z.string().optional() }).strict(),
  z.object({ type: z.literal('integer'), default: z.number().int().optional(), min: z.number().int().optional(), max: z.number().int().optional(), description: z.string().optional() }).strict(),
  z.object({ type: z.literal('boolean'), default: z.boolean().optional(), description: z.string().optional() }).strict(),
  /** A JSON list, e.g. the tables a forEach step loads. */
  z.object({ type: z.literal('list'), default: z.array(z.json()).max(MAX_ITEMS).optional(), description: z.string().optional() }).strict(),
  z
    .object({
      type: z.literal('date'),
      /** A date, or `{ run: 'logicalDate' }`: the scheduled slot's UTC date (the request's for a manual run). */
      default: z.union([z.iso.date('expected a calendar date as YYYY-MM-DD'), z.object({ run: z.literal('logicalDate') }).strict()]).optional(),
      description: z.string().optional(),
    })
    .strict(),
]);
export type ParameterSpec = z.output<typeof parameterSchema>;

/** A schedule's fields, before the cron check that needs two of them (owedSlots.ts picks from it). */
export const scheduleFieldsSchema = z
  .object({
    name: notReserved(slug, 'schedule name'),
    /** Five fields, or a macro (`@daily`); six only with `cronSeconds: true` (cron.ts). */
    cron: z.string(),
    /** The cron has six fields and the first is seconds (Azure NCRONTAB's reading). */
    cronSeconds: z.boolean().default(false),
    timezone: timeZoneSchema.default('UTC'),
    enabled: z.boolean().default(true),
    /** Added to the pipeline's tags on the runs this schedule starts. */
    tags: z.array(tagSchema).default([]),
    parameters: z.record(z.string(), z.json()).default({}),
    /** After downtime: start nothing, the latest missed slot, or every missed slot up to `catchUpLimit`. */
    catchUp: z.enum(['none', 'latest', 'all']).default('latest'),
    catchUpLimit: z.number().int().min(1).max(1000).default(24),
    dst: z
      .object({
        /** A local time that does not exist (spring forward): run at the next valid time, or skip. */
        gap: z.enum(['next', 'skip']).default('next'),
        /** A local time that occurs twice (fall back): run at the first occurrence, the second, or both. */
        overlap: z.enum(['first', 'second', 'both']).default('first'),
      })
      .strict()
      .default({ gap: 'next', overlap: 'first' }),
    /** When the previous run of this pipeline still runs: skip the slot, queue it, or run both. */
    overlap: z.enum(['skip', 'queue', 'allow']).default('skip'),
    /** A slot not started this long after its time raises the `late` alert. */
    lateAfter: durationSchema.default(600),
  })
  .strict();

export const scheduleSchema = scheduleFieldsSchema.superRefine((schedule, ctx) => {
  for (const message of cronProblems(schedule.cron, { seconds: schedule.cronSeconds })) ctx.addIssue({ code: 'custom', path: ['cron'], message });
});
export type ScheduleDefinition = z.output<typeof scheduleSchema>;

export const alertSchema = z
  .object({
    on: z.array(z.enum(['failed', 'succeeded', 'late'])).min(1),
    channel: z.enum(['slack', 'teams']),
    webhook: secretRefSchema,
  })
  .strict();
export type AlertDefinition = z.output<typeof alertSchema>;

// ── The pipeline ──────────────────────────────────────────────────────────────────────────────────

export const pipelineSchema = z
  .object({
    name: slug.max(63),
    title: z.string().min(1),
    description: z.string().default(''),
    /** The project the pipeline belongs to (declared in the app's projects, src/projects; `default` when none). */
    project: slug.max(40).default('default'),
    tags: z.array(tagSchema).default([]),
    parameters: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'parameter names are identifiers'), parameterSchema).default({}),
    steps: z.array(stepSchema).min(1),
    pipelineRetry: pipelineRetrySchema.default({ retries: 0, delay: 0, retryPermanent: false }),
    /** Wall time allowed for the whole run, retries included. */
    timeout: durationSchema.optional(),
    schedules: z.array(scheduleSchema).default([]),
    /** Runs started by events: a blob landing, another pipeline's run succeeding (src/triggers/schema.ts). */
    triggers: z.array(triggerSchema).default([]),
    alerts: z.array(alertSchema).default([]),
    /** At most this many steps of one run at once. */
    maxParallel: z.number().int().min(1).optional(),
    /** Shared pools (scope `run`) a whole run holds a slot of, from before its first step to its end. */
    pools: z.array(z.string()).default([]),
    /** Named step groups, each with its own limit (e.g. at most 4 COPY INTO on one warehouse). */
    concurrencyGroups: z.record(notReserved(slug, 'concurrency group'), z.object({ maxParallel: z.number().int().min(1) }).strict()).default({}),
  })
  .strict()
  .superRefine((pipeline, ctx) => {
    for (const [index, step] of pipeline.steps.entries()) {
      if (step.group === undefined || Object.hasOwn(pipeline.concurrencyGroups, step.group)) continue;
      ctx.addIssue({ code: 'custom', path: ['steps', index, 'group'], message: `unknown concurrency group "${step.group}" (declare it in concurrencyGroups)` });
    }
  });

/** What a user writes (durations as text, defaults omitted). */
export type PipelineInput = z.input<typeof pipelineSchema>;
/** What the app runs: every default filled, durations in seconds. Plain JSON. */
export type PipelineDefinition = z.output<typeof pipelineSchema>;
