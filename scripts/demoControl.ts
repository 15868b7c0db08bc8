/**
 * Demo only: `POST /api/demo/control` switches the stand-ins at runtime, so one `--serve` session
 * can show a success, a failure and its rerun, and a run slow enough to cancel.
 * Body: `{ "failStep": "export" | "load" | "transform" | null, "exportDelayMs": number | null }`.
 */
import { z } from 'zod';
import type { HttpRegistration } from '../src/app/registry';
import type { SecretResolver } from '../src/secrets/types';
import type { StandInEnvironment } from '../src/standins/environment';

const controlBody = z
  .object({
    failStep: z.enum(['export', 'load', 'transform']).nullable().optional(),
    exportDelayMs: z.number().int().min(0).max(600_000).nullable().optional(),
  })
  .strict();

export function registerDemoControl(world: StandInEnvironment, secrets: SecretResolver): HttpRegistration {
  return {
    kind: 'http',
    name: 'demoControl',
    options: { route: 'demo/control', methods: ['POST'], authLevel: 'function' },
    handler: async (request) => {
      const parsed = controlBody.safeParse(await request.json().catch(() => undefined));
      if (!parsed.success) return { status: 400, jsonBody: { title: 'Invalid input', issues: parsed.error.issues } };
      if (parsed.data.failStep !== undefined) world.setFailStep(parsed.data.failStep ?? undefined);
      if (parsed.data.exportDelayMs !== undefined) world.setExportDelay(parsed.data.exportDelayMs ?? undefined);
      // The export switches go through the vault's azure-function-url: like a rotation, drop the cached value.
      secrets.invalidate('azure-function-url');
      return { status: 200, jsonBody: { ok: true, ...parsed.data } };
    },
  };
}
