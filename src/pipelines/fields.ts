/**
 * Leaf schemas every construct of a definition shares — names, secret and setting references, the
 * fields every step has — kept apart from `schema.ts` so a construct defined in its own module (a
 * step kind, a trigger) builds on them without importing the whole pipeline schema.
 */
import { z } from 'zod';
import { conditionsSchema, whenSchema } from './conditions';
import { durationSchema } from './durationSchema';
import { forEachSchema } from './forEach';
import { isPrototypeMember, reservedNameMessage } from './names';
import { NO_RETRY, retryPolicySchema } from './retryPolicy';

export const slug = z
  .string()
  .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'must be a slug: lower-case letters, digits and single hyphens');

/** A name that must not be a member of Object.prototype (see names.ts). */
export const notReserved = <T extends z.ZodString>(schema: T, what: string) =>
  schema.refine((name) => !isPrototypeMember(name), { error: (issue) => reservedNameMessage(what, String(issue.input)) });

export const stepId = notReserved(
  z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,62}$/, 'must start with a letter and hold only letters, digits, _ and - (≤ 63)'),
  'step id',
);

/** Key Vault accepts 1–127 characters of 0-9, a-z, A-Z and `-`. */
export const secretNameSchema = z
  .string()
  .regex(/^[0-9A-Za-z-]{1,127}$/, 'Key Vault secret names are 1–127 characters of 0-9, a-z, A-Z and -');

/** A pointer to a secret: the value is resolved inside the activity, never carried by the run. */
export const secretRefSchema = z.object({ secret: secretNameSchema }).strict();
export type SecretRef = z.infer<typeof secretRefSchema>;

/** A non-secret app setting read by the activity (e.g. a resource id set by infra). */
export const settingRefSchema = z
  .object({ setting: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'app setting names are letters, digits and _') })
  .strict();
export type SettingRef = z.infer<typeof settingRefSchema>;

/** A value written in the definition, or read from a secret or an app setting at run time. */
export const configValueSchema = z.union([z.string().min(1), secretRefSchema, settingRefSchema]);
export type ConfigValue = z.infer<typeof configValueSchema>;

/** The fields every step has, whatever its kind. */
export const stepBase = {
  id: stepId,
  title: z.string().optional(),
  dependsOn: z.array(z.string()).default([]),
  retry: retryPolicySchema.default(NO_RETRY),
  /** Wall time allowed for one attempt, polling included. */
  timeout: durationSchema.optional(),
  /** How often a long-running step is polled; a service's longer wait hint (Retry-After) wins. */
  pollInterval: durationSchema.default(30),
  /** A concurrency group declared in the pipeline's `concurrencyGroups` (e.g. one warehouse). */
  group: z.string().optional(),
  /** What each dependency waits for when not `succeeded` (docs/pipelines.md; conditions.ts). */
  conditions: conditionsSchema.optional(),
  /** Skip the step when this expression is false (docs/pipelines.md; when.ts). */
  when: whenSchema.optional(),
  /** Run the step once per item of a list (docs/pipelines.md; forEach.ts). */
  forEach: forEachSchema.optional(),
  /** Shared pools (scope `step`) each attempt holds a slot of while it runs, across every pipeline (src/projects). */
  pools: z.array(z.string()).default([]),
};
