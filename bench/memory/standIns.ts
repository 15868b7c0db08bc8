/**
 * The stand-ins for bench/memory.ts in their own process (Azurite in yet another, started by them),
 * so the measured process holds only the app and the development host. Every long job takes
 * POLLS polls, as in the cost measurement (test/support/measureRun.ts). Sends the app settings,
 * the vault's CA and the token the stand-ins accept over IPC; ends when the parent disconnects.
 */
import { DEMO_COPY_RESULT, startStandInEnvironment } from '../../src/standins/environment';
import { STANDIN_TOKEN } from '../../src/standins/keyvault/server';

export interface StandInsReady {
  readonly settings: Record<string, string>;
  readonly ca: string;
  readonly token: string;
}

async function main(polls: number): Promise<void> {
  const world = await startStandInEnvironment({ dbtJobPolls: polls - 1 });
  world.exportFunction.config.asyncPollsBeforeDone = polls - 1;
  world.keyVault.setSecret('azure-function-url', `${world.exportFunction.baseUrl}/api/export-async`);
  world.snowflake.script({ match: /^\s*COPY INTO/i, result: DEMO_COPY_RESULT, runningPolls: polls + 2 });
  process.send?.({ settings: world.settings, ca: world.keyVault.ca, token: STANDIN_TOKEN } satisfies StandInsReady);
  process.once('disconnect', () => {
    void world.stop().then(() => process.exit(0));
  });
}

if (require.main === module) void main(Number(process.argv[2] ?? '10'));
