/**
 * A pipeline's event triggers: runs started by something happening rather than by the clock.
 *
 * - `blobCreated`: a blob landed in a storage container (Event Grid's `Microsoft.Storage.BlobCreated`,
 *   delivered to the app: docs/triggers.md). The blob's path is matched against `path`; its
 *   placeholders become parameters (`exports/{day}/done.json` → `day`).
 * - `pipelineSucceeded`: a run of another pipeline of this app succeeded. The downstream run takes
 *   the upstream's logical date, and parameters from its parameters and its steps' outputs.
 *
 * Each is checked where it stands (here) and against the rest of the catalog (catalogChecks.ts:
 * the upstream exists and has the steps named, no chain of triggers loops).
 */
import { z } from 'zod';
import { notReserved, slug } from '../pipelines/fields';
import { outputRefSchema } from '../pipelines/outputRef';
import { patternProblems } from './pathPattern';

/** Azure Storage container names: 3-63 lower-case letters, digits and single hyphens, or `$root`/`$web`. */
export const CONTAINER_NAME = /^(?:\$root|\$web|[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62})$/;

const containerSchema = z.string().refine((name) => CONTAINER_NAME.test(name), {
  error: (issue) => `${JSON.stringify(issue.input)} is not a container name (3-63 lower-case letters, digits and single hyphens): no event can come from it`,
});

const pathPatternSchema = z.string().superRefine((pattern, ctx) => {
  for (const message of patternProblems(pattern)) ctx.addIssue({ code: 'custom', message });
});

/** What of the blob a parameter can take besides a placeholder's text. */
export const BLOB_FACTS = ['url', 'path', 'container', 'eTag', 'contentLength', 'eventTime'] as const;

const literal = z.union([z.string(), z.number(), z.boolean()]);

export const blobTriggerSchema = z
  .object({
    /** The container the blob lands in. */
    container: containerSchema,
    /** The blob's path inside the container, with `{param}` placeholders, `*` and `**`. */
    path: pathPatternSchema,
    /** The storage account's name, when events come from several accounts. */
    account: z.string().regex(/^[a-z0-9]{3,24}$/, 'storage account names are 3-24 lower-case letters and digits').optional(),
  })
  .strict();

/** Where a downstream parameter's value comes from. */
const upstreamValueSchema = z.union([
  literal,
  /** The upstream run's own facts. */
  z.object({ upstream: z.enum(['runId', 'logicalDate', 'scheduledFor', 'pipeline']) }).strict(),
  /** One of the upstream run's parameters. */
  z.object({ upstreamParam: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'parameter names are identifiers') }).strict(),
  /** A value from one of the upstream run's step outputs (`{ output: { step: 'load', path: '$.rowsLoaded' } }`). */
  outputRefSchema,
]);

export const pipelineTriggerSchema = z
  .object({
    /** The upstream pipeline, in this app. */
    pipeline: slug,
    /** Downstream parameters from the upstream run: its facts, its parameters, its steps' outputs. */
    parameters: z.record(z.string(), upstreamValueSchema).default({}),
  })
  .strict();

const blobValueSchema = z.union([literal, z.object({ blob: z.enum(BLOB_FACTS) }).strict()]);

export const triggerSchema = z
  .object({
    name: notReserved(slug, 'trigger name'),
    enabled: z.boolean().default(true),
    blobCreated: blobTriggerSchema.optional(),
    pipelineSucceeded: pipelineTriggerSchema.optional(),
    /**
     * Parameters set by the trigger, layered over the pipeline's defaults (and, for a blob, under
     * the values its placeholders give): literals, or the blob's facts (`{ blob: 'url' }`).
     */
    parameters: z.record(z.string(), blobValueSchema).default({}),
  })
  .strict()
  .superRefine((trigger, ctx) => {
    const kinds = [trigger.blobCreated, trigger.pipelineSucceeded].filter((k) => k !== undefined).length;
    if (kinds !== 1) ctx.addIssue({ code: 'custom', message: 'a trigger says what starts it: blobCreated: { container, path } or pipelineSucceeded: { pipeline } (exactly one)' });
    if (trigger.pipelineSucceeded) {
      for (const [name, value] of Object.entries(trigger.parameters)) {
        if (typeof value === 'object') ctx.addIssue({ code: 'custom', path: ['parameters', name], message: "{ blob: … } values come with blobCreated triggers; here use pipelineSucceeded.parameters ({ upstream: 'logicalDate' }, { output: { step, path } })" });
      }
    }
  });

export type TriggerDefinition = z.output<typeof triggerSchema>;
export type BlobTriggerDefinition = z.output<typeof blobTriggerSchema>;
export type PipelineTriggerDefinition = z.output<typeof pipelineTriggerSchema>;
