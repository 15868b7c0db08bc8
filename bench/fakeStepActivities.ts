/**
 * The step activities the engine benches drive: every service step answered by one FakeAdapter on
 * the given clock, secrets and settings stand-ins, silent logs. What the benches measure is the
 * engine, so nothing here does I/O.
 */
import { createStepActivities } from '../src/activities';
import type { DeployedPipelines } from '../src/activities/deployedStep';
import { createLogger } from '../src/logging/logger';
import { FakeAdapter } from '../test/support/fakeAdapters';

export function fakeStepActivities(catalog: DeployedPipelines, now: () => Date): { fake: FakeAdapter; activities: ReturnType<typeof createStepActivities> } {
  const fake = new FakeAdapter(now);
  const activities = createStepActivities({
    catalog,
    adapters: { azureFunction: fake, snowflake: fake, dbt: fake },
    secrets: { get: (name) => Promise.resolve(`value-${name}`), invalidate: () => undefined },
    settings: (name) => `setting-${name}`,
    logger: createLogger({ level: 'silent' }),
    clock: now,
  });
  return { fake, activities };
}
