/**
 * The two settings sign-in depends on, read once through one schema.
 *
 * - `WEBSITE_AUTH_ENABLED`: set to `True` by App Service when App Service Authentication ("Easy
 *   Auth") runs in front of the app. Only then are the `x-ms-client-principal*` headers the
 *   platform's: App Service strips them from outside requests while the module runs ("External
 *   requests aren't allowed to set these headers", learn.microsoft.com/azure/app-service/
 *   configure-authentication-user-identities); with it off they pass through untouched, so trusting
 *   them would let anyone claim any role. The name and value are what Microsoft.Identity.Web tests
 *   for (AzureAD/microsoft-identity-web, AppServicesAuth/AppServicesAuthenticationInformation.cs:
 *   `WEBSITE_AUTH_ENABLED` = "True", compared case-insensitively).
 * - `APPLICATIONINSIGHTS_PORTAL_URL`: the Portal page of the app's Application Insights resource,
 *   linked from each run in the console (the app cannot derive it from the connection string).
 * - `READ_ONLY`: `true` turns every change (run, cancel, rerun, pause, resume) off for everyone,
 *   keys included — for a console opened to a wider audience, as in Durable Functions Monitor.
 */
import { z } from 'zod';

const flag = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => v === 'true' || v === 'false' || v === '', { message: 'must be true or false' })
  .transform((v) => v === 'true');

const authSettingsSchema = z.object({
  WEBSITE_AUTH_ENABLED: flag.optional().transform((v) => v ?? false),
  READ_ONLY: flag.optional().transform((v) => v ?? false),
  APPLICATIONINSIGHTS_PORTAL_URL: z.url({ protocol: /^https$/ }).optional(),
});

export interface AuthSettings {
  /** The platform vouches for `x-ms-client-principal`. */
  readonly platformAuth: boolean;
  readonly readOnly: boolean;
  readonly appInsightsUrl?: string;
}

function parseAuthSettings(env: Readonly<Record<string, string | undefined>>) {
  const portal = env['APPLICATIONINSIGHTS_PORTAL_URL'];
  return authSettingsSchema.safeParse({ WEBSITE_AUTH_ENABLED: env['WEBSITE_AUTH_ENABLED'], READ_ONLY: env['READ_ONLY'], APPLICATIONINSIGHTS_PORTAL_URL: portal === '' ? undefined : portal });
}

/** The sign-in settings' problems, as `NAME: what is wrong` (the start-up check lists them with the others). */
export function authSettingsProblems(env: Readonly<Record<string, string | undefined>> = process.env): string[] {
  const parsed = parseAuthSettings(env);
  return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

export function loadAuthSettings(env: Readonly<Record<string, string | undefined>> = process.env): AuthSettings {
  const parsed = parseAuthSettings(env);
  if (!parsed.success) {
    throw new Error(`invalid auth settings: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const { WEBSITE_AUTH_ENABLED: platformAuth, READ_ONLY: readOnly, APPLICATIONINSIGHTS_PORTAL_URL: appInsightsUrl } = parsed.data;
  return { platformAuth, readOnly, ...(appInsightsUrl ? { appInsightsUrl } : {}) };
}
