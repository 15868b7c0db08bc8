/**
 * `npm run dev` flags, parsed by commander (as the CLI and the demo are) before anything starts:
 * `--help` prints the flags and exits 0, an unknown flag or a wrong value exits 3 with one line
 * naming it, so asking for help never starts an open host (red-team pass 2, F8).
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { localUser } from '../src/auth/roles';

export interface DevOptions {
  /** reader, operator, or a project's own: reader:<project>, operator:<project>. */
  readonly as?: string;
  readonly scheduler: boolean;
  readonly allowHost: readonly string[];
}

export type DevArgs = { readonly run: DevOptions } | { readonly exit: number; readonly out: string; readonly err: string };

/** Exit code of a command line that is wrong (as `durable-pipelines` and invalid settings use). */
const INVALID = 3;

export function parseDevArgs(argv: readonly string[]): DevArgs {
  let out = '';
  let err = '';
  const program = new Command('npm run dev --')
    .description('the app in the development host: real clock, your services from local.settings.json, Azurite for run records')
    .addOption(
      new Option('--as <user>', 'emulate App Service sign-in for the console as this user: reader, operator, reader:<project> or operator:<project>').argParser((value: string) => {
        if (!localUser(value)) throw new InvalidArgumentError('use reader, operator, reader:<project> or operator:<project>');
        return value;
      }),
    )
    .option('--scheduler', 'fire the schedules in real time even without local.settings.json', false)
    .option('--allow-host <host>', 'also answer requests whose Host is this name (repeatable)', (v: string, all: string[]) => [...all, v], [] as string[])
    .addHelpText('after', '\nEnvironment: PORT (default 7071), DURABLE_PIPELINES_KEY (require a function key), AZURITE_LOCATION, SCHEDULER_ENABLED.')
    .helpOption('-h, --help', 'show these flags and exit')
    .exitOverride()
    .configureOutput({ writeOut: (s) => void (out += s), writeErr: (s) => void (err += s) });
  try {
    program.parse([...argv], { from: 'user' });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    const help = error.code === 'commander.helpDisplayed' || error.code === 'commander.help';
    return { exit: help ? 0 : INVALID, out, err: help ? err : `${err.trim()}\n(npm run dev -- --help lists the flags)\n` };
  }
  const opts = program.opts<{ as?: string; scheduler: boolean; allowHost: string[] }>();
  return { run: { ...(opts.as ? { as: opts.as } : {}), scheduler: opts.scheduler, allowHost: opts.allowHost } };
}
