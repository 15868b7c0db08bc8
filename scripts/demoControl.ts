/**
 * Demo only: `POST /api/demo/control` switches the stand-ins at runtime, so one `--serve` session
 * can show a success, a failure and its rerun, and a run slow enough to cancel.
 * Body: `{ "failStep": "export" | "load" | "transform" | null, "exportDelayMs": number | null,
 * "as": "reader" | "operator" | "reader:<project>" | "operator:<project>" | null }` (`as`: who the
 * emulated sign-in says is using the console).
 */
import { z } from 'zod';
import type { HttpRegistration } from '../src/app/registry';
import { localUser } from '../src/auth/roles';
import type { SecretResolver } from '../src/secrets/types';
import type { StandInEnvironment } from '../src/standins/environment';

const controlBody = z
  .object({
    failStep: z.enum(['export', 'load', 'transform']).nullable().optional(),
    exportDelayMs: z.number().int().min(0).max(600_000).nullable().optional(),
    as: z
      .string()
      .refine((word) => localUser(word) !== undefined, 'reader, operator, reader:<project> or operator:<project>')
      .nullable()
      .optional(),
  })
  .strict();

/** `signIn`: switches the emulated user; undefined when the demo was started without `--as` (no emulated sign-in). */
export function registerDemoControl(world: StandInEnvironment, secrets: SecretResolver, signIn: ((user: string | undefined) => void) | undefined): HttpRegistration {
  return {
    kind: 'http',
    name: 'demoControl',
    options: { route: 'api/demo/control', methods: ['POST'], authLevel: 'function' },
    handler: async (request) => {
      const parsed = controlBody.safeParse(await request.json().catch(() => undefined));
      if (!parsed.success) return { status: 400, jsonBody: { title: 'Invalid input', issues: parsed.error.issues } };
      // Sign-in is emulated only when the command line asked for it: a key holder cannot turn it on.
      if (parsed.data.as !== undefined && !signIn) {
        return { status: 409, jsonBody: { title: 'Conflict', detail: 'emulated sign-in is off: start the demo with --as operator or --as reader' } };
      }
      if (parsed.data.failStep !== undefined) world.setFailStep(parsed.data.failStep ?? undefined);
      if (parsed.data.exportDelayMs !== undefined) world.setExportDelay(parsed.data.exportDelayMs ?? undefined);
      if (parsed.data.as !== undefined) signIn?.(parsed.data.as ?? undefined);
      // The export switches go through the vault's azure-function-url: like a rotation, drop the cached value.
      secrets.invalidate('azure-function-url');
      return { status: 200, jsonBody: { ok: true, ...parsed.data } };
    },
  };
}
