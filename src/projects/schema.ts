/**
 * Projects and shared concurrency pools: declared once for the whole app (docs/projects.md).
 *
 * - A **project** groups pipelines (`project: 'finance'` on a pipeline; `default` when none is
 *   named). It scopes what its pipelines may use and who may see them: the secrets (names, a name
 *   prefix, or its own Key Vault), the app roles or groups that read or operate it, and the alerts
 *   every run of its pipelines sends.
 * - A **pool** is a number of slots shared by every pipeline that names it: steps (`scope: 'step'`,
 *   "at most 2 COPY INTO on LOAD_WH") or whole runs (`scope: 'run'`, "one finance run at a time").
 *   One scope per pool is part of what rules out a deadlock (src/engine/pools.ts, docs/projects.md).
 */
import { z } from 'zod';
import { alertSchema, secretNameSchema, settingRefSchema } from '../pipelines/schema';
import { isPrototypeMember, reservedNameMessage } from '../pipelines/names';
import { durationSchema } from '../pipelines/durationSchema';

export const DEFAULT_PROJECT = 'default';

const slug = (what: string) =>
  z
    .string()
    .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, `${what} names are slugs: lower-case letters, digits and single hyphens`)
    .max(40, `${what} names are at most 40 characters`)
    .refine((name) => !isPrototypeMember(name), { error: (issue) => reservedNameMessage(what, String(issue.input)) });

export const projectNameSchema = slug('project');
export const poolNameSchema = slug('pool');

/** A Key Vault of the project's own: its URL, or the app setting holding it. */
const keyVaultSchema = z.union([z.url({ protocol: /^https$/, error: 'a Key Vault URL is https://<vault>.vault.azure.net/' }), settingRefSchema]);

export const projectSecretsSchema = z
  .object({
    /** Secrets the project's pipelines may use, by name. */
    names: z.array(secretNameSchema).default([]),
    /** …and every secret whose name starts with this (`finance-`). */
    prefix: z
      .string()
      .regex(/^[0-9A-Za-z-]{1,100}$/, 'a secret name prefix holds 0-9, a-z, A-Z and -')
      .optional(),
    /**
     * The project's own vault: its pipelines' secrets are read from there, never from the app's.
     * Read with the app's identity, which needs Key Vault Secrets User on it (docs/projects.md).
     */
    keyVault: keyVaultSchema.optional(),
  })
  .strict();

/** Who may see or steer the project: app role values or Entra group object ids, matched against the sign-in's `roles` and `groups` claims. */
export const projectRolesSchema = z
  .object({
    read: z.array(z.string().min(1).max(120)).optional(),
    operate: z.array(z.string().min(1).max(120)).optional(),
  })
  .strict();

export const projectSchema = z
  .object({
    title: z.string().min(1).optional(),
    description: z.string().default(''),
    /** Absent: the project's pipelines may use any secret no other project claims. */
    secrets: projectSecretsSchema.optional(),
    /** Default: `Pipelines.Read.<project>` and `Pipelines.Operate.<project>`. */
    roles: projectRolesSchema.default({}),
    /** Sent for every run of the project's pipelines, besides each pipeline's own alerts. */
    alerts: z.array(alertSchema).default([]),
  })
  .strict();

export const poolSchema = z
  .object({
    /** Holders at once, across every pipeline and project. */
    slots: z.number().int().min(1).max(1000),
    /** What holds a slot: one step attempt (`step`) or a whole run (`run`). */
    scope: z.enum(['step', 'run']),
    /**
     * How long a holder keeps its slot before the app checks that its orchestration still runs
     * (renewed if so, given back if not): how soon a crashed holder's slot returns.
     */
    lease: durationSchema.default(600),
    description: z.string().default(''),
  })
  .strict();

export const projectSetupSchema = z
  .object({
    projects: z.record(projectNameSchema, projectSchema).default({}),
    pools: z.record(poolNameSchema, poolSchema).default({}),
  })
  .strict();

export type ProjectSetupInput = z.input<typeof projectSetupSchema>;
export type ProjectSetup = z.output<typeof projectSetupSchema>;

export type ProjectDefinition = z.output<typeof projectSchema> & { readonly name: string };
export type PoolDefinition = z.output<typeof poolSchema> & { readonly name: string };

/** Read and operate role values (or group ids) of a project, defaults filled. */
export function projectRoles(project: ProjectDefinition): { readonly read: readonly string[]; readonly operate: readonly string[] } {
  return {
    read: project.roles.read ?? [`Pipelines.Read.${project.name}`],
    operate: project.roles.operate ?? [`Pipelines.Operate.${project.name}`],
  };
}

/** The project every pipeline without `project` belongs to: unscoped, default roles, no alerts of its own. */
export function defaultProject(): ProjectDefinition {
  return { name: DEFAULT_PROJECT, description: '', roles: {}, alerts: [] };
}

/** Declares the app's projects and pools with type checking in the editor; validated when the catalog loads. */
export function defineProjects<const T extends ProjectSetupInput>(input: T): T {
  return input;
}
